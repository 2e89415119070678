/**
 * Owed stopped hooks as stored (migration 0020): taken under a lease one process at a time,
 * taken again once a lease lapses (a taker that died), and deleted only by their holder.
 */
import { SqliteStore } from '../../src/store/sqliteStore';
import * as changes from '../../src/tasks/changes';
import { tempDbFile } from '../helpers/tempDb';

function storeWithOwedStops(...rows: Array<[taskId: string, agent: string]>) {
  const store = new SqliteStore(tempDbFile(), { writerThread: false });
  const task = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at)
    VALUES (?, 'CANCELED', 'NORMAL', 1, ?, 'me', '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z')`);
  const owed = store.db.prepare(
    "INSERT INTO stops_owed (task_id, agent, cause) VALUES (?, ?, 'canceled')",
  );
  for (const [taskId, agent] of rows) {
    task.run(taskId, agent);
    owed.run(taskId, agent);
  }
  return store;
}

test('an owed stop is taken by one process at a time, and again once its lease lapses', async () => {
  const store = storeWithOwedStops(['t1', 'alpha'], ['t2', 'beta']);
  const first = await store.takeOwedStops(['alpha'], 'p1', 1_000, 31_000, 10);
  expect(first).toEqual([{ taskId: 't1', agent: 'alpha', cause: 'canceled', holder: 'p1 1' }]);
  // Held by p1: neither a sweep nor a take of that one task gets it.
  expect(await store.takeOwedStops(['alpha', 'beta'], 'p2', 2_000, 32_000, 10)).toEqual([
    { taskId: 't2', agent: 'beta', cause: 'canceled', holder: 'p2 2' },
  ]);
  expect(await store.takeOwedStop('t1', 'p2', 2_000, 32_000)).toBeUndefined();
  // p1 died without telling it: once its lease has lapsed, p2 takes it.
  expect(await store.takeOwedStop('t1', 'p2', 31_001, 61_001)).toMatchObject({ taskId: 't1' });
  // Only its holder deletes it: p1's take is not p2's.
  const p1Take = first[0]!;
  await store.stopTold(p1Take);
  expect(
    store.db.prepare("SELECT COUNT(*) AS n FROM stops_owed WHERE task_id = 't1'").get(),
  ).toEqual({ n: 1 });
  const p2Take = (await store.takeOwedStop('t1', 'p2', 61_002, 91_002))!;
  expect(p2Take).toBeDefined();
  await store.stopTold(p2Take);
  const left = store.db.prepare('SELECT task_id FROM stops_owed ORDER BY task_id').all();
  expect(left).toEqual([{ task_id: 't2' }]);
  await store.close();
});

test('a sweep takes at most its batch, and nothing for agents hosted nowhere here', async () => {
  const store = storeWithOwedStops(['t1', 'alpha'], ['t2', 'alpha'], ['t3', 'alpha']);
  expect(await store.takeOwedStops(['alpha'], 'p1', 0, 30_000, 2)).toHaveLength(2);
  expect(await store.takeOwedStops(['gamma'], 'p1', 0, 30_000, 10)).toEqual([]);
  expect(await store.takeOwedStops([], 'p1', 0, 30_000, 10)).toEqual([]);
  expect(await store.takeOwedStops(['alpha'], 'p1', 0, 30_000, 10)).toHaveLength(1);
  await store.close();
});

test("a row whose task another process's turn leases waits for that lease to go or lapse", async () => {
  const store = storeWithOwedStops(['t1', 'alpha']);
  const lease = store.db.prepare(
    "UPDATE tasks SET lease_owner = ?, lease_until = ? WHERE task_id = 't1'",
  );
  lease.run('p9', 50_000);
  expect(await store.takeOwedStops(['alpha'], 'p1', 1_000, 31_000, 10)).toEqual([]);
  expect(await store.takeOwedStop('t1', 'p1', 1_000, 31_000)).toBeUndefined();
  // The taker's own turn holds it: taken (it checks whether its handler still runs).
  expect(await store.takeOwedStop('t1', 'p9', 1_000, 31_000)).toMatchObject({ taskId: 't1' });
  lease.run('p9', 50_000);
  // p9 died: once its task lease and its hold on the row have lapsed, p1 takes it.
  expect(await store.takeOwedStops(['alpha'], 'p1', 50_001, 80_001, 10)).toHaveLength(1);
  await store.close();
});

test('a task run again is owed no hook for its earlier end', async () => {
  const store = storeWithOwedStops(['t1', 'alpha']);
  store.db.prepare("UPDATE tasks SET status = 'FAILED' WHERE task_id = 't1'").run();
  const at = '2026-01-02T00:00:00.000Z';
  await store.mutateTask('t1', (task) => changes.retried(task, at, 'me', undefined));
  expect(store.db.prepare('SELECT COUNT(*) AS n FROM stops_owed').get()).toEqual({ n: 0 });
  await store.close();
});

test('a sweep finding only held stops writes nothing (no transaction) until a hold lapses', async () => {
  const store = storeWithOwedStops(['t1', 'alpha']);
  await store.takeOwedStops(['alpha'], 'p1', 1_000, 31_000, 10);
  const exclusive = jest.spyOn(store as unknown as { exclusive: () => unknown }, 'exclusive');
  expect(await store.takeOwedStops(['alpha'], 'p2', 2_000, 32_000, 10)).toEqual([]);
  expect(exclusive).not.toHaveBeenCalled();
  expect(await store.takeOwedStops(['alpha'], 'p2', 31_001, 61_001, 10)).toHaveLength(1);
  expect(exclusive).toHaveBeenCalledTimes(1);
  await store.close();
});
