/**
 * WAL checkpoints on a worker thread with its own connection, so that copying committed pages
 * back into the database file (and its fsyncs) no longer runs inside the commits of the event
 * loop's connection. The main connection's own automatic checkpoint stays on, at a far larger
 * WAL size, as a backstop should the worker ever stop.
 */
import { Worker } from 'node:worker_threads';
import type { Db } from './openDatabase';

/** Pages the WAL may grow to before the main connection checkpoints by itself. */
export const BACKSTOP_PAGES = 20_000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: next time */ }
}, workerData.intervalMs);
`;

export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(db: Db, file: string, intervalMs: number) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), file, intervalMs },
    });
    this.worker.unref();
    this.worker.on('error', () => db.open && db.pragma('wal_autocheckpoint = 1000'));
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
