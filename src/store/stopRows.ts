/**
 * Stopped hooks owed (migration 0020): a row written with the change that canceled or expired
 * a task no turn held, taken under a lease by a process hosting its agent, deleted once told.
 */
import type { StopCause } from '../agents/contract';
import type { Db } from './openDatabase';
import type { WriteRecorder } from './writeRecorder';

export interface OwedStop {
  taskId: string;
  agent: string;
  cause: StopCause;
}

interface OwedStopRow {
  task_id: string;
  agent: string;
  cause: string;
}

const fromRow = (row: OwedStopRow): OwedStop => ({
  taskId: row.task_id,
  agent: row.agent,
  cause: row.cause as StopCause,
});

export class StopTables {
  private readonly insert;
  private readonly claimOne;
  private readonly claimSome;
  private readonly remove;

  constructor(db: Db, recorder: WriteRecorder) {
    this.insert = recorder.statement(
      db,
      `INSERT INTO stops_owed (task_id, agent, cause) VALUES (?, ?, ?)
        ON CONFLICT (task_id) DO UPDATE SET cause = excluded.cause,
          lease_owner = NULL, lease_until = NULL`,
    );
    this.claimOne = db.prepare<[string, number, string, number], OwedStopRow>(
      `UPDATE stops_owed SET lease_owner = ?, lease_until = ?
        WHERE task_id = ? AND (lease_until IS NULL OR lease_until < ?)
        RETURNING task_id, agent, cause`,
    );
    this.claimSome = db.prepare<[string, number, string, number, number], OwedStopRow>(
      `UPDATE stops_owed SET lease_owner = ?, lease_until = ?
        WHERE task_id IN (SELECT task_id FROM stops_owed
          WHERE agent IN (SELECT value FROM json_each(?))
            AND (lease_until IS NULL OR lease_until < ?) LIMIT ?)
        RETURNING task_id, agent, cause`,
    );
    this.remove = db.prepare<[string, string]>(
      'DELETE FROM stops_owed WHERE task_id = ? AND lease_owner = ?',
    );
  }

  /** Recorded with the change that ended the task. */
  owe(taskId: string, agent: string, cause: StopCause): void {
    this.insert.run(taskId, agent, cause);
  }

  /** Takes `taskId`'s owed stop for `owner` until `until`, unless another holds it. */
  take(taskId: string, owner: string, nowMs: number, until: number): OwedStop | undefined {
    const row = this.claimOne.get(owner, until, taskId, nowMs);
    return row && fromRow(row);
  }

  /** Takes up to `limit` owed stops of `agents` that nobody holds. */
  takeFor(agents: string[], owner: string, nowMs: number, until: number, limit: number) {
    return this.claimSome.all(owner, until, JSON.stringify(agents), nowMs, limit).map(fromRow);
  }

  /** The hook was told (or the agent has none): the row goes, if `owner` still holds it. */
  done(taskId: string, owner: string): void {
    this.remove.run(taskId, owner);
  }
}
