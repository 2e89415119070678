/**
 * Group commit: the writes submitted during one turn of the event loop run right after it in
 * one IMMEDIATE transaction, each inside its own savepoint, and every caller is answered only
 * after that transaction committed. Under concurrent callers N commits become one (a commit,
 * with its WAL page writes, is most of what a small write costs); a write that throws rolls
 * back its own savepoint and fails its own caller only. A lone caller waits one loop turn.
 *
 * With a writer thread, `record` writes are recorded on the event loop and their batch runs on
 * the thread (writeRecorder.ts, writerThread.ts). While a batch is there, no other write runs
 * on the main connection: writes queue behind it, in order, and run when it has committed.
 */
import type { Db } from './openDatabase';
import { STALE, type WriteRecorder } from './writeRecorder';
import type { WriterThread } from './writerThread';
import { WriteOutcomeUnknown } from './writeOutcomeUnknown';

interface Queued {
  work: () => unknown;
  recorded: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A recorded batch on the writer thread: its writes, their results, where each one's ops begin. */
interface Flight {
  number: number;
  sent: Array<{ entry: Queued; value: unknown; firstOp: number }>;
  /** Planned on a batch that failed: its writes were queued again, its answer is ignored. */
  void: boolean;
  /** Called once the thread answered it, after its callers were (see `answered`). */
  waiters: Array<() => void>;
  /**
   * Answers planned on this batch's rows before they committed (a write that threw, or a
   * batch that wrote nothing, recorded while this one was on the thread): given once it
   * commits; planned again if it fails or its outcome is unknown.
   */
  held: Array<{ entry: Queued; outcome: Outcome }>;
}

export interface RecordingWriter {
  recorder: WriteRecorder;
  thread: WriterThread;
}

/** Recorded batches on the writer thread at once: one recording while the last one commits. */
const MAX_FLIGHTS = 2;

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private flights: Flight[] = [];
  private flightCount = 0;
  private idle: Array<() => void> = [];
  /** Set by close(): new writes are refused (the connections are about to close). */
  private closing = false;
  /** Runs one write in a savepoint when called inside the batch's transaction (made once). */
  private readonly inSavepoint;
  private readonly inTransaction;

  constructor(
    db: Db,
    private readonly writer?: RecordingWriter,
  ) {
    this.inSavepoint = db.transaction((work: () => unknown) => work());
    this.inTransaction = db.transaction((batch: Queued[]) =>
      batch.map((entry): Outcome => {
        try {
          return { ok: true, value: this.inSavepoint(entry.work) };
        } catch (error) {
          // SQLite rolled the whole transaction back (SQLITE_FULL, an I/O error...), not only
          // the savepoint: the batch fails whole. A later write would run in a transaction of
          // its own and commit, its caller then told it failed with the rest.
          if (!db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
  }

  /**
   * A write recorded for the writer thread; without one, or once it is gone, group-committed
   * on the main connection.
   */
  record<T>(work: () => T): Promise<T> {
    return this.enqueue(work, this.recording);
  }

  /**
   * A write run at once, unless writes are queued or batches are on the writer thread: then
   * after them, in order.
   */
  now<T>(work: () => T): Promise<T> {
    if (this.closing || this.flights.length > 0 || this.queue.length > 0) {
      return this.enqueue(work, false);
    }
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Refuses writes from now on, and resolves once every write submitted before has been
   * answered: one let in after would be sent to a thread being closed, or run on a closed
   * connection, its caller told its outcome is unknown though it never ran.
   */
  close(): Promise<void> {
    this.closing = true;
    return this.drained();
  }

  /** Resolves once every write submitted so far has been answered. */
  drained(): Promise<void> {
    if (this.flights.length === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Resolves once the batches on the writer thread now have been answered and their callers
   * told (at once when there are none): what they committed is then known here too.
   */
  answered(): Promise<void> {
    const last = this.flights[this.flights.length - 1];
    if (!last) return Promise.resolve();
    return new Promise((resolve) => last.waiters.push(resolve));
  }

  private enqueue<T>(work: () => T, recorded: boolean): Promise<T> {
    if (this.closing) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, recorded, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Whether writes go to the writer thread: there is one and it has not stopped. */
  private get recording(): boolean {
    return this.writer?.thread.alive === true;
  }

  /** Whether the queue's head may run now: a recorded batch beside few enough others, a
   * write on the main connection only when the thread has nothing. */
  private headReady(): boolean {
    const head = this.queue[0];
    if (!head) return false;
    if (head.recorded && this.recording) return this.flights.length < MAX_FLIGHTS;
    return this.flights.length === 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    if (this.queue.length === 0 && this.flights.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    if (!this.headReady()) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Runs the queue's head: its longest run of writes of one kind. */
  private flush(): void {
    this.scheduled = false;
    if (!this.headReady()) return this.schedule();
    const recorded = (this.queue[0] as Queued).recorded;
    let count = this.queue.findIndex((entry) => entry.recorded !== recorded);
    if (count < 0) count = this.queue.length;
    const batch = this.queue.splice(0, count);
    if (recorded && this.writer && this.recording) this.sendRecorded(batch, this.writer);
    else this.commitHere(batch);
    this.schedule();
  }

  private commitHere(batch: Queued[]): void {
    let outcomes: Outcome[];
    try {
      outcomes = this.inTransaction.immediate(batch);
    } catch (error) {
      for (const entry of batch) entry.reject(error); // BEGIN or COMMIT itself failed
      return;
    }
    batch.forEach((entry, i) => settle(entry, outcomes[i] as Outcome));
  }

  /**
   * Records each write of the batch and sends them as one. A write that throws before it
   * recorded anything fails alone; one that throws halfway fails alone too, and the others
   * go back to the head of the queue, to be recorded again.
   */
  private sendRecorded(batch: Queued[], { recorder, thread }: RecordingWriter): void {
    const flight: Flight = {
      number: ++this.flightCount,
      sent: [],
      void: false,
      waiters: [],
      held: [],
    };
    // Answers given without the thread (a write that threw, a batch that wrote nothing) were
    // planned on rows not yet committed: this batch's own, or those of the batch still on the
    // thread. They wait for the commit they rest on (see Flight.held).
    const early: Flight['held'] = [];
    recorder.begin(flight.number);
    for (const [i, entry] of batch.entries()) {
      const firstOp = recorder.mark();
      try {
        flight.sent.push({ entry, value: entry.work(), firstOp });
      } catch (error) {
        if (recorder.mark() === firstOp) {
          early.push({ entry, outcome: { ok: false, error } });
          continue;
        }
        // Thrown halfway through its rows: it fails, once what it rests on has committed; the
        // others were planned on rows this batch no longer writes, and are planned again.
        recorder.abandon();
        this.holdOnThread([{ entry, outcome: { ok: false, error } }]);
        this.queue.unshift(...batch.slice(0, i), ...batch.slice(i + 1));
        return;
      }
    }
    const recording = recorder.finish();
    if (recording.ops.length === 0) {
      recorder.committed(flight.number);
      for (const { entry, value } of flight.sent)
        early.push({ entry, outcome: { ok: true, value } });
      this.holdOnThread(early); // nothing written here: they rest on the batch on the thread
      return;
    }
    flight.held.push(...early);
    this.flights.push(flight);
    thread
      .execute(recording)
      .then(
        (outcome) => {
          this.flights.shift();
          if (flight.void) return this.schedule();
          if (outcome.ok) {
            recorder.committed(flight.number);
            for (const { entry, value } of flight.sent) entry.resolve(value);
            for (const { entry, outcome: held } of flight.held.splice(0)) settle(entry, held);
          } else if (!('skipped' in outcome)) {
            this.failed(flight, outcome.failedOp, outcome.error, recorder, thread);
          }
          // What queued while this batch committed goes at once: it has waited a turn already.
          if (this.headReady()) this.flush();
          else this.schedule();
        },
        (error: unknown) => {
          // The thread is gone (so `recording` is false from now on). Whether the batch
          // committed is unknown: its callers fail, as in a crash.
          this.flights.shift();
          recorder.reset();
          const unknown = new WriteOutcomeUnknown(error);
          if (!flight.void) for (const { entry } of flight.sent) entry.reject(unknown);
          // Planned on rows that may not have committed: planned again, on the main connection.
          this.queue.unshift(...flight.held.splice(0).map((h) => h.entry));
          this.schedule();
        },
      )
      // After the callers: their continuations (the store telling its listeners of the
      // commit) were queued first, when the answer resolved them.
      .then(() => {
        for (const resolve of flight.waiters) resolve();
      });
  }

  /**
   * Answers resting on the batch still on the thread, given once it has committed; at once
   * when there is none. A void batch (its writes already queued again) is skipped by the
   * thread and counts for nothing.
   */
  private holdOnThread(answers: Flight['held']): void {
    const before = this.flights.findLast((f) => !f.void);
    if (before) before.held.push(...answers);
    else for (const { entry, outcome } of answers) settle(entry, outcome);
  }

  /**
   * A batch failed on the thread, and nothing of it committed: the write whose op failed fails
   * alone; the batch's other writes and every batch sent after it (which the thread skips)
   * go back to the head of the queue, to be planned again on the rows as committed.
   */
  private failed(
    flight: Flight,
    failedOp: number,
    error: Error,
    recorder: WriteRecorder,
    thread: WriterThread,
  ): void {
    const culprit = flight.sent.findLastIndex((s) => s.firstOp <= failedOp);
    const { code, taskId } = error as Error & { code?: string; taskId?: string };
    const stale = code === STALE && taskId !== undefined;
    // A write planned on a row that had changed is planned again, on the row as it is now,
    // and on the main connection (once the thread has nothing), in its own transaction: a
    // guard that an earlier write of its own batch made fail (its plan reads what has
    // committed, not what the batch wrote before it) would fail every batch planned so.
    if (stale) {
      recorder.changed(taskId);
      const entry = flight.sent[culprit]?.entry;
      if (entry) entry.recorded = false;
    } else flight.sent[culprit]?.entry.reject(error);
    const again = flight.sent.filter((_, i) => stale || i !== culprit).map((s) => s.entry);
    again.push(...flight.held.splice(0).map((h) => h.entry));
    for (const later of this.flights) {
      later.void = true;
      again.push(...later.sent.map((s) => s.entry), ...later.held.splice(0).map((h) => h.entry));
    }
    recorder.reset();
    thread.resume();
    this.queue.unshift(...again);
  }
}

function settle(entry: Queued, outcome: Outcome): void {
  if (outcome.ok) entry.resolve(outcome.value);
  else entry.reject(outcome.error);
}
