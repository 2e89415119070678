/**
 * A turn whose end can no longer be written as the handler's: the task was canceled by
 * another process while the handler ran (its run says canceled, not completed or retrying),
 * or the handler failed after asking for input that has since come (the next turn runs; the
 * failure neither fails nor delays it); and a claim whose commit is not known.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import type { RunRecord } from '../../src/store/records';
import { WriteOutcomeUnknown } from '../../src/store/writeOutcomeUnknown';
import type { Running } from '../helpers/arcServer';
import {
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

/** A gate the test opens: the handler waits at it. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

async function endedRuns(arcd: Running, taskId: string): Promise<RunRecord[]> {
  return waitFor('the runs ended', async () => {
    const runs = await arcd.server.store.listRuns(taskId);
    return runs.length > 0 && runs.every((run) => run.outcome !== 'running') ? runs : undefined;
  });
}

describe.each(['returns', 'throws with a retry left'])(
  'a handler that %s after another process canceled its task',
  (how) => {
    test('its run is recorded canceled', async () => {
      const held = gate();
      const agent = defineAgent({
        id: 'late',
        description: 'waits at the gate, then ends',
        async handle() {
          await held.opened;
          if (how !== 'returns') throw new Error('failed late');
          return 'done late';
        },
      });
      const db = tempDbFile();
      // `here` runs the turn; its heartbeat (a third of the lease) does not come round in the test.
      const here = await startArcd({ db, agents: [agent], config: { leaseMs: 600_000 } });
      const there = await startArcd({ db, agents: [agent], config: { pollMs: 3_600_000 } });
      const on = { targetAgent: 'late' };
      const task = await createTask(here.url, 'late', 'go', { settings: { maxRetries: 1 } }, on);
      await waitForStatus(here.url, 'late', task.taskId, ['WORKING'], on);
      await arcResult(there.url, 'task.cancel', { taskId: task.taskId }, on);
      held.open();
      const runs = await endedRuns(here, task.taskId);
      expect(runs.map((run) => run.outcome)).toEqual(['canceled']);
      expect((await waitForStatus(here.url, 'late', task.taskId, ['CANCELED'], on)).status).toBe(
        'CANCELED',
      );
    });
  },
);

test('a failure after asking for input that has come leaves the next turn alone', async () => {
  const held = gate();
  let turns = 0;
  const agent = defineAgent({
    id: 'asker',
    description: 'asks, fails late on its first turn; answers on its second',
    async handle(ctx) {
      turns += 1;
      if (turns > 1) return `thanks for ${ctx.text()}`;
      await ctx.requestInput('which?');
      await held.opened;
      throw new Error('failed after asking');
    },
  });
  const arcd = await startArcd({ agents: [agent] });
  const on = { targetAgent: 'asker' };
  const task = await createTask(arcd.url, 'asker', 'go', { settings: { maxRetries: 0 } }, on);
  await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
  await arcResult(arcd.url, 'task.send', { taskId: task.taskId, message: textMessage('B') }, on);
  held.open();
  const done = await waitForStatus(arcd.url, 'asker', task.taskId, ['COMPLETED', 'FAILED'], on);
  expect(done.status).toBe('COMPLETED');
  const runs = await endedRuns(arcd, task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['failed', 'completed']);
});

test('a turn that fails after its lease lapsed (no one took it) records its run as failed', async () => {
  const held = gate();
  const agent = defineAgent({
    id: 'lapsed',
    description: 'waits at the gate, then fails',
    async handle() {
      await held.opened;
      throw new Error('failed after the lease lapsed');
    },
  });
  let skewMs = 0;
  const clock = () => new Date(Date.now() + skewMs);
  // No heartbeat comes round and no claim looks: the lease lapses by the clock alone.
  const config = { leaseMs: 600_000, pollMs: 3_600_000 };
  const arcd = await startArcd({ agents: [agent], config, clock });
  const on = { targetAgent: 'lapsed' };
  const task = await createTask(arcd.url, 'lapsed', 'go', { settings: { maxRetries: 0 } }, on);
  await waitForStatus(arcd.url, 'lapsed', task.taskId, ['WORKING'], on);
  skewMs = 700_000;
  held.open();
  const failed = await waitForStatus(arcd.url, 'lapsed', task.taskId, ['FAILED'], on);
  expect(failed.reason).toMatch(/failed after the lease lapsed/);
  const runs = await endedRuns(arcd, task.taskId);
  expect(runs.map((run) => [run.outcome, run.error?.message])).toEqual([
    ['failed', 'failed after the lease lapsed'],
  ]);
});

test('a failure after asking for input not yet come fails the task, without a retry', async () => {
  const agent = defineAgent({
    id: 'asker',
    description: 'asks, then fails',
    async handle(ctx) {
      await ctx.requestInput('which?');
      throw new Error('failed after asking');
    },
  });
  const arcd = await startArcd({ agents: [agent] });
  const on = { targetAgent: 'asker' };
  const task = await createTask(arcd.url, 'asker', 'go', { settings: { maxRetries: 3 } }, on);
  const failed = await waitForStatus(arcd.url, 'asker', task.taskId, ['FAILED'], on);
  expect(failed.reason).toMatch(/failed after asking/);
  const runs = await endedRuns(arcd, task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['failed']);
});

test('a claim whose commit is not known hands back the turns it began, to be claimed again now', async () => {
  const held = gate();
  const agent = defineAgent({
    id: 'queued',
    description: 'the first task waits at the gate; the others answer',
    async handle(ctx) {
      if (ctx.text() === 'first') await held.opened;
      return 'done';
    },
  });
  const arcd = await startArcd({ agents: [agent], config: { concurrency: 1, leaseMs: 600_000 } });
  const on = { targetAgent: 'queued' };
  const first = await createTask(arcd.url, 'queued', 'first', {}, on);
  await waitForStatus(arcd.url, 'queued', first.taskId, ['WORKING'], on);
  const second = await createTask(arcd.url, 'queued', 'second', {}, on); // queued: no free slot
  const store = arcd.server.store;
  const claim = store.claimTurns.bind(store);
  let lost = 0;
  jest.spyOn(store, 'claimTurns').mockImplementation(async (...args) => {
    const claimed = await claim(...args);
    if (claimed.length === 0 || lost > 0) return claimed;
    lost += 1; // committed, and its answer lost with the writer thread
    throw new WriteOutcomeUnknown(new Error('the writer thread stopped'));
  });
  held.open();
  await waitForStatus(arcd.url, 'queued', second.taskId, ['COMPLETED'], on);
  expect(lost).toBe(1);
  const runs = await endedRuns(arcd, second.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['interrupted', 'completed']);
});

test('a shutdown gives an aborted handler its grace to wind down before its lease goes', async () => {
  const steps: string[] = [];
  const winding = defineAgent({
    id: 'winding',
    description: 'on abort, takes 300 ms to let go of what it holds',
    async handle(ctx) {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 300));
      steps.push('wound down');
    },
  });
  const db = tempDbFile();
  const arcd = await startArcd({ db, agents: [winding], config: { shutdownGraceMs: 5_000 } });
  const on = { targetAgent: 'winding' };
  const task = await createTask(arcd.url, 'winding', 'go', {}, on);
  await waitForStatus(arcd.url, 'winding', task.taskId, ['WORKING'], on);
  await arcd.close();
  expect(steps).toEqual(['wound down']);
  const again = await startArcd({ db, agents: [], config: { pollMs: 3_600_000 } });
  const runs = await again.server.store.listRuns(task.taskId);
  expect(runs.map((run) => run.outcome)).toEqual(['interrupted']);
  const row = await again.server.store.getTask(task.taskId);
  expect(row?.leaseOwner).toBeUndefined(); // handed back once the handler had returned
});

test('a handler that outlasts the shutdown grace still has its turn handed back', async () => {
  const deaf = defineAgent({
    id: 'deaf',
    description: 'ignores its abort signal for 3 s',
    async handle() {
      await new Promise((resolve) => setTimeout(resolve, 3_000).unref());
    },
  });
  const db = tempDbFile();
  const arcd = await startArcd({ db, agents: [deaf], config: { shutdownGraceMs: 300 } });
  const on = { targetAgent: 'deaf' };
  const task = await createTask(arcd.url, 'deaf', 'go', {}, on);
  await waitForStatus(arcd.url, 'deaf', task.taskId, ['WORKING'], on);
  await arcd.close();
  const again = await startArcd({ db, agents: [], config: { pollMs: 3_600_000 } });
  const runs = await again.server.store.listRuns(task.taskId);
  expect(runs.map((run) => [run.outcome, run.error])).toEqual([['interrupted', undefined]]);
  expect((await again.server.store.getTask(task.taskId))?.leaseOwner).toBeUndefined();
});

test('a shutdown longer than the lease keeps renewing the leases of turns winding down', async () => {
  const held = gate();
  const deaf = defineAgent({
    id: 'deaf',
    description: 'ignores its abort signal until the test opens its gate',
    async handle() {
      await held.opened;
    },
  });
  const db = tempDbFile();
  const leaseMs = 300;
  const arcd = await startArcd({ db, agents: [deaf], config: { leaseMs, shutdownGraceMs: 5_000 } });
  const on = { targetAgent: 'deaf' };
  const task = await createTask(arcd.url, 'deaf', 'go', {}, on);
  await waitForStatus(arcd.url, 'deaf', task.taskId, ['WORKING'], on);
  const store = arcd.server.store;
  const renew = store.renewLeases.bind(store);
  let renewals = 0;
  jest.spyOn(store, 'renewLeases').mockImplementation(async (...args) => {
    const lost = await renew(...args);
    renewals += 1;
    return lost;
  });
  const stoppedAt = Date.now();
  const closing = arcd.close();
  await waitFor('renewals while it winds down', async () => (renewals >= 3 ? true : undefined));
  const sql = new Database(db, { readonly: true });
  const row = sql.prepare('SELECT lease_until FROM tasks WHERE task_id = ?').get(task.taskId) as {
    lease_until: number | null;
  };
  sql.close();
  // Renewed after the stop: past the lease it held then (no one else may claim it meanwhile).
  expect(row.lease_until).toBeGreaterThan(stoppedAt + leaseMs);
  held.open();
  await closing;
});

test('a turn whose end fails to be written still waits for its stopped handler', async () => {
  let active = 0;
  let most = 0;
  const deaf = defineAgent({
    id: 'deaf',
    description: 'ignores its abort signal for 800 ms; counts handlers at once',
    async handle() {
      active += 1;
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, 800).unref());
      active -= 1;
    },
  });
  const arcd = await startArcd({ agents: [deaf], config: { shutdownGraceMs: 2_000 } });
  const store = arcd.server.store;
  const listRuns = store.listRuns.bind(store);
  let failed = false;
  jest.spyOn(store, 'listRuns').mockImplementation(async (...args) => {
    if (!failed && active > 0) {
      failed = true; // the timed-out turn's bookkeeping reads its runs: that read fails
      throw new Error('disk I/O error');
    }
    return listRuns(...args);
  });
  const on = { targetAgent: 'deaf' };
  const task = await createTask(
    arcd.url,
    'deaf',
    'go',
    { settings: { timeoutMs: 100, maxRetries: 3, retryDelayMs: 5 } },
    on,
  );
  await waitFor('the failed bookkeeping', async () => (failed ? true : undefined));
  // The second attempt ended: its handler had begun (and counted itself) before.
  await waitFor('a second attempt ended', async () => {
    const runs = await listRuns(task.taskId);
    return runs.length >= 2 && runs[1]?.outcome !== 'running' ? runs : undefined;
  });
  expect(most).toBe(1);
});

/** An agent whose every turn asks for input. */
const asker = defineAgent({
  id: 'asker',
  description: 'asks',
  async handle(ctx) {
    return ctx.requestInput('which one?');
  },
});

test("a store failure writing a paused turn's end is not the handler's: the task still waits for input", async () => {
  const arcd = await startArcd({ agents: [asker] });
  const { store } = arcd.server;
  const on = { targetAgent: 'asker' };
  // The pause commits; writing its run's end then finds the file locked, once.
  const endRun = store.endRun.bind(store);
  const ends = jest.spyOn(store, 'endRun').mockImplementationOnce(async () => {
    throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  });
  ends.mockImplementation(endRun);
  const task = await createTask(arcd.url, 'asker', 'ask', {}, on);
  const [run] = await endedRuns(arcd, task.taskId); // ended with the pause, in its commit
  // The handler's end is written after it too: once refused, then again.
  await waitFor('the end written again', async () =>
    ends.mock.calls.length >= 2 ? true : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 50)); // no third
  const tries = ends.mock.calls.length;
  ends.mockRestore();
  // Not failed "after asking for input": the store's failure, the run's end written again.
  expect((await store.getTask(task.taskId))?.status).toBe('INPUT_REQUIRED');
  expect(run?.outcome).toBe('input-required');
  expect(tries).toBe(2);
});

test('a run a dead process left running ends, interrupted, with its task canceled while no lease holds it', async () => {
  const arcd = await startArcd({ agents: [asker] });
  const on = { targetAgent: 'asker' };
  const task = await createTask(arcd.url, 'asker', 'ask', {}, on);
  const [asked] = await endedRuns(arcd, task.taskId);
  expect(asked?.outcome).toBe('input-required');
  await waitFor('the turn over', async () =>
    (await arcd.server.store.getTask(task.taskId))?.leaseOwner === undefined ? true : undefined,
  );
  // As if it were a run an older version's process left running (dead after the pause).
  const sql = new Database(arcd.db);
  sql
    .prepare(
      "UPDATE runs SET outcome = 'running', completed_at = NULL, duration_ms = NULL WHERE task_id = ?",
    )
    .run(task.taskId);
  sql.close();
  await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, on);
  const runs = await arcd.server.store.listRuns(task.taskId);
  expect(runs.map((run) => [run.outcome, run.error?.message])).toEqual([
    ['interrupted', 'the process running this turn stopped'],
  ]);
});

test("a failed attempt's run ends in the retry's own write, and a last one's in the failure's", async () => {
  const tried = new Set<string>();
  const twice = defineAgent({
    id: 'twice',
    description: 'fails the first attempt of a task, and every attempt of "never"',
    async handle(ctx) {
      if (ctx.text() === 'never' || !tried.has(ctx.task.taskId)) {
        tried.add(ctx.task.taskId);
        throw new Error('not this time');
      }
      return 'done';
    },
  });
  const arcd = await startArcd({ agents: [twice] });
  const on = { targetAgent: 'twice' };
  // A run's end written apart from its task's change would not be written here at all.
  const ends = jest.spyOn(arcd.server.store, 'endRun').mockRejectedValue(new Error('not here'));
  const settings = { maxRetries: 1, retryDelayMs: 0 };
  const retried = await createTask(arcd.url, 'twice', 'go', { settings }, on);
  await waitForStatus(arcd.url, 'twice', retried.taskId, ['COMPLETED'], on);
  const failed = await createTask(arcd.url, 'twice', 'never', { settings }, on);
  await waitForStatus(arcd.url, 'twice', failed.taskId, ['FAILED'], on);
  const outcomes = async (taskId: string) =>
    (await endedRuns(arcd, taskId)).map((run) => run.outcome);
  expect(await outcomes(retried.taskId)).toEqual(['retrying', 'completed']);
  expect(await outcomes(failed.taskId)).toEqual(['retrying', 'failed']);
  expect(ends).not.toHaveBeenCalled();
  ends.mockRestore();
});
