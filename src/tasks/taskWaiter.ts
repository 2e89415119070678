/**
 * Lets a caller wait for a task to settle (finished, or waiting for input) without polling:
 * the store's commit hook hands every changed task here, and a waiter on it is released when
 * its status settles. Used by task.create's `wait` extension (a blocking create), which starts
 * waiting before the task is even stored, so no commit can slip past it and nothing needs
 * to be read back.
 */
import type { TaskRecord } from '../store/records';
import type { TaskStatus } from '../types';
import { isTerminal } from './states';

export const isSettled = (status: TaskStatus): boolean =>
  isTerminal(status) || status === 'INPUT_REQUIRED';

/** A wait begun: `settled` is the task once settled, or undefined after the time given. */
export interface Expectation {
  settled: Promise<TaskRecord | undefined>;
  /** Stops waiting (the task was never stored); `settled` resolves undefined. */
  cancel(): void;
}

type Release = (task?: TaskRecord) => void;

export class TaskWaiter {
  private readonly waiting = new Map<string, Set<Release>>();

  /** Starts waiting for `taskId` now, for at most `ms`. */
  expect(taskId: string, ms: number): Expectation {
    let release!: Release;
    const set = this.waiting.get(taskId) ?? new Set();
    this.waiting.set(taskId, set);
    const done = () => {
      clearTimeout(timer);
      set.delete(release);
      if (set.size === 0 && this.waiting.get(taskId) === set) this.waiting.delete(taskId);
    };
    const settled = new Promise<TaskRecord | undefined>((resolve) => {
      release = (task) => {
        done();
        resolve(task);
      };
    });
    const timer = setTimeout(release, ms);
    set.add(release);
    return { settled, cancel: () => release() };
  }

  committed(task: TaskRecord): void {
    if (!isSettled(task.status)) return;
    for (const release of [...(this.waiting.get(task.taskId) ?? [])]) release(task);
  }
}
