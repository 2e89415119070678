/**
 * task.update, task.retry and task.delete through HTTP, with their bad inputs; and the
 * retention purge deleting old finished tasks (and nothing else) with everything they own.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import { startReceiver } from '../helpers/receiver';
import {
  type WireJson,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

const slow = defineAgent({
  id: 'waits',
  description: 'runs until canceled',
  async handle(ctx) {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  },
});

const eventNames = async (url: string, agent: string, taskId: string): Promise<string[]> =>
  (await arcResult(url, 'task.events', { taskId }, { targetAgent: agent })).events.map(
    (e: WireJson) => e.event,
  );

describe('task.update', () => {
  test('changes priority, merges metadata and settings, sets the deadline; one event says so', async () => {
    const arcd = await startArcd({ agents: [slow] });
    const task = await createTask(
      arcd.url,
      'waits',
      'x',
      { metadata: { team: 'red', keep: 1 }, settings: { maxRetries: 1 } },
      { targetAgent: 'waits' },
    );
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const { task: updated } = await arcResult(
      arcd.url,
      'task.update',
      {
        taskId: task.taskId,
        priority: 'URGENT',
        metadata: { team: 'blue', keep: null, added: true },
        settings: { timeoutMs: 5000 },
        deadline,
      },
      { targetAgent: 'waits' },
    );
    expect(updated).toMatchObject({
      priority: 'URGENT',
      metadata: { team: 'blue', added: true },
      settings: { maxRetries: 1, timeoutMs: 5000 },
      deadline,
    });
    expect(updated.metadata).not.toHaveProperty('keep');
    const stored = await taskInfo(arcd.url, 'waits', task.taskId);
    expect(stored).toMatchObject({ priority: 'URGENT', deadline });
    const events = await arcResult(
      arcd.url,
      'task.events',
      { taskId: task.taskId },
      { targetAgent: 'waits' },
    );
    const update = events.events.find((e: WireJson) => e.event === 'TASK_UPDATED');
    expect(update.data).toMatchObject({
      updatedBy: 'tester',
      changes: { priority: 'URGENT', metadata: { team: 'blue', keep: null, added: true } },
    });
    const cleared = await arcResult(
      arcd.url,
      'task.update',
      { taskId: task.taskId, deadline: null },
      { targetAgent: 'waits' },
    );
    expect(cleared.task).not.toHaveProperty('deadline');
    // Any key merges and goes, `__proto__` too (assigned, it set the object's prototype).
    const odd = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    const withOdd = await arcResult(
      arcd.url,
      'task.update',
      { taskId: task.taskId, metadata: odd },
      { targetAgent: 'waits' },
    );
    expect(Object.keys(withOdd.task.metadata)).toEqual(['team', 'added', '__proto__']);
    const without = await arcResult(
      arcd.url,
      'task.update',
      { taskId: task.taskId, metadata: JSON.parse('{"__proto__": null}') },
      { targetAgent: 'waits' },
    );
    expect(Object.keys(without.task.metadata)).toEqual(['team', 'added']);
  });

  test('bad updates: nothing to change, a past deadline, a finished task, an unknown task', async () => {
    const arcd = await startArcd();
    const task = await createTask(arcd.url, 'echo', 'x');
    const empty = await arcCall(arcd.url, 'task.update', { taskId: task.taskId });
    expect(empty.body.error.code).toBe(-32602);
    const unknownField = await arcCall(arcd.url, 'task.update', {
      taskId: task.taskId,
      status: 'COMPLETED',
    });
    expect(unknownField.body.error.code).toBe(-32602);
    const past = await arcCall(arcd.url, 'task.update', {
      taskId: task.taskId,
      deadline: '2000-01-01T00:00:00Z',
    });
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    expect(past.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'deadline' }] },
    });
    const finished = await arcCall(arcd.url, 'task.update', {
      taskId: task.taskId,
      priority: 'HIGH',
    });
    expect(finished.body.error).toMatchObject({
      code: -42006,
      details: { taskId: task.taskId, currentStatus: 'COMPLETED' },
    });
    const unknown = await arcCall(arcd.url, 'task.update', {
      taskId: 'task-nope',
      priority: 'LOW',
    });
    expect(unknown.body.error.code).toBe(-42001);
    const stranger = await arcCall(
      arcd.url,
      'task.update',
      { taskId: task.taskId, priority: 'LOW' },
      { requestAgent: 'stranger' },
    );
    expect(stranger.body.error.code).toBe(-42001);
  });
});

describe('task.retry', () => {
  test('a FAILED task runs again as a new run and keeps its history', async () => {
    let calls = 0;
    const failsOnce = defineAgent({
      id: 'fails-once',
      description: 'fails its first turn ever, then completes',
      handle(ctx) {
        calls += 1;
        if (calls === 1) throw new Error('first run fails');
        return `done on run ${calls}: ${ctx.text()}`;
      },
    });
    const arcd = await startArcd({ agents: [failsOnce], bundled: false });
    const options = { targetAgent: 'fails-once' };
    const task = await createTask(arcd.url, 'fails-once', 'job', {}, options);
    await waitForStatus(arcd.url, 'fails-once', task.taskId, ['FAILED']);
    const { task: retried } = await arcResult(
      arcd.url,
      'task.retry',
      { taskId: task.taskId },
      options,
    );
    expect(retried.status).not.toBe('FAILED');
    expect(retried).not.toHaveProperty('error');
    const done = await waitForStatus(arcd.url, 'fails-once', task.taskId, ['COMPLETED']);
    expect(done.messages.map((m: WireJson) => m.parts[0].content)).toEqual([
      'job',
      'done on run 2: job',
    ]);
    const runs = await arcResult(arcd.url, 'task.runs', { taskId: task.taskId }, options);
    expect(runs.runs.map((r: WireJson) => r.outcome)).toEqual(['failed', 'completed']);
    const events = await eventNames(arcd.url, 'fails-once', task.taskId);
    expect(events).toEqual(
      expect.arrayContaining(['TASK_FAILED', 'TASK_RETRIED', 'TASK_COMPLETED']),
    );
    expect(events.indexOf('TASK_RETRIED')).toBeGreaterThan(events.indexOf('TASK_FAILED'));
  });

  test('a task failed by its deadline runs again only under a new one (or none)', async () => {
    const arcd = await startArcd({ agents: [slow] });
    const options = { targetAgent: 'waits' };
    const soon = new Date(Date.now() + 300).toISOString();
    const task = await createTask(arcd.url, 'waits', 'job', { deadline: soon }, options);
    const failed = await waitForStatus(arcd.url, 'waits', task.taskId, ['FAILED']);
    expect(failed.error.code).toBe(-42011);
    const kept = await arcCall(arcd.url, 'task.retry', { taskId: task.taskId }, options);
    expect(kept.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'deadline', message: expect.stringContaining(soon) }] },
    });
    const past = { taskId: task.taskId, deadline: '2000-01-01T00:00:00Z' };
    expect((await arcCall(arcd.url, 'task.retry', past, options)).body.error.code).toBe(-32602);
    expect((await taskInfo(arcd.url, 'waits', task.taskId)).status).toBe('FAILED');
    const none = { taskId: task.taskId, deadline: null };
    const { task: retried } = await arcResult(arcd.url, 'task.retry', none, options);
    expect(retried).not.toHaveProperty('deadline');
    await waitForStatus(arcd.url, 'waits', task.taskId, ['WORKING']);
    await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, options);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const again = { taskId: task.taskId, deadline: later };
    const { task: rerun } = await arcResult(arcd.url, 'task.run', again, options);
    expect(rerun).toMatchObject({ status: 'SUBMITTED', deadline: later });
    const running = await waitForStatus(arcd.url, 'waits', task.taskId, ['WORKING']);
    expect(running.deadline).toBe(later);
    await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, options);
  });

  test('only FAILED tasks can be retried: -42006 otherwise', async () => {
    const arcd = await startArcd();
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const reply = await arcCall(arcd.url, 'task.retry', { taskId: task.taskId });
    expect(reply.body.error).toMatchObject({
      code: -42006,
      details: { taskId: task.taskId, currentStatus: 'COMPLETED' },
    });
    expect((await arcCall(arcd.url, 'task.retry', {})).body.error.code).toBe(-32602);
  });
});

describe('task.delete', () => {
  test('removes a finished task and everything it owns; live tasks answer -42006', async () => {
    const arcd = await startArcd({ agents: [slow] });
    const live = await createTask(arcd.url, 'waits', 'x', {}, { targetAgent: 'waits' });
    const refused = await arcCall(
      arcd.url,
      'task.delete',
      { taskId: live.taskId },
      { targetAgent: 'waits' },
    );
    expect(refused.body.error).toMatchObject({ code: -42006, details: { taskId: live.taskId } });

    const done = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', done.taskId, ['COMPLETED']);
    await arcResult(arcd.url, 'task.subscribe', {
      taskId: done.taskId,
      callbackUrl: 'https://example.com/hook',
    });
    const deleted = await arcResult(arcd.url, 'task.delete', { taskId: done.taskId });
    expect(deleted).toEqual({ type: 'deleted', taskId: done.taskId, status: 'COMPLETED' });
    expect((await arcCall(arcd.url, 'task.info', { taskId: done.taskId })).body.error.code).toBe(
      -42001,
    );
    const db = new Database(arcd.db, { readonly: true });
    for (const table of ['messages', 'events', 'runs', 'subscriptions', 'deliveries']) {
      const row = db
        .prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE task_id = ?`)
        .get(done.taskId);
      expect({ table, ...(row as object) }).toEqual({ table, n: 0 });
    }
    db.close();
    const again = await arcCall(arcd.url, 'task.delete', { taskId: done.taskId });
    expect(again.body.error.code).toBe(-42001);
  });
});

describe('owed webhook deliveries', () => {
  const config = { webhookAllowlist: '127.0.0.1', webhookPollMs: 25, webhookScheduleMs: '0,60000' };

  /** A finished echo task with a subscriber whose receiver is down: its deliveries pending. */
  async function owingTask(url: string): Promise<string> {
    const receiver = await startReceiver(() => ({ status: 503 }));
    const done = await createTask(url, 'echo', 'x');
    await waitForStatus(url, 'echo', done.taskId, ['COMPLETED']);
    await arcResult(url, 'task.subscribe', {
      taskId: done.taskId,
      callbackUrl: receiver.url,
      replay: true,
    });
    await waitFor('a failed attempt', async () => receiver.received.length > 0 || undefined);
    return done.taskId;
  }

  test('task.delete refuses a task still owing deliveries (-42006) unless forced', async () => {
    const arcd = await startArcd({ config });
    const taskId = await owingTask(arcd.url);
    const refused = await arcCall(arcd.url, 'task.delete', { taskId });
    expect(refused.body.error).toMatchObject({
      code: -42006,
      details: { taskId, pendingDeliveries: expect.any(Number) },
    });
    expect(refused.body.error.details.pendingDeliveries).toBeGreaterThan(0);
    expect((await taskInfo(arcd.url, 'echo', taskId)).status).toBe('COMPLETED');
    const bad = await arcCall(arcd.url, 'task.delete', { taskId, force: 'yes' });
    expect(bad.body.error).toMatchObject({ code: -32602 });
    const forced = await arcResult(arcd.url, 'task.delete', { taskId, force: true });
    expect(forced).toMatchObject({ type: 'deleted', taskId });
  });

  test('the retention purge leaves a task owing deliveries until they end', async () => {
    const arcd = await startArcd({ config: { ...config, retentionDays: 7 } });
    const taskId = await owingTask(arcd.url);
    const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
    const db = new Database(arcd.db);
    db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id = ?').run(longAgo, taskId);
    expect(await arcd.server.retention.purge()).toBe(0);
    expect((await taskInfo(arcd.url, 'echo', taskId)).status).toBe('COMPLETED');
    db.prepare("UPDATE deliveries SET status = 'dead' WHERE task_id = ?").run(taskId);
    db.close();
    expect(await arcd.server.retention.purge()).toBe(1);
  });
});

/**
 * An arcd purging after 7 days, and a finished echo task last changed 8 days ago; the file
 * open beside it (the caller closes it).
 */
async function agedTask() {
  const arcd = await startArcd({ config: { retentionDays: 7 } });
  const done = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', done.taskId, ['COMPLETED']);
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id = ?').run(longAgo, done.taskId);
  return { arcd, done, db, longAgo };
}

test("the retention purge leaves a task whose agent's stopped hook is owed, one retention period more at most", async () => {
  const { arcd, done, db } = await agedTask();
  // As a process not hosting the task's agent leaves it when it ends the task.
  db.prepare(
    "INSERT INTO stops_owed (task_id, agent, cause) VALUES (?, 'elsewhere', 'canceled')",
  ).run(done.taskId);
  expect(await arcd.server.retention.purge()).toBe(0);
  expect((await taskInfo(arcd.url, 'echo', done.taskId)).status).toBe('COMPLETED');
  // Held one retention period more at most (its agent may be hosted nowhere any more).
  const twiceAgo = new Date(Date.now() - 15 * 86_400_000).toISOString();
  db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id = ?').run(twiceAgo, done.taskId);
  db.close();
  expect(await arcd.server.retention.purge()).toBe(1);
});

test("the retention purge sheds a long event history a slice at a time, over batches, within each batch's budget", async () => {
  const { arcd, done, db, longAgo } = await agedTask();
  db.prepare(
    `WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4500)
    INSERT INTO events (task_id, seq, event_id, type, data, created_at)
      SELECT ?, 1000 + i, 'evt-' || i, 'STATUS_CHANGE', '{}', ? FROM n`,
  ).run(done.taskId, longAgo);
  const events = () =>
    (
      db.prepare('SELECT COUNT(*) AS n FROM events WHERE task_id = ?').get(done.taskId) as {
        n: number;
      }
    ).n;
  const before = events();
  const cutoff = new Date(Date.now() - 7 * 86_400_000).toISOString();
  // No budget at all: one slice of its events a batch, the task itself (with its messages)
  // with the last, short one.
  const { store } = arcd.server;
  expect(await store.purgeFinished(cutoff, 200, 0)).toEqual({ deleted: 0, more: true });
  expect(events()).toBe(before - 2_000);
  let batches = 1;
  for (;;) {
    batches += 1;
    const batch = await store.purgeFinished(cutoff, 200, 0);
    if (batch.deleted > 0) break;
    expect(batch.more).toBe(true);
  }
  db.close();
  expect(batches).toBe(3);
  expect((await arcCall(arcd.url, 'task.info', { taskId: done.taskId })).body.error.code).toBe(
    -42001,
  );
});

test('retention purges finished tasks past their age, and only those', async () => {
  const arcd = await startArcd({ agents: [slow], config: { retentionDays: 7 } });
  const old = await createTask(arcd.url, 'echo', 'old');
  const recent = await createTask(arcd.url, 'echo', 'recent');
  const live = await createTask(arcd.url, 'waits', 'live', {}, { targetAgent: 'waits' });
  await waitForStatus(arcd.url, 'echo', old.taskId, ['COMPLETED']);
  await waitForStatus(arcd.url, 'echo', recent.taskId, ['COMPLETED']);
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id IN (?, ?)').run(
    longAgo,
    old.taskId,
    live.taskId,
  );
  db.close();
  expect(await arcd.server.retention.purge()).toBe(1);
  expect((await arcCall(arcd.url, 'task.info', { taskId: old.taskId })).body.error.code).toBe(
    -42001,
  );
  expect((await taskInfo(arcd.url, 'echo', recent.taskId)).status).toBe('COMPLETED');
  expect((await taskInfo(arcd.url, 'waits', live.taskId)).status).toBe('WORKING');
});

test('retention purges chats closed past their age with their messages, and only those', async () => {
  const arcd = await startArcd({ config: { retentionDays: 7 } });
  const start = async () =>
    (await arcResult(arcd.url, 'chat.start', { initialMessage: textMessage('hi') })).chat.chatId;
  const [old, recent, open, idle] = [await start(), await start(), await start(), await start()];
  for (const chatId of [old, recent]) await arcResult(arcd.url, 'chat.end', { chatId });
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE chats SET closed_at = ?, updated_at = ? WHERE chat_id = ?').run(
    longAgo,
    longAgo,
    old,
  );
  db.prepare('UPDATE chats SET updated_at = ? WHERE chat_id = ?').run(longAgo, idle);
  await arcd.server.retention.purge();
  const { store } = arcd.server;
  expect(await store.getChat(old)).toBeUndefined();
  const left = db.prepare('SELECT COUNT(*) AS n FROM chat_messages WHERE chat_id = ?').get(old);
  expect(left).toEqual({ n: 0 });
  db.close();
  for (const chatId of [recent, open, idle]) {
    expect(await store.getChat(chatId)).toBeDefined(); // closed lately, or still open
    expect(await store.listChatMessages(chatId)).toHaveLength(2);
  }
});

test("a closed chat's long history goes a slice a batch, the chat with the last", async () => {
  const arcd = await startArcd({ config: { retentionDays: 7 } });
  const { chat } = await arcResult(arcd.url, 'chat.start', { initialMessage: textMessage('hi') });
  await arcResult(arcd.url, 'chat.end', { chatId: chat.chatId });
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE chats SET closed_at = ?, updated_at = ? WHERE chat_id = ?').run(
    longAgo,
    longAgo,
    chat.chatId,
  );
  db.prepare(
    `WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
    INSERT INTO chat_messages (chat_id, seq, role, parts, timestamp)
      SELECT ?, 1000 + i, 'user', '[]', ? FROM n`,
  ).run(chat.chatId, longAgo);
  db.close();
  const cutoff = new Date(Date.now() - 7 * 86_400_000).toISOString();
  const { store } = arcd.server;
  // No budget: one slice, then the rest with the chat.
  expect(await store.purgeClosedChats(cutoff, 50, 0)).toEqual({ deleted: 0, more: true });
  expect(await store.getChat(chat.chatId)).toBeDefined();
  expect(await store.purgeClosedChats(cutoff, 50, 0)).toEqual({ deleted: 1, more: true });
  expect(await store.getChat(chat.chatId)).toBeUndefined();
});

describe('task.run', () => {
  const adder = defineAgent({
    id: 'adder',
    description: 'adds a and b from its DataPart',
    handle(ctx) {
      const data = ctx.input[0]?.parts.find((p) => p.type === 'DataPart')?.content as {
        a: number;
        b: number;
      };
      return `${ctx.text()}: ${data.a + data.b}`;
    },
  });
  const options = { targetAgent: 'adder' };

  test("a run again starts without the last run's progress and status text", async () => {
    const reporting = defineAgent({
      id: 'reports',
      description: 'reports progress, then completes',
      async handle(ctx) {
        await ctx.progress(1);
        await ctx.setStatus('all done');
      },
    });
    const on = { targetAgent: 'reports' };
    const arcd = await startArcd({ agents: [reporting], bundled: false });
    const task = await createTask(arcd.url, 'reports', 'go', {}, on);
    const done = await waitForStatus(arcd.url, 'reports', task.taskId, ['COMPLETED'], on);
    expect(done).toMatchObject({ progress: 1, internalStatus: 'all done' });
    await arcd.server.runner.stop(); // the new run stays queued, as it is when restarted
    const { task: rerun } = await arcResult(arcd.url, 'task.run', { taskId: task.taskId }, on);
    expect(rerun.status).toBe('SUBMITTED');
    expect(rerun).not.toHaveProperty('progress');
    expect(rerun).not.toHaveProperty('internalStatus');
    // The new run has not started: no start time (a checkpoint of the last run is not its).
    expect((await arcd.server.store.getTask(task.taskId))?.startedAt).toBeUndefined();
    expect(await taskInfo(arcd.url, 'reports', task.taskId, on)).not.toHaveProperty('progress');
  });

  test('runs a finished task again with input merged into its DataPart; history and runs stay', async () => {
    const arcd = await startArcd({ agents: [adder], bundled: false });
    const { task } = await arcResult(
      arcd.url,
      'task.create',
      {
        initialMessage: {
          role: 'user',
          parts: [
            { type: 'TextPart', content: 'sum' },
            { type: 'DataPart', content: { a: 1, b: 2 } },
          ],
        },
      },
      options,
    );
    await waitForStatus(arcd.url, 'adder', task.taskId, ['COMPLETED'], options);
    const rerun = await arcResult(
      arcd.url,
      'task.run',
      { taskId: task.taskId, input: { b: 10 } },
      options,
    );
    expect(rerun.task.status).toBe('SUBMITTED');
    expect(rerun.task).not.toHaveProperty('completedAt');
    const done = await waitForStatus(arcd.url, 'adder', task.taskId, ['COMPLETED'], options);
    expect(done.messages.map((m: WireJson) => [m.role, m.parts.at(-1).content])).toEqual([
      ['user', { a: 1, b: 2 }],
      ['agent', 'sum: 3'],
      ['user', { a: 1, b: 10 }],
      ['agent', 'sum: 11'],
    ]);
    const runs = await arcResult(arcd.url, 'task.runs', { taskId: task.taskId }, options);
    expect(runs.runs.map((r: WireJson) => r.outcome)).toEqual(['completed', 'completed']);
    expect(await eventNames(arcd.url, 'adder', task.taskId)).toContain('TASK_RERUN');

    const replaced = await arcResult(
      arcd.url,
      'task.run',
      {
        taskId: task.taskId,
        message: {
          role: 'user',
          parts: [
            { type: 'TextPart', content: 'total' },
            { type: 'DataPart', content: { a: 5, b: 5 } },
          ],
        },
      },
      options,
    );
    expect(replaced.task.status).toBe('SUBMITTED');
    const again = await waitForStatus(arcd.url, 'adder', task.taskId, ['COMPLETED'], options);
    expect(again.messages.at(-1).parts[0].content).toBe('total: 10');
  });

  test('a live task cannot be run again; bad params are -32602', async () => {
    const arcd = await startArcd({ agents: [slow] });
    const live = await createTask(arcd.url, 'waits', 'x', {}, { targetAgent: 'waits' });
    const reply = await arcCall(
      arcd.url,
      'task.run',
      { taskId: live.taskId },
      { targetAgent: 'waits' },
    );
    expect(reply.body.error).toMatchObject({ code: -42006, details: { currentStatus: 'WORKING' } });
    const bad = await arcCall(
      arcd.url,
      'task.run',
      { taskId: live.taskId, input: [1] },
      { targetAgent: 'waits' },
    );
    expect(bad.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'input' }] },
    });
    await arcResult(arcd.url, 'task.cancel', { taskId: live.taskId }, { targetAgent: 'waits' });
    const canceled = await arcResult(
      arcd.url,
      'task.run',
      { taskId: live.taskId },
      { targetAgent: 'waits' },
    );
    expect(canceled.task).not.toHaveProperty('canceledAt');
    await waitForStatus(arcd.url, 'waits', live.taskId, ['WORKING'], { targetAgent: 'waits' });
  });
});
