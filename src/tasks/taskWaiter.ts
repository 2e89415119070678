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

type Release = (task?: TaskRecord) => void;

export class TaskWaiter {
  private readonly waiting = new Map<string, Set<Release>>();

  /**
   * Resolves with the settled task when `taskId` settles (as committed), or with undefined
   * after `ms`; `check` catches a task settled already (and returns it).
   */
  async wait(
    taskId: string,
    ms: number,
    check: () => Promise<TaskRecord | undefined>,
  ): Promise<TaskRecord | undefined> {
    let release!: Release;
    const settled = new Promise<TaskRecord | undefined>((resolve) => (release = resolve));
    const set = this.waiting.get(taskId) ?? new Set();
    set.add(release);
    this.waiting.set(taskId, set);
    const timer = setTimeout(release, ms);
    try {
      const already = await check();
      if (already) release(already);
      return await settled;
    } finally {
      clearTimeout(timer);
      set.delete(release);
      if (set.size === 0) this.waiting.delete(taskId);
    }
  }

  committed(task: TaskRecord): void {
    if (!isSettled(task.status)) return;
    for (const release of this.waiting.get(task.taskId) ?? []) release(task);
  }
}
