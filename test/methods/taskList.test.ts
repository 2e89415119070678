/**
 * task.list: filters, newest-first keyset pagination that stays stable while tasks are being
 * created, the caller's own tasks only, bad input, and the index its query walks.
 */
import Database from 'better-sqlite3';
import { migrate } from '../../src/store/migrate';
import { taskListSql } from '../../src/store/taskListQuery';
import { arcCall, arcResult, createTask, startArcd, waitForStatus } from '../helpers/arcServer';

test('filters by status, priority, agent, time and metadata', async () => {
  const arcd = await startArcd();
  const a = await createTask(arcd.url, 'echo', 'a', {
    priority: 'HIGH',
    metadata: { team: 'red', n: 1 },
  });
  const b = await createTask(
    arcd.url,
    'flaky',
    'b',
    { metadata: { team: 'blue' } },
    { targetAgent: 'flaky' },
  );
  await waitForStatus(arcd.url, 'echo', a.taskId, ['COMPLETED']);
  await waitForStatus(arcd.url, 'flaky', b.taskId, ['FAILED']);
  const ids = async (params: Record<string, unknown>) =>
    (await arcResult(arcd.url, 'task.list', params)).tasks.map((t: { taskId: string }) => t.taskId);
  expect(await ids({})).toEqual([b.taskId, a.taskId]);
  expect(await ids({ status: 'FAILED' })).toEqual([b.taskId]);
  expect(await ids({ status: ['FAILED', 'COMPLETED'] })).toEqual([b.taskId, a.taskId]);
  expect(await ids({ priority: 'HIGH' })).toEqual([a.taskId]);
  expect(await ids({ agent: 'echo' })).toEqual([a.taskId]);
  expect(await ids({ metadata: { team: 'red' } })).toEqual([a.taskId]);
  expect(await ids({ metadata: { team: 'red', n: 1 } })).toEqual([a.taskId]);
  expect(await ids({ metadata: { team: 'green' } })).toEqual([]);
  // Matched by JSON type too: true is not 1, "1" is not 1.
  const t = await createTask(arcd.url, 'echo', 't', { metadata: { n: true, team: 'red' } });
  const s = await createTask(arcd.url, 'echo', 's', { metadata: { n: '1' } });
  expect(await ids({ metadata: { n: 1 } })).toEqual([a.taskId]);
  expect(await ids({ metadata: { n: true } })).toEqual([t.taskId]);
  expect(await ids({ metadata: { n: '1' } })).toEqual([s.taskId]);
  expect(await ids({ metadata: { n: false } })).toEqual([]);
  for (const extra of [s, t]) {
    await waitForStatus(arcd.url, 'echo', extra.taskId, ['COMPLETED']);
    await arcResult(arcd.url, 'task.delete', { taskId: extra.taskId });
  }
  expect(await ids({ createdAfter: '2999-01-01T00:00:00Z' })).toEqual([]);
  expect(await ids({ createdBefore: '2999-01-01T00:00:00Z' })).toHaveLength(2);
  expect(
    (await arcResult(arcd.url, 'task.list', {}, { requestAgent: 'someone-else' })).tasks,
  ).toEqual([]);
  const listed = (await arcResult(arcd.url, 'task.list', { status: 'COMPLETED' })).tasks[0];
  expect(listed).not.toHaveProperty('messages');
});

test('pages are stable while tasks keep arriving', async () => {
  const arcd = await startArcd();
  const created: string[] = [];
  for (let i = 0; i < 25; i += 1)
    created.push((await createTask(arcd.url, 'echo', `t${i}`)).taskId);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await arcResult(arcd.url, 'task.list', {
      limit: 7,
      ...(cursor ? { cursor } : {}),
    });
    seen.push(...page.tasks.map((t: { taskId: string }) => t.taskId));
    cursor = page.nextCursor;
    await createTask(arcd.url, 'echo', 'arrives meanwhile'); // newer: never on later pages
  } while (cursor);
  expect(seen).toEqual([...created].reverse());
});

test('bad limits and cursors are refused', async () => {
  const arcd = await startArcd();
  for (const [params, field] of [
    [{ limit: 201 }, 'limit'],
    [{ status: 'DONE' }, 'status'],
    [{ metadata: { a: { b: 1 } } }, 'metadata.a'],
    [{ statuses: ['FAILED'] }, 'statuses'], // a misspelled filter is refused, not ignored
  ] as const) {
    const reply = await arcCall(arcd.url, 'task.list', params);
    expect(reply.body.error.code).toBe(-32602);
    expect(reply.body.error.details.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
  // A bad priority, alone or in the list form, is ARC's "task priority invalid".
  for (const priority of ['SOON', ['HIGH', 'SOON']]) {
    const reply = await arcCall(arcd.url, 'task.list', { priority });
    expect(reply.body.error).toMatchObject({
      code: -42010,
      details: { supportedPriorities: ['LOW', 'NORMAL', 'HIGH', 'URGENT'] },
    });
  }
  const cursor = await arcCall(arcd.url, 'task.list', { cursor: 'not-a-cursor' });
  expect(cursor.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'cursor' }] },
  });
});

test('the query walks the tasks_list index', () => {
  const db = new Database(':memory:');
  migrate(db);
  const { sql, params } = taskListSql({
    requestAgent: 'me',
    statuses: ['COMPLETED'],
    limit: 50,
    after: { createdAt: '2026-01-01T00:00:00.000Z', taskId: 'task-x' },
  });
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
    .map((r) => r.detail)
    .join('\n');
  expect(plan).toMatch(/USING INDEX tasks_list/);
  expect(plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
  db.close();
});

test("an admin's view of every caller's tasks walks tasks_by_created", () => {
  const db = new Database(':memory:');
  migrate(db);
  const { sql, params } = taskListSql({
    limit: 50,
    after: { createdAt: '2026-01-01T00:00:00.000Z', taskId: 'task-x' },
  });
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
    .map((r) => r.detail)
    .join('\n');
  expect(plan).toMatch(/USING (COVERING )?INDEX tasks_by_created/);
  expect(plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
  db.close();
});
