/**
 * Queries that must not read a whole table, by their plans: a task's delete cascading into its
 * subscriptions, and the multi-agent catch-up's look for families to settle.
 */
import Database from 'better-sqlite3';
import { migrate } from '../../src/store/migrate';

function planOf(db: Database.Database, sql: string, ...params: unknown[]): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>)
    .map((row) => row.detail)
    .join('\n');
}

let db: Database.Database;
beforeEach(() => {
  db = new Database(':memory:');
  migrate(db);
});
afterEach(() => db.close());

test("a task's subscriptions are found by its id (as its delete's cascade finds them)", () => {
  const plan = planOf(db, 'DELETE FROM subscriptions WHERE task_id = ?', 't');
  expect(plan).toMatch(/USING (COVERING )?INDEX subscriptions_by_task \(task_id=\?\)/);
  const active = planOf(db, 'SELECT * FROM subscriptions WHERE task_id = ? AND active = 1', 't');
  expect(active).toMatch(/INDEX subscriptions_by_task \(task_id=\? AND active=\?\)/);
});

test('the catch-up finds live parents and live children by their own indexes', () => {
  const plan = planOf(
    db,
    `SELECT task_id FROM (
        SELECT task_id FROM tasks WHERE child_task_ids IS NOT NULL
          AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED') AND task_id > ?
        UNION
        SELECT parent_task_id FROM tasks WHERE parent_task_id IS NOT NULL
          AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED') AND parent_task_id > ?
      ) ORDER BY task_id LIMIT ?`,
    '',
    '',
    10,
  );
  expect(plan).toMatch(/INDEX tasks_live_parents \(task_id>\?\)/);
  expect(plan).toMatch(/INDEX tasks_live_children \(parent_task_id>\?\)/);
  expect(plan).not.toMatch(/SCAN tasks(?! USING)/);
});
