/**
 * Removing finished tasks: task.delete one at a time and the retention purge in batches. A task
 * goes with everything it owns (messages, artifacts, events, runs, checkpoints, subscriptions
 * and their deliveries) through the schema's ON DELETE CASCADE. A finished task that a blocked
 * task still waits on stays until that task has moved on.
 */
import type { Db } from './openDatabase';

export class TaskRemoval {
  private readonly deleteOne;
  private readonly purgeBatch;

  constructor(db: Db) {
    this.deleteOne = db.prepare<[string]>('DELETE FROM tasks WHERE task_id = ?');
    this.purgeBatch = db.prepare<[string, number]>(`
      DELETE FROM tasks WHERE task_id IN (
        SELECT t.task_id FROM tasks t
        WHERE t.status IN ('COMPLETED', 'FAILED', 'CANCELED') AND t.updated_at < ?
          AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks w ON w.task_id = d.task_id
                          WHERE d.depends_on = t.task_id AND w.blocked = 1)
        ORDER BY t.updated_at LIMIT ?)`);
  }

  delete(taskId: string): boolean {
    return this.deleteOne.run(taskId).changes > 0;
  }

  /** Deletes up to `limit` tasks finished before `beforeIso`; returns how many. */
  purge(beforeIso: string, limit: number): number {
    return this.purgeBatch.run(beforeIso, limit).changes;
  }
}
