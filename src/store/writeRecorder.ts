/**
 * Writes that can be recorded instead of run. While a batch is being recorded, a recorded
 * statement's `run` appends its statement number and parameters to the batch's operations,
 * which the writer thread (writerThread.ts) then runs in one transaction on its own
 * connection; at any other time it runs at once on the main connection, as a plain statement
 * would. Reads always run on the main connection: the task rows that batches recorded but not
 * yet committed have written are kept here (`taskAsWritten`) until they commit, so that a
 * later write plans on them rather than on the row as last committed.
 */
import type { Db } from './openDatabase';
import type { TaskRecord } from './records';
import { RecentMap } from '../recentMap';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RecordedStatement {
  run(...params: SqlParam[]): void;
}

/** Thrown on the writer thread when a guard's row is not as the recording expected. */
export const STALE = 'ARCD_STALE';

/** How many of the newest stale marks are kept at least (at most twice as many; see `stale`). */
export const STALE_MARKS = 4096;

/** What one recorded batch sends: statements the writer has not prepared yet, then the ops. */
export interface RecordedBatch {
  /** Statement texts numbered from the writer's count of known statements on. */
  sql: string[];
  /**
   * Pairs of statement number and parameter list, in the order they were recorded; a guard
   * is `-(number + 1)` and `[expected values, ...parameters]`.
   */
  ops: Array<number | Array<SqlParam | SqlParam[]>>;
}

export class WriteRecorder {
  private readonly texts: string[] = [];
  /** How many of `texts` the writer thread has been sent. */
  private sent = 0;
  private ops: RecordedBatch['ops'] | undefined;
  private batch = 0;
  /** Task rows as batches not yet committed left them, with the batch that wrote each last. */
  private readonly written = new Map<string, { task: TaskRecord; batch: number }>();
  /**
   * Tasks a guard found changed: their writes read the row instead of guarding, until a batch
   * that did so commits (a batch that fails or is voided leaves the mark for the next try).
   * A task never written again keeps its mark, so only the newest STALE_MARKS are sure to be
   * kept (up to twice as many are; older ones go a generation at a time, RecentMap): a
   * write that lost its mark guards a version that no longer holds, fails its batch once as
   * STALE, and is marked and planned again, so dropping a mark costs a retry, never a row.
   */
  private readonly stale = new RecentMap<string, true>(STALE_MARKS);
  /** The marked tasks each batch not yet committed read again, to unmark when it commits. */
  private readonly readAgain = new Map<number, string[]>();
  /** What the batch being recorded replaced in `written`, to put back if it is abandoned. */
  private undo: Array<[string, { task: TaskRecord; batch: number } | undefined]> = [];
  private readonly changeListeners: Array<(taskId: string) => void> = [];

  /** A write statement that records while a batch is being recorded. */
  statement(db: Db, sql: string): RecordedStatement {
    const direct = db.prepare<SqlParam[]>(sql);
    const id = this.texts.push(sql) - 1;
    return {
      run: (...params) => {
        if (this.ops) this.ops.push(id, params);
        else direct.run(...params);
      },
    };
  }

  /**
   * A query whose one row the writer thread compares, column by column, with the values the
   * recording expects; a difference fails the batch with code STALE and `taskId` (the first
   * parameter). `expect` records it and returns true while recording, else returns false.
   * Reads on the main connection happen outside the batch's transaction: a guard on each row
   * a recorded write planned on makes the batch commit only if no other process changed it.
   */
  guard(db: Db, sql: string): { expect(expected: SqlParam[], taskId: string): boolean } {
    db.prepare(sql); // checked here, as every recorded statement is
    const id = this.texts.push(sql) - 1;
    return {
      expect: (expected, taskId) => {
        if (!this.ops) return false;
        this.ops.push(-id - 1, [expected, taskId]);
        return true;
      },
    };
  }

  /** A guard found `taskId` changed: its next write plans on the row as read. */
  changed(taskId: string): void {
    this.stale.set(taskId, true); // the newest mark now
    for (const listener of this.changeListeners) listener(taskId);
  }

  /** Called with the task whenever a guard finds it changed (to drop what is known of it). */
  onChanged(listener: (taskId: string) => void): void {
    this.changeListeners.push(listener);
  }

  /**
   * Whether a guard found `taskId` changed, so that its write must read the row: asked while
   * recording, the mark stays until the batch commits; else it is asked once.
   */
  foundChanged(taskId: string): boolean {
    if (!this.ops) return this.stale.delete(taskId); // read inside the transaction itself
    if (!this.stale.has(taskId)) return false;
    const reads = this.readAgain.get(this.batch);
    if (reads) reads.push(taskId);
    else this.readAgain.set(this.batch, [taskId]);
    return true;
  }

  /** Starts recording batch number `batch`. */
  begin(batch: number): void {
    this.ops = [];
    this.batch = batch;
    this.undo = [];
  }

  /** Where the next op goes: a position to tell whether a write recorded anything. */
  mark(): number {
    return this.ops?.length ?? 0;
  }

  /**
   * Ends the recording and hands its batch over (texts new to the writer included). A batch
   * with no ops is never sent, so the texts new to the writer wait for the next one that is.
   */
  finish(): RecordedBatch {
    const ops = this.ops ?? [];
    this.ops = undefined;
    if (ops.length === 0) return { sql: [], ops };
    const batch = { sql: this.texts.slice(this.sent), ops };
    this.sent = this.texts.length;
    return batch;
  }

  /** Ends the recording and drops it, task rows included. */
  abandon(): void {
    this.readAgain.delete(this.batch);
    for (const [taskId, before] of this.undo.reverse()) {
      if (before) this.written.set(taskId, before);
      else this.written.delete(taskId);
    }
    this.ops = undefined;
  }

  /**
   * Batch `batch` committed (or had nothing to commit): its task rows are what the database
   * says now, and the marked tasks it read again are unmarked.
   */
  committed(batch: number): void {
    for (const taskId of this.readAgain.get(batch) ?? []) this.stale.delete(taskId);
    this.readAgain.delete(batch);
    for (const [taskId, entry] of this.written) {
      if (entry.batch === batch) this.written.delete(taskId);
    }
  }

  /**
   * Every batch not yet committed is void: forget the rows they wrote. A write planned on one
   * of them since reads it again rather than guard a version that never committed.
   */
  reset(): void {
    for (const taskId of this.written.keys()) this.changed(taskId);
    this.written.clear();
    this.readAgain.clear();
  }

  /** Batches go to a new writer thread from now on: it has prepared none of the statements. */
  newWriter(): void {
    this.sent = 0;
    this.reset();
  }

  /** A task row as the batch being recorded leaves it (nothing is kept outside a recording). */
  rememberTask(task: TaskRecord): void {
    if (!this.ops) return;
    this.undo.push([task.taskId, this.written.get(task.taskId)]);
    this.written.set(task.taskId, { task, batch: this.batch });
  }

  /** While recording: the task as a batch not yet committed wrote it, if one did. */
  taskAsWritten(taskId: string): TaskRecord | undefined {
    return this.ops ? this.written.get(taskId)?.task : undefined;
  }

  /** Whether `taskAsWritten` is an earlier batch's row (not the one being recorded). */
  writtenBefore(taskId: string): boolean {
    const entry = this.written.get(taskId);
    return entry !== undefined && entry.batch !== this.batch;
  }
}
