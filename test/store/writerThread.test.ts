/**
 * The writer thread: a task's creation and changes are recorded on the event loop and
 * committed by a second connection on a worker thread. Writes still see each other (in one
 * batch, and across batches in flight), a write SQLite refuses fails alone, and the same
 * holds with the thread switched off.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { projectRoot } from '../../src/paths';
import { SqliteStore } from '../../src/store/sqliteStore';
import { SubscriptionTables } from '../../src/store/subscriptionRows';
import { GroupCommit } from '../../src/store/groupCommit';
import { WriteRecorder } from '../../src/store/writeRecorder';
import { WriterThread } from '../../src/store/writerThread';
import { tempDbFile } from '../helpers/tempDb';
import type { Mutation, TaskRecord } from '../../src/store/records';
import type { EventType } from '../../src/types';
import { holdAgent, say } from '../helpers/heldTasks';
import { canceled } from '../../src/tasks/changes';
import { appendEventElsewhere } from '../helpers/otherProcess';
import { type Running, createTask, startArcd, waitForStatus } from '../helpers/arcServer';

let arcd: Running;
afterEach(async () => arcd?.close());

async function heldTask(writerThread: string) {
  arcd = await startArcd({ agents: [holdAgent], config: { writerThread } });
  const created = await createTask(arcd.url, 'hold', 'first');
  await waitForStatus(arcd.url, 'hold', created.taskId, ['WORKING']);
  return created.taskId as string;
}

/** A message SQLite refuses (its role breaks a CHECK constraint) after it was planned. */
const refused = (task: TaskRecord): Mutation => ({
  ...say('refused')(task),
  messages: [
    { messageId: 'msg-bad', role: 'robot' as 'agent', parts: [], timestamp: task.updatedAt },
  ],
});

function changesOnMain(running: Running): number {
  return (running.server.store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
}

/** Started, and past the engine's first look for work (until then, tasks wait for a claim). */
async function idleArcd(writerThread: string) {
  arcd = await startArcd({ config: { writerThread, pollMs: 60_000 } });
  const first = await createTask(arcd.url, 'echo', 'warm-up');
  await waitForStatus(arcd.url, 'echo', first.taskId, ['COMPLETED']);
}

test('with the thread on, echo tasks are written by the thread: the main connection writes none of them', async () => {
  await idleArcd('on');
  const before = changesOnMain(arcd);
  for (let i = 0; i < 5; i += 1) {
    const created = await createTask(arcd.url, 'echo', `hello ${i}`);
    await waitForStatus(arcd.url, 'echo', created.taskId, ['COMPLETED']);
  }
  expect(changesOnMain(arcd)).toBe(before);
  const other = new Database(arcd.db, { readonly: true });
  expect(other.prepare('SELECT COUNT(*) AS n FROM tasks').get()).toEqual({ n: 6 });
  expect(other.prepare('SELECT COUNT(*) AS n FROM messages').get()).toEqual({ n: 12 });
  other.close();
});

test('with the thread off, the same tasks are written on the main connection', async () => {
  await idleArcd('off');
  const before = changesOnMain(arcd);
  const created = await createTask(arcd.url, 'echo', 'hello');
  await waitForStatus(arcd.url, 'echo', created.taskId, ['COMPLETED']);
  expect(changesOnMain(arcd)).toBeGreaterThan(before);
});

test('an unknown --writer-thread value is refused at start, before the database opens', async () => {
  const db = tempDbFile('refused');
  await expect(startArcd({ db, config: { writerThread: 'maybe' } })).rejects.toThrow(
    /ARCD_WRITER_THREAD\/--writer-thread: expected "on" or "off"/,
  );
  expect(fs.existsSync(db)).toBe(false);
});

test('another process changing the row between the plan and the commit has the write planned again', async () => {
  const taskId = await heldTask('on');
  const store = arcd.server.store;
  const other = new Database(arcd.db);
  other.pragma('busy_timeout = 5000');
  // What another process's change does: one event more, the row's sequence and time moved.
  const elsewhere = () => {
    const at = new Date(Date.now() + 5).toISOString();
    appendEventElsewhere(other, taskId, 'STATUS_CHANGE', { status: 'WORKING' }, at);
  };
  const seen: TaskRecord[] = [];
  const applied = await store.mutateTask(taskId, (task) => {
    seen.push(task);
    if (seen.length === 1) elsewhere(); // after this write read the row, before it commits
    return say('mine')(task);
  });
  other.close();
  expect(seen).toHaveLength(2);
  expect(seen[1]!.lastSeq).toBe(seen[0]!.lastSeq + 1);
  const events = await store.listEvents(taskId);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.map((e) => e.eventId)).toContain('evt-elsewhere');
  expect(applied?.task.lastSeq).toBe(events.length);
});

/** Adds an active subscription to every event of `taskId` through a connection of its own. */
function subscribeElsewhere(other: Database.Database, taskId: string, id = 'sub-elsewhere') {
  other
    .prepare(
      `INSERT INTO subscriptions (subscription_id, task_id, owner_agent, callback_url,
       callback_host, events, secret, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`,
    )
    .run(
      id,
      taskId,
      'tester',
      'http://127.0.0.1:9/hook',
      '127.0.0.1:9',
      '["STATUS_CHANGE"]',
      'secret',
      new Date().toISOString(),
    );
}

function queuedFor(other: Database.Database, subscriptionId: string) {
  return other
    .prepare('SELECT event_seq FROM deliveries WHERE subscription_id = ? ORDER BY event_seq')
    .all(subscriptionId);
}

/**
 * A subscription of this process's own on the task (`sub-here`): the task's changes then look
 * for subscriptions on the main connection.
 */
function subscribeHere(store: SqliteStore, taskId: string, events: EventType[]) {
  return store.insertSubscription({
    subscriptionId: 'sub-here',
    taskId,
    ownerAgent: 'tester',
    callbackUrl: 'http://127.0.0.1:9/here',
    events,
    secret: 'secret',
    active: true,
    createdAt: new Date().toISOString(),
  });
}

/** Runs `elsewhere` right after the next write looked for subscriptions, before it commits. */
function afterNextLook(elsewhere: () => void) {
  const original = SubscriptionTables.prototype.enqueueFor;
  const found = jest.spyOn(SubscriptionTables.prototype, 'enqueueFor');
  found.mockImplementationOnce(function (this: SubscriptionTables, ...args) {
    elsewhere();
    return original.apply(this, args);
  });
  return found;
}

test('a subscription another process adds between the look for subscriptions and the commit gets the events', async () => {
  const taskId = await heldTask('on');
  const store = arcd.server.store;
  await subscribeHere(store, taskId, ['TASK_COMPLETED']); // to completion only
  const other = new Database(arcd.db);
  other.pragma('busy_timeout = 5000');
  // Right after the write looked for subscriptions (and found its own), before it commits.
  const found = afterNextLook(() => subscribeElsewhere(other, taskId));
  let calls = 0;
  const applied = await store.mutateTask(taskId, (task) => {
    calls += 1;
    return say('seen by the new subscriber')(task);
  });
  found.mockRestore();
  const queued = queuedFor(other, 'sub-elsewhere');
  other.close();
  expect(calls).toBe(2);
  expect(applied?.deliveries).toBe(1);
  expect(queued).toEqual([{ event_seq: applied?.task.lastSeq }]);
});

test('one subscription canceled and another made elsewhere before the commit: the new one gets the events', async () => {
  const taskId = await heldTask('on');
  const store = arcd.server.store;
  await subscribeHere(store, taskId, ['STATUS_CHANGE']);
  const other = new Database(arcd.db);
  other.pragma('busy_timeout = 5000');
  // As many active subscriptions as the write found, but not the same one.
  const found = afterNextLook(() => {
    other.prepare("UPDATE subscriptions SET active = 0 WHERE subscription_id = 'sub-here'").run();
    subscribeElsewhere(other, taskId, 'sub-new');
  });
  let calls = 0;
  const applied = await store.mutateTask(taskId, (task) => {
    calls += 1;
    return say('for the new subscriber')(task);
  });
  found.mockRestore();
  const toNew = queuedFor(other, 'sub-new');
  const toOld = queuedFor(other, 'sub-here');
  other.close();
  expect(calls).toBe(2);
  expect(toNew).toEqual([{ event_seq: applied?.task.lastSeq }]);
  expect(toOld).toEqual([]);
});

test("a subscription another process adds to a task this one created (and so doesn't look for) gets the events", async () => {
  const taskId = await heldTask('on');
  const store = arcd.server.store;
  const other = new Database(arcd.db);
  other.pragma('busy_timeout = 5000');
  const looked = jest.spyOn(SubscriptionTables.prototype, 'enqueueDeliveries');
  let calls = 0;
  const applied = await store.mutateTask(taskId, (task) => {
    calls += 1;
    // While the change is planned, before it commits.
    if (calls === 1) subscribeElsewhere(other, taskId);
    return say('seen by the new subscriber')(task);
  });
  const lookedFirst = looked.mock.calls.length;
  looked.mockRestore();
  const queued = queuedFor(other, 'sub-elsewhere');
  other.close();
  // Planned once without a look (the guard found the subscription), then again with one.
  expect({ calls, lookedFirst }).toEqual({ calls: 2, lookedFirst: 1 });
  expect(applied?.deliveries).toBe(1);
  expect(queued).toEqual([{ event_seq: applied?.task.lastSeq }]);
});

describe.each(['on', 'off'])('writer thread %s', (writerThread) => {
  test('writes to one task over many loop turns each plan on the one before', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    const writes: Array<Promise<unknown>> = [];
    for (let wave = 0; wave < 6; wave += 1) {
      for (let i = 0; i < 8; i += 1) writes.push(store.mutateTask(taskId, say(`${wave}.${i}`)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
    const messages = await store.listMessages(taskId);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect(messages).toHaveLength(49);
    const events = await store.listEvents(taskId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const task = (await store.getTask(taskId)) as TaskRecord;
    expect(task.messageCount).toBe(49);
    expect(task.lastSeq).toBe(events.length);
  });

  test('a write SQLite refuses fails alone; the writes around it commit', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    const outcomes = await Promise.allSettled([
      store.mutateTask(taskId, say('a')),
      store.mutateTask(taskId, refused),
      store.mutateTask(taskId, say('b')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/CHECK constraint/);
    const texts = (await store.listMessages(taskId)).map((m) => m.parts[0]?.content);
    expect(texts).toEqual(['first', 'a', 'b']);
    const task = (await store.getTask(taskId)) as TaskRecord;
    expect(task.messageCount).toBe(3);
    expect(task.lastSeq).toBe((await store.listEvents(taskId)).length);
    // Later writes run as usual.
    await store.mutateTask(taskId, say('c'));
    expect(await store.listMessages(taskId)).toHaveLength(4);
  });

  test('a write refused while later ones are already planned on it: only it fails, in order', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    const next = () => new Promise((resolve) => setImmediate(resolve));
    const writes = [store.mutateTask(taskId, say('a')), store.mutateTask(taskId, refused)];
    await next(); // the next loop turn: a batch planned on the one that fails
    writes.push(store.mutateTask(taskId, say('b')), store.mutateTask(taskId, say('c')));
    await next();
    writes.push(store.mutateTask(taskId, say('d')));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    const messages = await store.listMessages(taskId);
    expect(messages.map((m) => m.parts[0]?.content)).toEqual(['first', 'a', 'b', 'c', 'd']);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  test('a write planned on a batch that then fails is not answered from that batch: it is planned again', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    const cancel = (task: TaskRecord) => canceled(task, new Date().toISOString(), 'stop', 'me');
    // Cancels, and fails at the commit (a role the messages table refuses).
    const cancelRefused = (task: TaskRecord): Mutation => ({
      ...cancel(task),
      messages: refused(task).messages!,
    });
    const writes = [store.mutateTask(taskId, cancelRefused)];
    await new Promise((resolve) => setImmediate(resolve)); // planned while that batch commits
    writes.push(store.mutateTask(taskId, cancel));
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((await store.getTask(taskId))?.status).toBe('CANCELED');
    // The same within one batch: the second planned on the first's rows, in the same loop turn.
    const other = await createTask(arcd.url, 'hold', 'second', {}, { targetAgent: 'hold' });
    await waitForStatus(arcd.url, 'hold', other.taskId, ['WORKING'], { targetAgent: 'hold' });
    const together = await Promise.allSettled([
      store.mutateTask(other.taskId, cancelRefused),
      store.mutateTask(other.taskId, cancel),
    ]);
    expect(together.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((await store.getTask(other.taskId))?.status).toBe('CANCELED');
  });

  test('a write that throws halfway through its rows fails alone, none of its rows kept', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    // The task row is written before the message, whose parts cannot become JSON.
    const unserializable = (task: TaskRecord): Mutation => ({
      ...say('x')(task),
      messages: [
        {
          messageId: 'msg-bigint',
          role: 'agent',
          parts: [{ type: 'DataPart', content: { n: BigInt(1) } as never }],
          timestamp: task.updatedAt,
        },
      ],
    });
    const outcomes = await Promise.allSettled([
      store.mutateTask(taskId, say('a')),
      store.mutateTask(taskId, unserializable),
      store.mutateTask(taskId, say('b')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/BigInt/);
    const texts = (await store.listMessages(taskId)).map((m) => m.parts[0]?.content);
    expect(texts).toEqual(['first', 'a', 'b']);
    const task = (await store.getTask(taskId)) as TaskRecord;
    expect(task.messageCount).toBe(3);
    expect(task.lastSeq).toBe((await store.listEvents(taskId)).length);
  });

  test('a write planned on a record another process has changed since is planned again', async () => {
    const taskId = await heldTask(writerThread);
    const store = arcd.server.store;
    const known = (await store.mutateTask(taskId, say('a')))!.task;
    const elsewhere = new SqliteStore(arcd.db);
    await elsewhere.setProgress(taskId, { progress: 0.7 });
    await elsewhere.close();
    const seen: TaskRecord[] = [];
    const applied = await store.mutateTask(
      taskId,
      (task) => {
        seen.push(task);
        return say('b')(task);
      },
      known,
    );
    expect(seen[seen.length - 1]?.progress).toBe(0.7);
    expect(applied?.task.progress).toBe(0.7);
    const messages = await store.listMessages(taskId);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  test('closing waits for writes not yet committed', async () => {
    const taskId = await heldTask(writerThread);
    const pending = arcd.server.store.mutateTask(taskId, say('last words'));
    await arcd.close();
    await pending;
    const other = new Database(arcd.db, { readonly: true });
    const row = other
      .prepare('SELECT COUNT(*) AS n FROM messages WHERE task_id = ? AND message_id = ?')
      .get(taskId, 'msg-last words');
    other.close();
    expect(row).toEqual({ n: 1 });
  });
});

test('another process writing between a batch and the one planned on it: that one is planned again', async () => {
  const taskId = await heldTask('on');
  const store = arcd.server.store;
  const execute = WriterThread.prototype.execute;
  let first: Promise<unknown> | undefined;
  const spy = jest.spyOn(WriterThread.prototype, 'execute').mockImplementation(function (
    this: WriterThread,
    batch,
  ) {
    if (!first) return (first = execute.call(this, batch));
    // The second batch, planned on the first one's rows: another process commits between the
    // first's COMMIT and its BEGIN.
    spy.mockRestore();
    return first.then(() => {
      const other = new Database(arcd.db);
      other.pragma('busy_timeout = 5000');
      appendEventElsewhere(other, taskId, 'TASK_UPDATED', { status: 'WORKING', progress: 50 });
      other.close();
      return execute.call(this, batch);
    });
  });
  const writes = [store.mutateTask(taskId, say('a'))];
  await new Promise((resolve) => setImmediate(resolve));
  writes.push(store.mutateTask(taskId, say('b')));
  const outcomes = await Promise.allSettled(writes);
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
  const events = await store.listEvents(taskId);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect((await store.getTask(taskId))?.lastSeq).toBe(events.length);
  expect(events.at(-1)?.type).toBe('NEW_MESSAGE');
});

test('once the writer thread is gone, writes commit on the main connection instead', async () => {
  const file = tempDbFile('gone');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const recorder = new WriteRecorder();
  const insert = recorder.statement(db, 'INSERT INTO t (k) VALUES (?)');
  const thread = new WriterThread(file, { pragmas: ['busy_timeout = 1000'] });
  const group = new GroupCommit(db, { recorder, thread });
  const changesHere = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
  await group.record(() => insert.run('by the thread'));
  expect(changesHere()).toBe(0);
  await thread.close(); // stopped, as a crashed thread would be
  expect(thread.alive).toBe(false);
  await Promise.all([
    group.record(() => insert.run('here 1')),
    group.record(() => insert.run('here 2')),
  ]);
  expect(changesHere()).toBe(2);
  expect(db.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([
    { k: 'by the thread' },
    { k: 'here 1' },
    { k: 'here 2' },
  ]);
  db.close();
});

test('arcd whose writer thread crashes goes on serving, and writes on a new thread a second later', async () => {
  await idleArcd('on');
  const writer = (arcd.server.store as unknown as { writer: { thread: WriterThread } }).writer;
  const first = writer.thread;
  await (first as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  const before = changesOnMain(arcd);
  const meanwhile = await createTask(arcd.url, 'echo', 'while the thread is gone');
  await waitForStatus(arcd.url, 'echo', meanwhile.taskId, ['COMPLETED']);
  expect(changesOnMain(arcd)).toBeGreaterThan(before); // written on the main connection
  while (writer.thread === first) await new Promise((resolve) => setTimeout(resolve, 50));
  const after = changesOnMain(arcd);
  for (let i = 0; i < 3; i += 1) {
    const created = await createTask(arcd.url, 'echo', `on the new thread ${i}`);
    await waitForStatus(arcd.url, 'echo', created.taskId, ['COMPLETED']);
  }
  expect(changesOnMain(arcd)).toBe(after);
  const other = new Database(arcd.db, { readonly: true });
  expect(other.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'COMPLETED'").get()).toEqual(
    {
      n: 5,
    },
  );
  other.close();
});

test('a process that leaves the store open exits by itself, once what it sent has committed', () => {
  const file = tempDbFile('left-open');
  const store = (name: string) => JSON.stringify(path.join(projectRoot, 'dist/src/store', name));
  // Records one write and never closes anything: the write must commit and be answered (the
  // thread holds the process while a batch is out), and the idle thread must not hold it.
  const script = `
    const Database = require('better-sqlite3');
    const { WriteRecorder } = require(${store('writeRecorder.js')});
    const { WriterThread } = require(${store('writerThread.js')});
    const { GroupCommit } = require(${store('groupCommit.js')});
    const db = new Database(${JSON.stringify(file)});
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const recorder = new WriteRecorder();
    const insert = recorder.statement(db, 'INSERT INTO t (k) VALUES (?)');
    const thread = new WriterThread(${JSON.stringify(file)}, { pragmas: ['busy_timeout = 1000'] });
    new GroupCommit(db, { recorder, thread })
      .record(() => insert.run('sent, not awaited'))
      .then(() => process.stdout.write('answered'));
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: projectRoot,
    timeout: 15_000,
    encoding: 'utf8',
  });
  const { signal, status, stdout, stderr } = child;
  expect({ signal, status, stdout, stderr }).toEqual({
    signal: null,
    status: 0,
    stdout: 'answered',
    stderr: '',
  });
  const db = new Database(file, { readonly: true });
  expect(db.prepare('SELECT k FROM t').all()).toEqual([{ k: 'sent, not awaited' }]);
  db.close();
});

test('a thread that dies is reported once; one closed on purpose is not', async () => {
  const stopped: Error[] = [];
  const onStopped = (error: Error) => stopped.push(error);
  const file = tempDbFile('dies');
  const closed = new WriterThread(file, { pragmas: [], onStopped });
  await closed.close();
  expect(stopped).toEqual([]);
  const dying = new WriterThread(file, { pragmas: [], onStopped });
  // What a crash of the thread looks like from here (the worker is private: reached on purpose).
  await (dying as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  await dying.close();
  expect(stopped).toHaveLength(1);
  expect(stopped[0]?.message).toMatch(/writer thread stopped/);
  expect(dying.alive).toBe(false);
});

test('a recording that wrote nothing keeps the statement texts the writer has not been sent', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  const recorder = new WriteRecorder();
  const insert = recorder.statement(db, 'INSERT INTO t (x) VALUES (?)');
  recorder.begin(1);
  expect(recorder.finish()).toEqual({ sql: [], ops: [] }); // never sent: nothing to run
  recorder.begin(2);
  insert.run(5);
  expect(recorder.finish()).toEqual({ sql: ['INSERT INTO t (x) VALUES (?)'], ops: [0, [5]] });
  db.close();
});

test('a statement the thread cannot prepare stops the thread: later statement numbers would be off', async () => {
  const stopped: Error[] = [];
  const file = tempDbFile('unprepared');
  const setup = new Database(file);
  setup.exec('CREATE TABLE t (k TEXT)');
  setup.close();
  const thread = new WriterThread(file, { pragmas: [], onStopped: (e) => stopped.push(e) });
  const outcome = thread.execute({ sql: ['INSERT INTO missing (k) VALUES (?)'], ops: [0, ['x']] });
  await expect(outcome).rejects.toThrow();
  await thread.exited;
  expect(thread.alive).toBe(false);
  expect(stopped).toHaveLength(1);
});

test('a batch that cannot be sent to the thread fails alone; the next one gets its own answer', async () => {
  const file = tempDbFile('unsendable');
  const setup = new Database(file);
  setup.exec('CREATE TABLE t (k TEXT)');
  setup.close();
  const thread = new WriterThread(file, { pragmas: [] });
  const unsendable = { sql: ['INSERT INTO t (k) VALUES (?)'], ops: [0, [() => 'no']] };
  await expect(thread.execute(unsendable as never)).rejects.toThrow();
  const sent = thread.execute({ sql: ['INSERT INTO t (k) VALUES (?)'], ops: [0, ['yes']] });
  const timeout = new Promise((resolve) => setTimeout(() => resolve('no answer'), 2000));
  expect(await Promise.race([sent, timeout])).toEqual({ ok: true });
  await thread.close();
});
