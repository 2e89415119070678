/**
 * Claims read a bounded number of rows however many tasks wait: the candidate query's plan
 * walks an index in order (no sort of every pending row); a limited agent with a long queue
 * does not keep another agent's turns from being claimed; with limits or without, a claim takes
 * only turns of the agents its process hosts, the most urgent of them first.
 */
import Database from 'better-sqlite3';
import { migrate } from '../../src/store/migrate';
import { SqliteStore } from '../../src/store/sqliteStore';
import { PRIORITY_RANK } from '../../src/store/taskRows';
import type { Priority } from '../../src/types';
import { tempDbFile } from '../helpers/tempDb';

function planOf(db: Database.Database, sql: string, params: Record<string, unknown>): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>)
    .map((row) => row.detail)
    .join('\n');
}

test('the candidate query walks its index in order', () => {
  const db = new Database(':memory:');
  migrate(db);
  const owed = `pending_turn = 1 AND (lease_until IS NULL OR lease_until < @nowMs)
    AND (next_attempt_at IS NULL OR next_attempt_at <= @nowMs)`;
  const perAgent = planOf(
    db,
    `SELECT task_id FROM tasks WHERE assigned_agent = @agent AND ${owed}
     ORDER BY priority_rank DESC, created_at, task_id LIMIT @room`,
    { agent: 'a', nowMs: 0, room: 4 },
  );
  expect(perAgent).toMatch(/USING INDEX tasks_runnable_by_agent \(assigned_agent=\?\)/);
  expect(perAgent).not.toMatch(/TEMP B-TREE/);
  db.close();
});

test('without limits a claim takes the most urgent turns of the hosted agents only', async () => {
  const store = new SqliteStore(tempDbFile());
  const seed = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, pending_turn)
    VALUES (?, 'SUBMITTED', ?, ?, ?, 'me', ?, ?, 1)`);
  const rows: Array<[string, Priority, string, string]> = [
    ['task-a-low', 'LOW', 'alpha', '2026-01-01T00:00:00.000Z'],
    ['task-b-normal-late', 'NORMAL', 'beta', '2026-01-01T00:00:05.000Z'],
    ['task-a-normal', 'NORMAL', 'alpha', '2026-01-01T00:00:01.000Z'],
    ['task-z-urgent', 'URGENT', 'elsewhere', '2026-01-01T00:00:00.000Z'],
    ['task-b-high', 'HIGH', 'beta', '2026-01-01T00:00:09.000Z'],
    ['task-z-normal', 'NORMAL', 'elsewhere', '2026-01-01T00:00:00.000Z'],
  ];
  store.db.transaction(() => {
    for (const [id, priority, agent, at] of rows)
      seed.run(id, priority, PRIORITY_RANK[priority], agent, at, at);
  })();
  const agents = { limits: {}, hosted: ['alpha', 'beta'] };
  const ids = async (limit: number) =>
    (await store.claimTurns('me', limit, Date.now(), 30_000, agents, () => null)).map(
      (t) => t.taskId,
    );
  expect(await ids(3)).toEqual(['task-b-high', 'task-a-normal', 'task-b-normal-late']);
  expect(await ids(8)).toEqual(['task-a-low']); // 'elsewhere' is hosted by no one here
  const left = store.db
    .prepare('SELECT task_id FROM tasks WHERE lease_owner IS NULL ORDER BY task_id')
    .all() as Array<{ task_id: string }>;
  expect(left.map((row) => row.task_id)).toEqual(['task-z-normal', 'task-z-urgent']);
  await store.close();
});

test('a limited agent with a long queue leaves room for the others', async () => {
  const store = new SqliteStore(tempDbFile());
  const at = '2026-01-01T00:00:00.000Z';
  const seed = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, pending_turn)
    VALUES (?, 'SUBMITTED', 'NORMAL', 1, ?, 'me', ?, ?, 1)`);
  store.db.transaction(() => {
    for (let i = 0; i < 2000; i += 1)
      seed.run(`task-busy-${String(i).padStart(5, '0')}`, 'busy', at, at);
    seed.run('task-other-1', 'other', '2026-01-02T00:00:00.000Z', at);
  })();
  const agents = { limits: { busy: 2 }, hosted: ['busy', 'other'] };
  const first = await store.claimTurns('me', 8, Date.now(), 30_000, agents, () => null);
  expect(first.map((t) => t.taskId)).toEqual([
    'task-busy-00000',
    'task-busy-00001',
    'task-other-1',
  ]);
  const second = await store.claimTurns('me', 8, Date.now(), 30_000, agents, () => null);
  expect(second).toEqual([]); // busy is at its limit, other has nothing left
  await store.close();
});

test('two stores on one file claiming at once (claims planned before their batch) never take a turn twice', async () => {
  const file = tempDbFile();
  const a = new SqliteStore(file);
  const b = new SqliteStore(file);
  const at = '2026-01-01T00:00:00.000Z';
  const seed = a.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, pending_turn)
    VALUES (?, 'SUBMITTED', 'NORMAL', 1, 'echo', 'me', ?, ?, 1)`);
  a.db.transaction(() => {
    for (let i = 0; i < 60; i += 1) seed.run(`task-${String(i).padStart(3, '0')}`, at, at);
  })();
  const agents = { limits: {}, hosted: ['echo'] };
  const claimed: Record<string, string[]> = { a: [], b: [] };
  for (let round = 0; round < 12; round += 1) {
    const [byA, byB] = await Promise.all(
      [a, b].map((store, i) =>
        store.claimTurns(i === 0 ? 'a' : 'b', 8, Date.now(), 60_000, agents, () => null),
      ),
    );
    claimed.a!.push(...byA!.map((t) => t.taskId));
    claimed.b!.push(...byB!.map((t) => t.taskId));
  }
  const all = [...claimed.a!, ...claimed.b!];
  expect(new Set(all).size).toBe(all.length); // no turn taken twice
  expect(all.length).toBe(60);
  const owners = a.db
    .prepare('SELECT lease_owner AS owner, COUNT(*) AS n FROM tasks GROUP BY lease_owner')
    .all() as Array<{ owner: string; n: number }>;
  expect(Object.fromEntries(owners.map((row) => [row.owner, row.n]))).toEqual({
    a: claimed.a!.length,
    b: claimed.b!.length,
  });
  await a.close();
  await b.close();
});

test("an agent without a limit of its own is not held back by other processes' leases", async () => {
  const store = new SqliteStore(tempDbFile());
  const at = '2026-01-01T00:00:00.000Z';
  const future = Date.now() + 60_000;
  const seed = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, pending_turn, lease_owner,
    lease_until) VALUES (?, ?, 'NORMAL', 1, ?, 'me', ?, ?, ?, ?, ?)`);
  store.db.transaction(() => {
    // Another process runs eight echo turns (leased, live).
    for (let i = 0; i < 8; i += 1)
      seed.run(`task-held-${i}`, 'WORKING', 'echo', at, at, 0, 'other', future);
    seed.run('task-echo-queued', 'SUBMITTED', 'echo', at, at, 1, null, null);
  })();
  // Some agent (not echo) has a limit, so leases are counted: against that agent's only.
  const agents = { limits: { slow: 1 }, hosted: ['echo', 'slow'] };
  const claimed = await store.claimTurns('me', 8, Date.now(), 30_000, agents, () => null);
  expect(claimed.map((t) => t.taskId)).toEqual(['task-echo-queued']);
  await store.close();
});

test('a lease renewed between a claim reading it as lapsed and its commit: the claim does not take it', async () => {
  const file = tempDbFile();
  const store = new SqliteStore(file);
  const lapsed = Date.now() - 1000;
  store.db
    .prepare(
      `INSERT INTO tasks (task_id, status, priority, priority_rank, assigned_agent, request_agent,
        created_at, updated_at, pending_turn, lease_owner, lease_until)
       VALUES ('task-held', 'WORKING', 'NORMAL', 1, 'alpha', 'me', ?, ?, 1, 'process-a', ?)`,
    )
    .run('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', lapsed);
  const owner = new Database(file);
  owner.pragma('busy_timeout = 5000');
  const claimed = await store.claimTurns(
    'process-b',
    4,
    Date.now(),
    30_000,
    { limits: {}, hosted: ['alpha'] },
    (task) => {
      // Its owner, late but alive, renews the lease while this claim is being planned.
      owner
        .prepare('UPDATE tasks SET lease_until = ? WHERE task_id = ?')
        .run(Date.now() + 30_000, task.taskId);
      return null;
    },
  );
  owner.close();
  expect(claimed).toEqual([]);
  const row = store.db.prepare("SELECT lease_owner FROM tasks WHERE task_id = 'task-held'").get();
  expect(row).toEqual({ lease_owner: 'process-a' });
  await store.close();
});

test("the queue bound counts an agent's own queued tasks, not a multi-agent parent, by its index", async () => {
  const store = new SqliteStore(tempDbFile());
  const seed = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, pending_turn, child_task_ids)
    VALUES (?, 'SUBMITTED', 'NORMAL', 1, 'alpha', 'me', '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z', ?, ?)`);
  seed.run('task-parent', 0, JSON.stringify(['task-child']));
  seed.run('task-child', 1, null);
  expect(await store.countQueued('alpha')).toBe(1);
  // Leaving out tasks held by writes in flight (counted apart): those queued, nothing else.
  expect(await store.countQueued('alpha', ['task-child'])).toBe(0);
  expect(await store.countQueued('alpha', ['task-parent', 'task-unwritten'])).toBe(1);
  const plan = planOf(
    store.db,
    `SELECT COUNT(*) AS n FROM tasks
      WHERE assigned_agent = @agent AND status = 'SUBMITTED' AND child_task_ids IS NULL`,
    { agent: 'alpha' },
  );
  expect(plan).toMatch(/USING COVERING INDEX tasks_queued|USING INDEX tasks_queued/);
  await store.close();
});
