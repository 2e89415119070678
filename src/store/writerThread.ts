/**
 * A second connection to the database file, on a worker thread, that runs recorded batches
 * (writeRecorder.ts) in one IMMEDIATE transaction each. The SQL of the hot writes (task rows,
 * messages, events, runs, deliveries) and their commit then run beside the event loop rather
 * than on it. A batch is answered only after its commit; if one of its statements fails, the
 * whole transaction is rolled back, the answer names the op that failed, and every batch sent
 * after it is skipped unrun (it was planned on the failed one) until `resume`.
 */
import { Worker } from 'node:worker_threads';
import { type RecordedBatch, STALE } from './writeRecorder';

export type BatchOutcome =
  { ok: true } | { ok: false; failedOp: number; error: Error } | { ok: false; skipped: true };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const statements = [];
let at = 0;
let failed = false;
const guard = (statement, [expected, ...params]) => {
  const row = statement.raw(true).get(...params);
  if (!row || row.some((value, i) => value !== expected[i])) {
    throw Object.assign(new Error('the row changed since it was read: ' + params[0]), {
      code: workerData.staleCode, taskId: params[0],
    });
  }
};
const runAll = db.transaction((ops) => {
  for (at = 0; at < ops.length; at += 2) {
    const id = ops[at];
    if (id >= 0) statements[id].run(...ops[at + 1]);
    else guard(statements[-id - 1], ops[at + 1]);
  }
});
parentPort.on('message', (batch) => {
  if (batch === 'close') { db.close(); parentPort.close(); return; }
  if (batch === 'resume') { failed = false; return; }
  at = 0;
  // A text that does not prepare would leave every later statement number off by one: the
  // thread stops instead (uncaught), and a new one is sent every text again.
  for (const text of batch.sql) {
    try {
      statements.push(db.prepare(text));
    } catch (error) {
      throw new Error('the writer thread could not prepare a statement: ' + error.message);
    }
  }
  try {
    if (failed) return parentPort.postMessage({ ok: false, skipped: true });
    runAll.immediate(batch.ops);
    parentPort.postMessage({ ok: true });
  } catch (error) {
    failed = true;
    parentPort.postMessage({
      ok: false, failedOp: at, name: error.name, message: error.message, code: error.code,
      taskId: error.taskId,
    });
  }
});
`;

interface Reply {
  ok: boolean;
  skipped?: boolean;
  failedOp?: number;
  name?: string;
  message?: string;
  code?: string;
  taskId?: string;
}

interface Pending {
  resolve: (outcome: BatchOutcome) => void;
  reject: (error: Error) => void;
}

export interface WriterOptions {
  /** Run on the thread's connection when it opens (the main connection's own settings). */
  pragmas: readonly string[];
  /** Told once if the thread fails or stops other than by `close()`. */
  onStopped?: (error: Error) => void;
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;
  /** Resolves once the thread has exited (its connection closed). */
  readonly exited: Promise<void>;
  private closing = false;
  private readonly onStopped: ((error: Error) => void) | undefined;

  constructor(file: string, { onStopped, ...options }: WriterOptions) {
    this.onStopped = onStopped;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file, staleCode: STALE, ...options },
    });
    this.worker.on('message', (reply: Reply) => this.answer(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.fail(new Error('the SQLite writer thread stopped'));
        resolve();
      }),
    );
    // Only a batch waiting for its commit keeps the process alive; an idle store does not,
    // like an idle connection on the main thread (a store left open cannot hang an exit).
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  /** False once the thread has stopped or failed: nothing sent now would run. */
  get alive(): boolean {
    return this.failure === undefined;
  }

  /** Runs a batch in one transaction; rejects only if the thread itself is gone. */
  execute(batch: RecordedBatch): Promise<BatchOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      // Posted first: a batch that cannot be sent (throws) must not wait for a reply, or every
      // later reply would answer the batch before its own.
      this.worker.postMessage(batch);
      if (this.pending.length === 0) this.worker.ref();
      this.pending.push({ resolve, reject });
    });
  }

  private answer(reply: Reply): void {
    const waiting = this.pending.shift();
    if (!waiting) return;
    if (this.pending.length === 0) this.worker.unref();
    if (reply.ok) return waiting.resolve({ ok: true });
    if (reply.skipped) return waiting.resolve({ ok: false, skipped: true });
    const error = Object.assign(new Error(reply.message), {
      name: reply.name,
      code: reply.code,
      taskId: reply.taskId,
    });
    waiting.resolve({ ok: false, failedOp: reply.failedOp ?? 0, error });
  }

  /** Lets batches sent from now on run again, after a failed one. */
  resume(): void {
    if (!this.failure) this.worker.postMessage('resume');
  }

  private fail(error: Error): void {
    if (this.failure === undefined && !this.closing) this.onStopped?.(error);
    this.failure ??= error;
    for (const waiting of this.pending.splice(0)) waiting.reject(this.failure);
  }

  /** Closes the thread's connection once the batches sent have been answered. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.failure) {
      this.worker.ref();
      this.worker.postMessage('close');
    }
    await this.exited;
  }
}
