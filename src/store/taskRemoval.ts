/**
 * Removing finished tasks: task.delete one at a time and the retention purge in batches. A task
 * goes with everything it owns (messages, artifacts, events, runs, checkpoints, subscriptions
 * and their deliveries) through the schema's ON DELETE CASCADE. A finished task that an
 * unfinished task depends on stays until that task has finished; the purge also leaves a task
 * with webhook deliveries still owed (pending) until they are delivered or dead, and one whose
 * agent's `stopped` hook is owed until it is told or one more retention period has passed
 * (task.delete refuses both unless forced). A multi-agent task goes as a family: its children
 * with their parent, once all are finished (a live parent still reads its finished children to
 * settle), never a child alone.
 */
import type { Db } from './openDatabase';
import { unfinishedDependentsOf } from './dependencyRows';

/** SQL: some unfinished task depends on the task `alias` names (a released one too). */
const NEEDED = (alias: string) => `EXISTS (${unfinishedDependentsOf(`${alias}.task_id`)})`;
/**
 * SQL: the task `alias` names still owes a webhook delivery (pending) or its agent's `stopped`
 * hook (not told yet: a process hosting the agent may not have run since). A hook holds it
 * only while it was last changed at or after @stopsBefore: an agent no process hosts any more
 * would hold it for ever.
 */
const OWED = (alias: string) =>
  `(EXISTS (SELECT 1 FROM deliveries owed WHERE owed.task_id = ${alias}.task_id AND owed.status = 'pending')
    OR (${alias}.updated_at >= @stopsBefore
      AND EXISTS (SELECT 1 FROM stops_owed stop WHERE stop.task_id = ${alias}.task_id)))`;

/** What one batch of a purge did. */
export interface PurgeBatch {
  deleted: number;
  /** It stopped for its bounds (size or time): another batch may find more. */
  more: boolean;
}

/** What `remove` answers when the budget ran out before the removal was whole. */
export const UNFINISHED = 'unfinished';

/**
 * Removes `ids` one at a time (`remove` answers how many rows of the kind counted went, a
 * family's children included, or UNFINISHED when it stopped for `spent`) until `limit` went or
 * `budgetMs` of work passed: one batch of a purge, whose transaction holds the write lock
 * that long at most, and one history slice more.
 */
export function removeWithin(
  ids: readonly string[],
  limit: number,
  budgetMs: number,
  remove: (id: string, spent: () => boolean) => number | typeof UNFINISHED,
): PurgeBatch {
  const started = performance.now();
  const spent = () => performance.now() - started >= budgetMs;
  let deleted = 0;
  for (const id of ids) {
    const went = remove(id, spent);
    if (went === UNFINISHED) return { deleted, more: true };
    deleted += went;
    if (deleted >= limit || spent()) return { deleted, more: true };
  }
  return { deleted, more: false };
}

/** Rows of a history a slice deletes: one statement's work stays small whatever its size. */
const SLICE = 2_000;

/** What shedding an owner's rows did: `done` when none are left; `deleted`, how many went. */
export interface Shed {
  done: boolean;
  deleted: number;
}

/**
 * Deletes an owner's rows of `table` (keyed by `owner` and `seq`) SLICE at a time, until none
 * are left or `spent` says the budget is (the rest waits for the next batch). A task with a
 * million events (and their deliveries, which follow each event) would otherwise go in one
 * statement, holding the event loop and the write lock for seconds.
 */
export function historyShedder(db: Db, table: string, owner: string) {
  const slice = db.prepare<[{ id: string; slice: number }]>(
    `DELETE FROM ${table} WHERE ${owner} = @id AND seq IN (
      SELECT seq FROM ${table} WHERE ${owner} = @id ORDER BY seq LIMIT @slice)`,
  );
  return (id: string, spent: () => boolean): Shed => {
    let deleted = 0;
    for (;;) {
      const went = slice.run({ id, slice: SLICE }).changes;
      deleted += went;
      if (went < SLICE) return { done: true, deleted };
      if (spent()) return { done: false, deleted };
    }
  };
}

export class TaskRemoval {
  private readonly deleteOne;
  private readonly deleteChildren;
  private readonly purgeable;
  private readonly owedOf;
  private readonly familyOf;
  /** A task's events, shed a slice at a time before its row goes (the purge's). */
  private readonly shedEvents;

  constructor(db: Db) {
    this.familyOf = db.prepare<[string, string], { task_id: string }>(
      'SELECT task_id FROM tasks WHERE parent_task_id = ? UNION ALL SELECT ?',
    );
    this.shedEvents = historyShedder(db, 'events', 'task_id');
    const family = 'SELECT task_id FROM tasks WHERE task_id = @taskId OR parent_task_id = @taskId';
    this.owedOf = db.prepare<[{ taskId: string }], { deliveries: number; stops: number }>(
      `SELECT
        (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND task_id IN (${family}))
          AS deliveries,
        (SELECT COUNT(*) FROM stops_owed WHERE task_id IN (${family})) AS stops`,
    );
    this.deleteOne = db.prepare<[string]>('DELETE FROM tasks WHERE task_id = ?');
    this.deleteChildren = db.prepare<[string]>('DELETE FROM tasks WHERE parent_task_id = ?');
    // Whole families only (no child on its own), every member finished, needed by no
    // unfinished dependent, and owing no webhook delivery and no `stopped` hook.
    this.purgeable = db.prepare<
      [{ before: string; stopsBefore: string; limit: number }],
      { task_id: string }
    >(`
      SELECT t.task_id FROM tasks t
      WHERE t.status IN ('COMPLETED', 'FAILED', 'CANCELED') AND t.updated_at < @before
        AND t.parent_task_id IS NULL AND NOT ${NEEDED('t')} AND NOT ${OWED('t')}
        AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = t.task_id
          AND (c.status NOT IN ('COMPLETED', 'FAILED', 'CANCELED') OR ${NEEDED('c')}
            OR ${OWED('c')}))
      ORDER BY t.updated_at LIMIT @limit`);
  }

  /**
   * What a task and its children still owe: webhook deliveries (pending), and `stopped` hooks
   * of their agents not yet told (a cascade would drop the row, and the hook with it).
   */
  owed(taskId: string): { deliveries: number; stops: number } {
    return this.owedOf.get({ taskId }) ?? { deliveries: 0, stops: 0 };
  }

  /** Deletes a task and, if it is a multi-agent parent, its children; whether it was there. */
  delete(taskId: string): boolean {
    return this.deleteFamily(taskId).task;
  }

  /**
   * Deletes tasks finished before `beforeIso`, whole families, until `limit` tasks (children
   * counted: a family has up to 33) or `budgetMs` of work have gone: one transaction of the
   * purge holds the write lock that long at most, and one history slice or task row more.
   * `more`: it stopped for its bounds, and others (or the rest of one) may be waiting. An owed
   * `stopped` hook holds a task last changed at or after `stopsBeforeIso` (always: '').
   */
  purge(beforeIso: string, limit: number, budgetMs: number, stopsBeforeIso = ''): PurgeBatch {
    const query = { before: beforeIso, stopsBefore: stopsBeforeIso, limit };
    const ids = this.purgeable.all(query).map((row) => row.task_id);
    return removeWithin(ids, limit, budgetMs, (taskId, spent) => {
      // Its events first (a task's longest history, with a delivery or more each), in slices:
      // a batch that runs out of time leaves the family (finished long ago) without its oldest
      // events, and the next batch goes on. Only events: its messages, artifacts and
      // checkpoints, which a run again or a dependent reads, go whole with its row.
      const members = this.familyOf.all(taskId, taskId);
      for (const [i, { task_id: member }] of members.entries()) {
        const { done, deleted } = this.shedEvents(member, spent);
        // Out of time between members once this member shed some (a batch gets somewhere);
        // after the last, the family goes in this batch.
        const last = i === members.length - 1;
        if (!done || (!last && deleted > 0 && spent())) return UNFINISHED;
      }
      const { task, children } = this.deleteFamily(taskId);
      return children + (task ? 1 : 0);
    });
  }

  /** The task and its children (deleted first: they reference it); what was there. */
  private deleteFamily(taskId: string): { task: boolean; children: number } {
    const children = this.deleteChildren.run(taskId).changes;
    return { task: this.deleteOne.run(taskId).changes > 0, children };
  }
}
