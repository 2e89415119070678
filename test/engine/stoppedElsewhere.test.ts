/**
 * Two servers on one database file: a cancel the other one stores aborts the turn running
 * here, found by the lease heartbeat (a deadline the other one enforces is found the same way).
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
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

/** A turn running in `here`, and another process's write to its task's row (`set`, SQL). */
async function writtenElsewhere(seen: string[], set: string) {
  const { here } = await pair(seen);
  const task = await createTask(here.url, 'holder', 'hold', {}, on);
  await waitForStatus(here.url, 'holder', task.taskId, ['WORKING'], on);
  const sql = new Database(here.db);
  sql.prepare(`UPDATE tasks SET ${set} WHERE task_id = ?`).run(task.taskId);
  sql.close();
  return { here, task };
}

/** The task's runs once none is running any more. */
function endedRuns(arcd: Running, taskId: string) {
  return waitFor('the run ended', async () => {
    const all = await arcd.server.store.listRuns(taskId);
    return all.every((run) => run.outcome !== 'running') ? all : undefined;
  });
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
  const runs = await endedRuns(here, task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['canceled']);
  // The runner lets the turn go just after its end is written.
  await waitFor('the turn let go', async () =>
    here.server.runner.activeTurns === 0 ? true : undefined,
  );
});

test('a deadline failure another process stored aborts the turn running here', async () => {
  const seen: string[] = [];
  // What another process's deadline sweep writes (the test's clock has no deadline due here).
  const { here } = await writtenElsewhere(
    seen,
    `status = 'FAILED', pending_turn = 0, reason = 'deadline exceeded',
      error = '{"code":-42011,"message":"deadline exceeded"}'`,
  );
  await waitFor('the handler aborted', async () => (seen.length >= 1 ? seen : undefined));
  expect(seen[0]).toBe('deadline exceeded');
  await waitFor('the turn over', async () =>
    here.server.runner.activeTurns === 0 ? true : undefined,
  );
});

test('a turn another process took over after its lease lapsed, and finished, is stopped here', async () => {
  const seen: string[] = [];
  // What another process writes: it claimed the lapsed turn, ran it and completed the task
  // (its completion lets the lease go). Nothing is canceled, failed or live-leased elsewhere.
  const { here } = await writtenElsewhere(
    seen,
    `status = 'COMPLETED', pending_turn = 0, lease_owner = NULL, lease_until = NULL`,
  );
  await waitFor('the handler aborted', async () => (seen.length >= 1 ? seen : undefined));
  expect(seen[0]).toBe("the turn's lease is no longer this process's");
  await waitFor('the turn over', async () =>
    here.server.runner.activeTurns === 0 ? true : undefined,
  );
});

test('a turn whose lease cannot be renewed is stopped before the lease lapses', async () => {
  const seen: string[] = [];
  let abortedAt = 0;
  const timed = defineAgent({
    id: 'holder',
    description: 'holds its turn until aborted; notes when',
    async handle(ctx) {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      abortedAt = Date.now();
      seen.push(String((ctx.signal.reason as Error).message));
    },
  });
  // No poll comes round to claim the lapsed turn again (that would stop it too, as lapsed).
  // Heartbeats a second apart: the last before the lease lapses has a second to spare.
  const here = await startArcd({
    agents: [timed],
    config: { leaseMs: 3_000, pollMs: 3_600_000 },
  });
  jest
    .spyOn(here.server.store, 'renewLeases')
    .mockRejectedValue(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
  const task = await createTask(here.url, 'holder', 'hold', {}, on);
  await waitForStatus(here.url, 'holder', task.taskId, ['WORKING'], on);
  const { leaseUntil } = (await here.server.store.getTask(task.taskId))!;
  await waitFor('the handler aborted', async () => (seen.length >= 1 ? seen : undefined));
  expect(seen[0]).toBe('its lease could not be renewed: it lapses before the next try');
  // Stopped while the lease still held, with time to return before another process may
  // claim the turn (not once it had lapsed: then two handlers could run at once).
  expect(abortedAt).toBeLessThan(leaseUntil!);
});

test('a task canceled and run again by another process within a heartbeat stops the old turn here', async () => {
  const seen: string[] = [];
  let turns = 0;
  const again = defineAgent({
    id: 'again',
    description: 'its first turn holds until aborted and tries a late reply; later ones answer',
    async handle(ctx) {
      turns += 1;
      if (turns > 1) return 'fresh';
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      seen.push(String((ctx.signal.reason as Error).message));
      await ctx.reply('stale').catch((error: Error) => seen.push(`reply: ${error.message}`));
      return undefined;
    },
  });
  const db = tempDbFile();
  const here = await startArcd({ db, agents: [again], config: { leaseMs: 600 } });
  const there = await startArcd({ db, agents: [again], config: { pollMs: 3_600_000 } });
  const on = { targetAgent: 'again' };
  const task = await createTask(here.url, 'again', 'go', {}, on);
  await waitForStatus(here.url, 'again', task.taskId, ['WORKING'], on);
  // Both between two of here's heartbeats: here never sees the task CANCELED.
  const store = here.server.store;
  const look = store.stoppedElsewhere.bind(store);
  let between = true;
  jest
    .spyOn(store, 'stoppedElsewhere')
    .mockImplementation(async (...args) => (between ? [] : look(...args)));
  await arcResult(there.url, 'task.cancel', { taskId: task.taskId }, on);
  await arcResult(there.url, 'task.run', { taskId: task.taskId }, on);
  between = false;
  const done = await waitForStatus(here.url, 'again', task.taskId, ['COMPLETED'], on);
  expect(
    done.messages.map((m: { parts: Array<{ content: string }> }) => m.parts[0]?.content),
  ).toEqual(['go', 'go', 'fresh']); // the run again sends its first message again
  expect(seen[0]).toBe('the task was queued again by another process');
  expect(seen[1]).toMatch(/^reply: /);
  const runs = await here.server.store.listRuns(task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['interrupted', 'completed']);
});

test('a turn whose lease another process holds now is stopped here', async () => {
  const seen: string[] = [];
  // What a claim elsewhere writes once this process's lease lapsed (its event loop stalled).
  const { here, task } = await writtenElsewhere(seen, "lease_owner = 'runner-elsewhere'");
  await waitFor('the handler aborted', async () => (seen.length >= 2 ? seen : undefined));
  expect(seen[0]).toBe('the turn is leased by another process now');
  expect(seen[1]).toMatch(/^reply: /);
  const runs = await endedRuns(here, task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['interrupted']);
});

test('a claim here of a turn still running here (its lease lapsed) never runs two handlers', async () => {
  const seen: string[] = [];
  let active = 0;
  let most = 0;
  const lapsing = defineAgent({
    id: 'lapsing',
    description: 'its first turn holds until aborted; later ones answer',
    async handle(ctx) {
      active += 1;
      most = Math.max(most, active);
      try {
        if (seen.length > 0) return 'fresh';
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        seen.push(String((ctx.signal.reason as Error).message));
        // Winding down: the task stays leased here (no other process may run it meanwhile).
        await new Promise((resolve) => setTimeout(resolve, 200));
        const sql = new Database(arcd.db, { readonly: true });
        leasedWhileWinding = (
          sql.prepare('SELECT lease_owner FROM tasks').get() as { lease_owner: string | null }
        ).lease_owner;
        sql.close();
        return undefined;
      } finally {
        active -= 1;
      }
    },
  });
  let leasedWhileWinding: string | null = null;
  const arcd = await startArcd({ agents: [lapsing], config: { leaseMs: 300 } });
  // The heartbeat stalls (an event loop blocked longer than the lease): no renewal.
  jest.spyOn(arcd.server.store, 'renewLeases').mockResolvedValue([]);
  const on = { targetAgent: 'lapsing' };
  const task = await createTask(arcd.url, 'lapsing', 'go', {}, on);
  const done = await waitForStatus(arcd.url, 'lapsing', task.taskId, ['COMPLETED'], on);
  expect(done.messages.at(-1).parts[0].content).toBe('fresh');
  expect(seen).toEqual(["the turn's lease lapsed"]);
  expect(most).toBe(1);
  expect(leasedWhileWinding).toBe(arcd.server.runner.owner);
  // The lapsed turn's run records its own end, not "lost with its process" (which would
  // count toward --lost-turn-limit), and the claim began no run of its own beside it.
  const runs = await endedRuns(arcd, task.taskId);
  expect(runs.map((run) => [run.outcome, run.error?.message])).toEqual([
    ['interrupted', undefined],
    ['completed', undefined],
  ]);
});

test("a turn's own records are refused once its task is not held by it, before any heartbeat", async () => {
  let go: () => void = () => undefined;
  const told = new Promise<void>((resolve) => (go = resolve));
  const refused: string[] = [];
  const recorder = defineAgent({
    id: 'recorder',
    description: 'waits for the test, then records what it can',
    async handle(ctx) {
      await told;
      const attempts: Array<[string, () => Promise<void>]> = [
        ['checkpoint', () => ctx.checkpoint({ step: 1 })],
        ['usage', () => ctx.reportUsage({ tokens: 5 })],
        ['status', () => ctx.setStatus('late')],
        ['progress', () => ctx.progress(0.9)],
      ];
      for (const [what, attempt] of attempts) {
        await attempt().catch((error: Error) => refused.push(`${what}: ${error.message}`));
      }
    },
  });
  // A heartbeat an hour away: only the writes' own check can refuse them.
  const here = await startArcd({ agents: [recorder], config: { leaseMs: 3_600_000 } });
  const own = { targetAgent: 'recorder' };
  const task = await createTask(here.url, 'recorder', 'go', {}, own);
  await waitForStatus(here.url, 'recorder', task.taskId, ['WORKING'], own);
  // Another process took the turn over (its lease lapsed, say).
  const sql = new Database(here.db);
  sql
    .prepare("UPDATE tasks SET lease_owner = 'elsewhere', lease_until = ? WHERE task_id = ?")
    .run(Date.now() + 3_600_000, task.taskId);
  sql.close();
  go();
  await waitFor('every attempt', async () => (refused.length === 4 ? true : undefined));
  expect(refused).toEqual(
    ['checkpoint', 'usage', 'status', 'progress'].map(
      (what) => `${what}: the task is no longer held by this turn`,
    ),
  );
  const info = await here.server.store.getTask(task.taskId);
  expect(info).toMatchObject({ tokensUsed: 0 });
  expect(info?.progress).toBeUndefined();
  expect(info?.internalStatus).toBeUndefined();
  expect(await here.server.store.lastCheckpoint(task.taskId)).toBeUndefined();
});
