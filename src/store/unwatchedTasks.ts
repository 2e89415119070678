/**
 * Tasks this process created that, as far as it knows, nothing has been attached to since: no
 * webhook subscription, no task waiting on them. A change to such a task skips the main
 * connection's look for subscriptions (and, when the change finishes the task, for dependents
 * to release): instead, while a batch is recorded, one guard in the batch's transaction
 * checks that both are still none, so a subscription or dependent another process added has
 * the change planned again, with the reads. Bounded: the oldest are forgotten first, a
 * generation at a time (RecentMap), which only costs those reads.
 */
import type { Db } from './openDatabase';
import type { TaskRecord } from './records';
import type { WriteRecorder } from './writeRecorder';
import { RecentMap } from '../recentMap';

/** Kept at least: the newest 50,000, at most twice as many. */
const DEFAULT_LIMIT = 50_000;

export class UnwatchedTasks {
  private readonly tasks;
  private readonly noneAttached;

  constructor(db: Db, recorder: WriteRecorder, limit = DEFAULT_LIMIT) {
    this.tasks = new RecentMap<string, true>(limit);
    this.noneAttached = recorder.guard(
      db,
      `WITH this (id) AS (SELECT ?) SELECT
         (SELECT COUNT(*) FROM subscriptions, this WHERE task_id = this.id AND active = 1),
         (SELECT COUNT(*) FROM task_dependencies d JOIN tasks t ON t.task_id = d.task_id, this
           WHERE d.depends_on = this.id AND t.blocked = 1)`,
    );
    recorder.onChanged((taskId) => this.tasks.delete(taskId));
  }

  /** A task this process is creating: nothing is attached to it, and its dependencies are. */
  created(task: TaskRecord): void {
    for (const dependency of task.dependencies ?? []) this.tasks.delete(dependency);
    this.tasks.set(task.taskId, true);
  }

  /** Something is attached to the task now (a subscription): its changes read again. */
  attached(taskId: string): void {
    this.tasks.delete(taskId);
  }

  /** The task is done with (finished): forget it. */
  forget(taskId: string): void {
    this.tasks.delete(taskId);
  }

  /**
   * Whether the change being recorded may take it that the task has no active subscription
   * and no blocked dependent: true only for a task known here to have none, while a batch is
   * recorded (the guard that checks it is then part of the batch).
   */
  stillUnwatched(taskId: string): boolean {
    return this.tasks.has(taskId) && this.noneAttached.expect([0, 0], taskId);
  }
}
