/**
 * The writer thread is started again when it stops: writes commit on the main connection
 * meanwhile, and on the new thread once it is up (its statements sent to it again), with a
 * delay that doubles while starts keep failing.
 */
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/store/groupCommit';
import { SupervisedWriter } from '../../src/store/supervisedWriter';
import { WriteRecorder } from '../../src/store/writeRecorder';
import type { WriterThread } from '../../src/store/writerThread';
import { tempDbFile } from '../helpers/tempDb';

/** What a crash of the thread looks like from here (the worker is private: reached on purpose). */
const crash = (thread: WriterThread) =>
  (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();

function table(name: string) {
  const file = tempDbFile(name);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const recorder = new WriteRecorder();
  const insert = recorder.statement(db, 'INSERT INTO t (k) VALUES (?)');
  const changesHere = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
  return { file, db, recorder, insert, changesHere };
}

test('a crashed thread is replaced: writes go on here meanwhile, then on the new thread', async () => {
  const { file, db, recorder, insert, changesHere } = table('restart');
  const events: string[] = [];
  let restarted!: () => void;
  const up = new Promise<void>((resolve) => (restarted = resolve));
  const writer = new SupervisedWriter(file, recorder, ['busy_timeout = 1000'], {
    firstDelayMs: 20,
    onStopped: (error, delay) => events.push(`stopped (${error.message}), again in ${delay} ms`),
    onRestarted: () => {
      events.push('restarted');
      restarted();
    },
  });
  const group = new GroupCommit(db, writer);
  await group.record(() => insert.run('first thread'));
  expect(changesHere()).toBe(0);

  const first = writer.thread;
  await crash(first);
  await group.record(() => insert.run('meanwhile'));
  expect(changesHere()).toBe(1); // committed on the main connection

  await up;
  expect(writer.thread).not.toBe(first);
  expect(writer.thread.alive).toBe(true);
  // The same statement, which the new thread must be sent again to run.
  await Promise.all([
    group.record(() => insert.run('second thread 1')),
    group.record(() => insert.run('second thread 2')),
  ]);
  expect(changesHere()).toBe(1);
  expect(db.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([
    { k: 'first thread' },
    { k: 'meanwhile' },
    { k: 'second thread 1' },
    { k: 'second thread 2' },
  ]);
  expect(events).toEqual([
    'stopped (the SQLite writer thread stopped), again in 20 ms',
    'restarted',
  ]);
  await writer.close();
  db.close();
});

test('a thread that cannot start is tried again later and later, up to the longest delay', async () => {
  const { file, db, recorder } = table('failing');
  const delays: number[] = [];
  let fifth!: () => void;
  const fiveStops = new Promise<void>((resolve) => (fifth = resolve));
  // A pragma SQLite refuses: every new thread fails as it opens its connection.
  const writer = new SupervisedWriter(file, recorder, ['this is not sql'], {
    firstDelayMs: 100,
    maxDelayMs: 800,
    onStopped: (_error, delay) => {
      delays.push(delay);
      if (delays.length === 5) fifth();
    },
  });
  await fiveStops;
  await writer.close();
  expect(delays).toEqual([100, 200, 400, 800, 800]);
  expect(writer.thread.alive).toBe(false);
  db.close();
});

test('closing stops the restarts: a thread that died just before is not replaced', async () => {
  const { file, db, recorder } = table('closed');
  const restarts: number[] = [];
  const writer = new SupervisedWriter(file, recorder, [], {
    firstDelayMs: 10,
    onRestarted: () => restarts.push(1),
  });
  await crash(writer.thread);
  await writer.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(restarts).toEqual([]);
  db.close();
});
