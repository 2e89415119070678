/**
 * Stopped hooks owed (migration 0020): a row written with the change that canceled or expired
 * a task, taken under a lease by a process hosting its agent, deleted once told. A row whose
 * task another process's turn still leases is not taken: that turn's handler hears the stop by
 * its signal, and the row is deleted as it hears it (kept for a `stoppedAlways` agent, told
 * once the turn has ended); if that process dies, its lease lapses and the hook is told.
 */
import type { StopCause } from '../agents/contract';
import type { Db } from './openDatabase';
import type { WriteRecorder } from './writeRecorder';

export interface OwedStop {
  taskId: string;
  agent: string;
  cause: StopCause;
  /** This take's own hold on the row (its owner and a number): owed again, it is another. */
  holder: string;
}

interface OwedStopRow {
  task_id: string;
  agent: string;
  cause: string;
  lease_owner: string;
}

interface Claim {
  owner: string;
  holder: string;
  now: number;
  until: number;
}

const fromRow = (row: OwedStopRow): OwedStop => ({
  taskId: row.task_id,
  agent: row.agent,
  cause: row.cause as StopCause,
  holder: row.lease_owner,
});

export class StopTables {
  private readonly insert;
  private readonly claimOne;
  private readonly claimSome;
  private readonly remove;
  private readonly unhold;
  private readonly anyOwed;
  private readonly forgetOne;
  /** Takes so far: each take's holder is its owner and this number. */
  private takes = 0;

  constructor(db: Db, recorder: WriteRecorder) {
    this.insert = recorder.statement(
      db,
      `INSERT INTO stops_owed (task_id, agent, cause) VALUES (?, ?, ?)
        ON CONFLICT (task_id) DO UPDATE SET cause = excluded.cause,
          lease_owner = NULL, lease_until = NULL`,
    );
    // Free rows (nobody holds them) of tasks no other process's turn leases.
    const free = `(s.lease_until IS NULL OR s.lease_until < @now)
      AND (t.lease_owner IS NULL OR t.lease_until < @now OR t.lease_owner = @owner)`;
    this.claimOne = db.prepare<[Claim & { taskId: string }], OwedStopRow>(
      `UPDATE stops_owed SET lease_owner = @holder, lease_until = @until
        WHERE task_id = (SELECT s.task_id FROM stops_owed s JOIN tasks t USING (task_id)
          WHERE s.task_id = @taskId AND ${free})
        RETURNING task_id, agent, cause, lease_owner`,
    );
    this.claimSome = db.prepare<[Claim & { agents: string; limit: number }], OwedStopRow>(
      `UPDATE stops_owed SET lease_owner = @holder, lease_until = @until
        WHERE task_id IN (SELECT s.task_id FROM stops_owed s JOIN tasks t USING (task_id)
          WHERE s.agent IN (SELECT value FROM json_each(@agents)) AND ${free} LIMIT @limit)
        RETURNING task_id, agent, cause, lease_owner`,
    );
    this.remove = db.prepare<[string, string]>(
      'DELETE FROM stops_owed WHERE task_id = ? AND lease_owner = ?',
    );
    this.unhold = db.prepare<[string, string]>(
      `UPDATE stops_owed SET lease_owner = NULL, lease_until = NULL
        WHERE task_id = ? AND lease_owner = ?`,
    );
    this.forgetOne = recorder.statement(db, 'DELETE FROM stops_owed WHERE task_id = ?');
    // Rows another take still holds are not owed now (a failing hook held until its lease
    // lapses would make every sweep a write).
    this.anyOwed = db.prepare<[string, number], { one: number }>(
      `SELECT 1 AS one FROM stops_owed WHERE agent IN (SELECT value FROM json_each(?))
        AND (lease_until IS NULL OR lease_until < ?) LIMIT 1`,
    );
  }

  /** Recorded with the change that ended the task. */
  owe(taskId: string, agent: string, cause: StopCause): void {
    this.insert.run(taskId, agent, cause);
  }

  /** Takes `taskId`'s owed stop for `owner` until `until`, unless another holds it. */
  take(taskId: string, owner: string, now: number, until: number): OwedStop | undefined {
    const row = this.claimOne.get({ taskId, owner, holder: this.holder(owner), now, until });
    return row && fromRow(row);
  }

  /**
   * Whether any stop nobody holds at `now` is owed to `agents` (a read: most sweeps find none,
   * and write nothing).
   */
  anyFor(agents: string[], now: number): boolean {
    return this.anyOwed.get(JSON.stringify(agents), now) !== undefined;
  }

  /** Takes up to `limit` owed stops of `agents` that nobody holds. */
  takeFor(agents: string[], owner: string, now: number, until: number, limit: number) {
    const holder = this.holder(owner);
    const claim = { agents: JSON.stringify(agents), owner, holder, now, until, limit };
    return this.claimSome.all(claim).map(fromRow);
  }

  /** The hook was told (or is not owed): the row goes, if this take still holds it. */
  done(stop: OwedStop): void {
    this.remove.run(stop.taskId, stop.holder);
  }

  /** Not told now (its turn here may yet hear the end): the row is free to take again. */
  release(stop: OwedStop): void {
    this.unhold.run(stop.taskId, stop.holder);
  }

  private holder(owner: string): string {
    this.takes += 1;
    return `${owner} ${this.takes}`;
  }

  /**
   * Recorded with a change after which the hook is no longer owed: the task runs again (a
   * retry, a rerun), or the turn that held it heard the stop by its signal.
   */
  forget(taskId: string): void {
    this.forgetOne.run(taskId);
  }
}
