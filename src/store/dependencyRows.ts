/**
 * Dependency edges between tasks, read from both sides: what a task waits on (with the
 * statuses that decide whether it may run) and which blocked tasks wait on a given one.
 */
import type { Db } from './openDatabase';
import type { WriteRecorder } from './writeRecorder';
import type { TaskStatus } from '../types';

/**
 * SQL: the unfinished tasks that depend on the task `dependsOn` names (a `?` or a column):
 * blocked ones, and released ones whose turns are still to read its artifacts. What keeps a
 * finished dependency from task.delete and the retention purge (taskRemoval.ts). Its aliases
 * (`edge`, `dependent`) are its own: a query it is put in may name `t`, `d`, `c` freely.
 */
export const unfinishedDependentsOf = (dependsOn: string) => `SELECT edge.task_id
  FROM task_dependencies edge JOIN tasks dependent ON dependent.task_id = edge.task_id
  WHERE edge.depends_on = ${dependsOn}
    AND dependent.status NOT IN ('COMPLETED', 'FAILED', 'CANCELED')`;

export interface DependencyState {
  taskId: string;
  status: TaskStatus;
}

export class DependencyTables {
  private readonly statesOf;
  private readonly waitingOn;
  private readonly blocked;
  private readonly needingOf;
  private readonly releasedOf;
  private readonly unmetOf;
  private readonly noneReleased;
  private readonly noneUnmet;
  private readonly statusOf;
  private readonly sameStatus;

  constructor(db: Db, recorder: WriteRecorder) {
    this.statesOf = db.prepare<[string], { depends_on: string; status: string }>(`
      SELECT d.depends_on, t.status FROM task_dependencies d
      JOIN tasks t ON t.task_id = d.depends_on WHERE d.task_id = ?`);
    this.waitingOn = db.prepare<[string], { task_id: string }>(`
      SELECT d.task_id FROM task_dependencies d JOIN tasks t ON t.task_id = d.task_id
      WHERE d.depends_on = ? AND t.blocked = 1`);
    this.needingOf = db.prepare<[string], { task_id: string }>(unfinishedDependentsOf('?'));
    const releasedSql = `${unfinishedDependentsOf('?')} AND dependent.blocked = 0`;
    this.releasedOf = db.prepare<[string], { task_id: string }>(releasedSql);
    const unmetSql = `SELECT d.depends_on FROM task_dependencies d
      JOIN tasks t ON t.task_id = d.depends_on WHERE d.task_id = ? AND t.status <> 'COMPLETED'`;
    this.unmetOf = db.prepare<[string], { depends_on: string }>(unmetSql);
    // In a recorded batch, both checked again at its commit: another process's write may land
    // between the read on the main connection and the batch's transaction on the writer thread.
    this.noneReleased = recorder.guard(db, `SELECT COUNT(*) FROM (${releasedSql})`);
    this.noneUnmet = recorder.guard(db, `SELECT COUNT(*) FROM (${unmetSql})`);
    const statusSql = 'SELECT status FROM tasks WHERE task_id = ?';
    this.statusOf = db.prepare<[string], { status: string }>(statusSql);
    this.sameStatus = recorder.guard(db, statusSql);
    this.blocked = db.prepare<[string, number], { task_id: string }>(
      'SELECT task_id FROM tasks WHERE blocked = 1 AND task_id > ? ORDER BY task_id LIMIT ?',
    );
  }

  /** The dependencies of a task with their current status. */
  states(taskId: string): DependencyState[] {
    return this.statesOf.all(taskId).map((row) => ({
      taskId: row.depends_on,
      status: row.status as TaskStatus,
    }));
  }

  /** Blocked tasks waiting on `taskId`. */
  dependents(taskId: string): string[] {
    return this.waitingOn.all(taskId).map((row) => row.task_id);
  }

  /** Unfinished tasks that depend on `taskId` (see unfinishedDependentsOf). */
  needing(taskId: string): string[] {
    return this.needingOf.all(taskId).map((row) => row.task_id);
  }

  /** Unfinished tasks that depend on `taskId` and no longer wait for it (released). */
  released(taskId: string): string[] {
    return this.releasedOf.all(taskId).map((row) => row.task_id);
  }

  /**
   * `released`, for a write being planned that needs it empty: when it is, a batch being
   * recorded checks that it still is at its commit (else the write is planned again).
   */
  releasedAtCommit(taskId: string): string[] {
    const released = this.released(taskId);
    if (released.length === 0) this.noneReleased.expect([0], taskId);
    return released;
  }

  /**
   * The dependencies of `taskId` not COMPLETED, for a write being planned that needs none:
   * when there are none, a batch being recorded checks that there still are none at its commit.
   */
  unmetAtCommit(taskId: string): string[] {
    const unmet = this.unmetOf.all(taskId).map((row) => row.depends_on);
    if (unmet.length === 0) this.noneUnmet.expect([0], taskId);
    return unmet;
  }

  /**
   * Whether task `taskId` is `status` now, for a write being planned on it: when it is, a
   * batch being recorded checks that it still is at its commit.
   */
  statusAtCommit(taskId: string, status: TaskStatus): boolean {
    if (this.statusOf.get(taskId)?.status !== status) return false;
    this.sameStatus.expect([status], taskId);
    return true;
  }

  /** Blocked tasks after `after`, in id order (the sweep that catches up after a restart). */
  blockedAfter(after: string, limit: number): string[] {
    return this.blocked.all(after, limit).map((row) => row.task_id);
  }
}
