/**
 * Two servers on one database file: a cancel the other one stores aborts the turn running
 * here, found by the lease heartbeat (a deadline the other one enforces is found the same way).
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import { arcResult, createTask, startArcd, waitFor, waitForStatus } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

function holder(seen: string[]) {
  return defineAgent({
    id: 'holder',
    description: 'holds its turn until aborted; says why it stopped',
    async handle(ctx) {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      seen.push(String((ctx.signal.reason as Error).message));
      await ctx.reply('too late').catch((error: Error) => seen.push(`reply: ${error.message}`));
    },
  });
}

const on = { targetAgent: 'holder' };

async function pair(seen: string[]) {
  const db = tempDbFile();
  // `here` runs the turns; `there` only takes calls (its poll never comes round in a test).
  const here = await startArcd({ db, agents: [holder(seen)], config: { leaseMs: 300 } });
  const there = await startArcd({ db, agents: [holder([])], config: { pollMs: 3_600_000 } });
  return { here, there };
}

test('a cancel stored by another process aborts the turn running here', async () => {
  const seen: string[] = [];
  const { here, there } = await pair(seen);
  const task = await createTask(here.url, 'holder', 'hold', {}, on);
  await waitForStatus(here.url, 'holder', task.taskId, ['WORKING'], on);
  await arcResult(
    there.url,
    'task.cancel',
    { taskId: task.taskId, reason: 'no longer needed' },
    on,
  );
  await waitFor('the handler aborted', async () => (seen.length >= 2 ? seen : undefined));
  expect(seen[0]).toBe('no longer needed');
  expect(seen[1]).toMatch(/^reply: /);
  const runs = await waitFor('the run ended', async () => {
    const all = await here.server.store.listRuns(task.taskId);
    return all.every((run) => run.outcome !== 'running') ? all : undefined;
  });
  expect(runs.map((run) => run.outcome)).toEqual(['canceled']);
  expect(here.server.runner.activeTurns).toBe(0);
});

test('a deadline failure another process stored aborts the turn running here', async () => {
  const seen: string[] = [];
  const { here } = await pair(seen);
  const task = await createTask(here.url, 'holder', 'hold', {}, on);
  await waitForStatus(here.url, 'holder', task.taskId, ['WORKING'], on);
  // What another process's deadline sweep writes (the test's clock has no deadline due here).
  const sql = new Database(here.db);
  sql
    .prepare(
      `UPDATE tasks SET status = 'FAILED', pending_turn = 0, reason = 'deadline exceeded',
        error = '{"code":-42011,"message":"deadline exceeded"}' WHERE task_id = ?`,
    )
    .run(task.taskId);
  sql.close();
  await waitFor('the handler aborted', async () => (seen.length >= 1 ? seen : undefined));
  expect(seen[0]).toBe('deadline exceeded');
  await waitFor('the turn over', async () =>
    here.server.runner.activeTurns === 0 ? true : undefined,
  );
});
