/**
 * Lets a caller wait for a task to settle (finished, or waiting for input) without polling:
 * the store's commit hook hands every changed task here, and a waiter on it is released when
 * its status settles. Used by task.create's `wait` extension (a blocking create).
 */
import type { TaskRecord } from '../store/records';
import type { TaskStatus } from '../types';
import { isTerminal } from './states';

export const isSettled = (status: TaskStatus): boolean =>
  isTerminal(status) || status === 'INPUT_REQUIRED';

export class TaskWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves when `taskId` settles, or after `ms`; `check` catches a task settled already. */
  async wait(taskId: string, ms: number, check: () => Promise<boolean>): Promise<void> {
    let release!: () => void;
    const settled = new Promise<void>((resolve) => (release = resolve));
    const set = this.waiting.get(taskId) ?? new Set();
    set.add(release);
    this.waiting.set(taskId, set);
    const timer = setTimeout(release, ms);
    try {
      if (await check()) release();
      await settled;
    } finally {
      clearTimeout(timer);
      set.delete(release);
      if (set.size === 0) this.waiting.delete(taskId);
    }
  }

  committed(task: TaskRecord): void {
    if (!isSettled(task.status)) return;
    for (const release of this.waiting.get(task.taskId) ?? []) release();
  }
}
