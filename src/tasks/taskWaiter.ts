/**
 * Lets a caller wait for a task to settle (finished, or waiting for input) without polling:
 * the store's commit hook hands every changed task here, and a waiter on it is released when
 * its status settles. Used by task.create's `wait` extension (a blocking create), which starts
 * waiting before the task is even stored, so no commit can slip past it and nothing needs
 * to be read back. Another process's commits are not heard here: one timer reads every task
 * waited on for a while, once each `everyMs`, and ends its waits when it has settled.
 */
import type { MessageRecord, TaskRecord } from '../store/records';
import type { TaskStatus } from '../types';
import { isTerminal } from './states';

export const isSettled = (status: TaskStatus): boolean =>
  isTerminal(status) || status === 'INPUT_REQUIRED';

/** A wait begun: `settled` is the task once settled, or undefined after the time given. */
export interface Expectation {
  settled: Promise<TaskRecord | undefined>;
  /**
   * The settled task's messages as the commits heard here wrote them, when they are all of
   * them (their count and sequence numbers add up); else undefined, and they must be read.
   */
  messages(): MessageRecord[] | undefined;
  /** Stops waiting (the task was never stored); `settled` resolves undefined. */
  cancel(): void;
}

interface Waiting {
  release: (task?: TaskRecord) => void;
  heard: MessageRecord[];
}

/** The waits on one task; `looked` once the timer has passed it (read at its next tick). */
interface Waits extends Set<Waiting> {
  looked?: boolean;
}

/** How the waits look for a task settled by a commit not heard here (another process's). */
export interface LookElsewhere {
  read: (taskId: string) => Promise<TaskRecord | undefined>;
  everyMs: number;
}

export class TaskWaiter {
  private readonly waiting = new Map<string, Waits>();
  private lookTimer: NodeJS.Timeout | undefined;

  constructor(private readonly elsewhere?: LookElsewhere) {}

  /** Starts waiting for `taskId` now, for at most `ms`. */
  expect(taskId: string, ms: number): Expectation {
    const set: Waits = this.waiting.get(taskId) ?? new Set();
    this.waiting.set(taskId, set);
    this.startLooking();
    let settledTask: TaskRecord | undefined;
    const waiting: Waiting = { release: () => undefined, heard: [] };
    const done = () => {
      clearTimeout(timer);
      set.delete(waiting);
      if (set.size === 0 && this.waiting.get(taskId) === set) this.waiting.delete(taskId);
      if (this.waiting.size === 0) this.stopLooking();
    };
    const settled = new Promise<TaskRecord | undefined>((resolve) => {
      waiting.release = (task) => {
        done();
        settledTask = task;
        resolve(task);
      };
    });
    const timer = setTimeout(() => waiting.release(), ms);
    set.add(waiting);
    const messages = () => {
      const heard = [...waiting.heard].sort((a, b) => a.seq - b.seq);
      const whole =
        settledTask !== undefined &&
        heard.length === settledTask.messageCount &&
        heard.every((message, i) => message.seq === i + 1);
      return whole ? heard : undefined;
    };
    return { settled, messages, cancel: () => waiting.release() };
  }

  /** A committed change of `task`, with the messages it wrote. */
  committed(task: TaskRecord, messages: readonly MessageRecord[] = []): void {
    if (task.parentTaskId && task.status === 'INPUT_REQUIRED') {
      // A multi-agent task needs input when a child does (the parent stays WORKING, and
      // task.send to it reaches the child): a wait on the parent ends, answered with it as
      // it is now (read).
      for (const waiting of [...(this.waiting.get(task.parentTaskId) ?? [])]) waiting.release();
    }
    const set = this.waiting.get(task.taskId);
    if (!set) return;
    for (const waiting of [...set]) {
      waiting.heard.push(...messages);
      if (isSettled(task.status)) waiting.release(task);
    }
  }

  private startLooking(): void {
    if (!this.elsewhere || this.lookTimer) return;
    this.lookTimer = setInterval(() => this.look(), this.elsewhere.everyMs);
    this.lookTimer.unref();
  }

  private stopLooking(): void {
    clearInterval(this.lookTimer);
    this.lookTimer = undefined;
  }

  /**
   * Reads each task waited on since the last tick at least (its own commits, heard here,
   * mostly end a wait sooner); a settled one ends its waits, answered as read.
   */
  private look(): void {
    for (const [taskId, set] of this.waiting) {
      if (!set.looked) {
        set.looked = true;
        continue;
      }
      this.elsewhere?.read(taskId).then(
        (task) => {
          if (task && isSettled(task.status)) for (const waiting of [...set]) waiting.release();
        },
        () => undefined, // read again at the next tick
      );
    }
  }
}
