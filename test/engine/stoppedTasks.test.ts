/**
 * The `stopped` hook: an agent hears of its task canceled or expired while no handler of it
 * runs (waiting for input, queued), with the run's checkpoint; not while its handler runs (the
 * signal tells it), nor of a child's stop copied into a parent's log.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import type { Task } from '../../src/types';
import {
  type Running,
  arcCall,
  arcResult,
  createTask,
  textMessage,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
const heard: Array<{ taskId: string; cause: string; checkpoint: unknown }> = [];
const on = { targetAgent: 'asker' };

function askerAgent(id = 'asker') {
  return defineAgent({
    id,
    description: 'saves where it is, then asks; or works until stopped',
    async handle(ctx) {
      await ctx.checkpoint({ step: 'asked' });
      if (ctx.text() === 'work') {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return;
      }
      await ctx.requestInput('which one?');
    },
    stopped(task: Task, cause, checkpoint) {
      heard.push({ taskId: task.taskId, cause, checkpoint });
    },
  });
}

beforeEach(async () => {
  heard.length = 0;
  arcd = await startArcd({ agents: [askerAgent()], bundled: false });
});

test('a task canceled while it waits for input: the agent hears of it, with its checkpoint', async () => {
  const task = await createTask(arcd.url, 'asker', 'ask', {}, on);
  await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
  await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, on);
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  expect(heard).toEqual([
    { taskId: task.taskId, cause: 'canceled', checkpoint: { step: 'asked' } },
  ]);
});

test('a task canceled while its handler runs: the signal tells it, not the hook', async () => {
  const task = await createTask(arcd.url, 'asker', 'work', {}, on);
  await waitForStatus(arcd.url, 'asker', task.taskId, ['WORKING'], on);
  await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, on);
  await waitFor('the turn to end', async () =>
    arcd.server.runner.activeTurns === 0 ? true : undefined,
  );
  expect(heard).toEqual([]);
  await waitFor('no hook owed', async () => (owedStops(arcd.db) === 0 ? true : undefined));
  expect(heard).toEqual([]);
});

test('canceled through another process while its handler runs here: the signal tells it, no hook anywhere', async () => {
  // The host sweeps only at its start; it hears of the cancel by its heartbeat (every 2 s).
  const host = await startArcd({
    agents: [askerAgent()],
    bundled: false,
    config: { pollMs: 60_000, leaseMs: 6_000 },
  });
  const task = await createTask(host.url, 'asker', 'work', {}, on);
  await waitForStatus(host.url, 'asker', task.taskId, ['WORKING'], on);
  const other = await startArcd({ agents: [askerAgent()], bundled: false, db: host.db });
  await arcResult(other.url, 'task.cancel', { taskId: task.taskId }, on);
  expect(owedStops(host.db)).toBe(1); // the other cannot take it: the host's turn holds the task
  await waitFor('the turn there to end', async () =>
    host.server.runner.activeTurns === 0 ? true : undefined,
  );
  // Let go by the turn that heard it: the other process, sweeping, finds nothing to tell.
  await waitFor('no hook owed', async () => (owedStops(host.db) === 0 ? true : undefined));
  expect(heard).toEqual([]);
});

test('canceled through another process, its handler returning before it heard: told', async () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const dawdler = defineAgent({
    id: 'dawdler',
    description: 'works until let go, deaf to its signal',
    async handle() {
      await opened;
      return 'done';
    },
    stopped(task: Task, cause) {
      heard.push({ taskId: task.taskId, cause, checkpoint: undefined });
    },
  });
  const host = await startArcd({ agents: [dawdler], bundled: false });
  const dawdlerOn = { targetAgent: 'dawdler' };
  const task = await createTask(host.url, 'dawdler', 'go', {}, dawdlerOn);
  await waitForStatus(host.url, 'dawdler', task.taskId, ['WORKING'], dawdlerOn);
  const released = jest.spyOn(host.server.store, 'releaseOwedStop');
  const other = await startArcd({ agents: [dawdler], bundled: false, db: host.db });
  await arcResult(other.url, 'task.cancel', { taskId: task.taskId }, dawdlerOn);
  // The host's sweep finds it while the handler runs unstopped: it may yet hear, so not now.
  await waitFor('the host to leave it', async () =>
    released.mock.calls.length > 0 ? true : undefined,
  );
  expect(heard).toEqual([]);
  open(); // returns without ever hearing of the cancel: the hook is its only news
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  await waitFor('the owed row gone', async () => (owedStops(host.db) === 0 ? true : undefined));
  expect(heard.map((h) => [h.taskId, h.cause])).toEqual([[task.taskId, 'canceled']]);
});

test("a multi-agent family canceled: each waiting child's agent hears, the parent's no more", async () => {
  const family = await startArcd({
    agents: [askerAgent(), askerAgent('asker2')],
    bundled: false,
  });
  const { task: parent } = await arcResult(
    family.url,
    'task.create',
    { initialMessage: textMessage('ask'), assignedAgents: ['asker', 'asker2'] },
    on,
  );
  for (const [i, agent] of ['asker', 'asker2'].entries()) {
    await waitForStatus(family.url, agent, parent.childTaskIds[i], ['INPUT_REQUIRED'], {
      targetAgent: agent,
    });
  }
  await arcResult(family.url, 'task.cancel', { taskId: parent.taskId }, on);
  await waitFor('both hooks', async () => (heard.length >= 2 ? true : undefined));
  await waitFor('no hook owed', async () => (owedStops(family.db) === 0 ? true : undefined));
  expect(heard.map((h) => h.taskId).sort()).toEqual([...parent.childTaskIds].sort());
});

/**
 * A task of agent `id` canceled while its handler works: the handler has heard it by its
 * signal, and winds down until `windDown` is called.
 */
async function canceledWhileWorking(id: string, options: { stoppedAlways?: boolean } = {}) {
  let heardSignal!: () => void;
  const signalHeard = new Promise<void>((resolve) => (heardSignal = resolve));
  let windDown!: () => void;
  const woundDown = new Promise<void>((resolve) => (windDown = resolve));
  const agent = defineAgent({
    id,
    description: 'works until stopped, then takes its time to let go',
    ...options,
    async handle(ctx) {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      heardSignal();
      await woundDown;
    },
    stopped(task: Task, cause) {
      heard.push({ taskId: task.taskId, cause, checkpoint: undefined });
    },
  });
  const own = await startArcd({ agents: [agent], bundled: false });
  const agentOn = { targetAgent: id };
  const task = await createTask(own.url, id, 'work', {}, agentOn);
  await waitForStatus(own.url, id, task.taskId, ['WORKING'], agentOn);
  await arcResult(own.url, 'task.cancel', { taskId: task.taskId }, agentOn);
  await signalHeard; // the end reached the handler
  return { own, task, agentOn, windDown };
}

test('canceled, run again and canceled again while its first handler winds down: the second end is told', async () => {
  const { own, task, agentOn, windDown } = await canceledWhileWorking('winder');
  // While the handler winds down, the task runs again (it waits for that turn to end) and is
  // canceled again before it starts: that end was heard by no handler.
  await arcResult(own.url, 'task.run', { taskId: task.taskId }, agentOn);
  await arcResult(own.url, 'task.cancel', { taskId: task.taskId }, agentOn);
  expect(owedStops(own.db)).toBe(1);
  windDown();
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  await waitFor('no hook owed', async () => (owedStops(own.db) === 0 ? true : undefined));
  expect(heard.map((h) => [h.taskId, h.cause])).toEqual([[task.taskId, 'canceled']]);
});

test('an agent with stoppedAlways is told of the end its running turn heard, once the turn has ended', async () => {
  const { own, task, windDown } = await canceledWhileWorking('insistent', { stoppedAlways: true });
  expect(owedStops(own.db)).toBe(1); // kept: not let go as the signal was heard
  expect(heard).toEqual([]); // not while the turn is here
  windDown();
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  await waitFor('no hook owed', async () => (owedStops(own.db) === 0 ? true : undefined));
  expect(heard.map((h) => [h.taskId, h.cause])).toEqual([[task.taskId, 'canceled']]);
});

/**
 * A `stoppedAlways` agent `id` that asks for input, its hook `stopped`; one of its tasks
 * canceled while it waits (the lease short, the sweep frequent).
 */
async function canceledWhileAsking(
  id: string,
  stopped: (task: Task, cause: string) => void,
  clock?: () => Date,
) {
  const agent = defineAgent({
    id,
    description: 'asks; its hook as the test says',
    stoppedAlways: true,
    async handle(ctx) {
      await ctx.requestInput('which one?');
    },
    stopped,
  });
  const own = await startArcd({
    agents: [agent],
    bundled: false,
    config: { leaseMs: 400, pollMs: 100 },
    ...(clock ? { clock } : {}),
  });
  const agentOn = { targetAgent: id };
  const task = await createTask(own.url, id, 'ask', {}, agentOn);
  await waitForStatus(own.url, id, task.taskId, ['INPUT_REQUIRED'], agentOn);
  await arcResult(own.url, 'task.cancel', { taskId: task.taskId }, agentOn);
  return { own, task };
}

test("a stoppedAlways agent's hook that throws is told again once its hold lapses", async () => {
  let calls = 0;
  const { own, task } = await canceledWhileAsking('flaky-hook', (task, cause) => {
    calls += 1;
    if (calls === 1) throw new Error('the other side is down');
    heard.push({ taskId: task.taskId, cause, checkpoint: undefined });
  });
  await waitFor('the hook told again', async () => (heard.length > 0 ? true : undefined));
  await waitFor('no hook owed', async () => (owedStops(own.db) === 0 ? true : undefined));
  expect(calls).toBe(2);
  expect(heard.map((h) => [h.taskId, h.cause])).toEqual([[task.taskId, 'canceled']]);
});

test("a stoppedAlways agent's hook failing a day after its task's end is given up", async () => {
  let calls = 0;
  let shiftMs = 0;
  const { own } = await canceledWhileAsking(
    'broken-hook',
    () => {
      calls += 1;
      throw new Error('never works');
    },
    () => new Date(Date.now() + shiftMs),
  );
  await waitFor('told again', async () => (calls >= 2 ? true : undefined));
  expect(owedStops(own.db)).toBe(1);
  shiftMs = 25 * 3_600_000;
  await waitFor('given up', async () => (owedStops(own.db) === 0 ? true : undefined));
});

test('canceled after its handler asked but before its turn finished writing: heard', async () => {
  const { store } = arcd.server;
  const endRun = store.endRun.bind(store);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // The turn's last write (its run's end) waits: the handler has returned, the turn has not.
  jest.spyOn(store, 'endRun').mockImplementationOnce(async (...args) => {
    await held;
    return endRun(...args);
  });
  const task = await createTask(arcd.url, 'asker', 'ask', {}, on);
  await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
  expect(arcd.server.runner.activeTurns).toBe(1);
  await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, on);
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  release();
  expect(heard.map((h) => h.cause)).toEqual(['canceled']);
});

test('a shutdown waits for a hook under way before the store closes', async () => {
  const told: string[] = [];
  const slowHook = defineAgent({
    id: 'slow-hook',
    description: 'asks; lets go of a stopped task in 300 ms',
    async handle(ctx) {
      await ctx.requestInput('which one?');
    },
    async stopped(task: Task, cause) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      told.push(`${task.taskId} ${cause}`);
    },
  });
  const own = await startArcd({ agents: [slowHook], bundled: false });
  const slowOn = { targetAgent: 'slow-hook' };
  const task = await createTask(own.url, 'slow-hook', 'ask', {}, slowOn);
  await waitForStatus(own.url, 'slow-hook', task.taskId, ['INPUT_REQUIRED'], slowOn);
  await arcResult(own.url, 'task.cancel', { taskId: task.taskId }, slowOn);
  await own.close();
  expect(told).toEqual([`${task.taskId} canceled`]);
});

test('task.delete waits for an owed hook to be told (-42006), unless forced', async () => {
  const told: string[] = [];
  let letGo: () => void = () => undefined;
  const gatedHook = defineAgent({
    id: 'gated-hook',
    description: 'asks; lets go of a stopped task when the test says',
    async handle(ctx) {
      await ctx.requestInput('which one?');
    },
    async stopped(task: Task) {
      await new Promise<void>((resolve) => (letGo = resolve));
      told.push(task.taskId);
    },
  });
  const own = await startArcd({ agents: [gatedHook], bundled: false });
  const gatedOn = { targetAgent: 'gated-hook' };
  const canceled = async () => {
    const task = await createTask(own.url, 'gated-hook', 'ask', {}, gatedOn);
    await waitForStatus(own.url, 'gated-hook', task.taskId, ['INPUT_REQUIRED'], gatedOn);
    await arcResult(own.url, 'task.cancel', { taskId: task.taskId }, gatedOn);
    return task.taskId as string;
  };

  const first = await canceled();
  const refused = await arcCall(own.url, 'task.delete', { taskId: first }, gatedOn);
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: first, stopOwed: true },
  });
  letGo();
  await waitFor('the hook told', async () => (owedStops(own.db) === 0 ? true : undefined));
  expect(told).toEqual([first]);
  await arcResult(own.url, 'task.delete', { taskId: first }, gatedOn);

  // Forced: deleted at once, the hook's row with it.
  const second = await canceled();
  expect(owedStops(own.db)).toBe(1);
  await arcResult(own.url, 'task.delete', { taskId: second, force: true }, gatedOn);
  expect(owedStops(own.db)).toBe(0);
  letGo();
});

/** Stopped hooks still owed in the file (told ones are deleted). */
function owedStops(db: string): number {
  const file = new Database(db, { readonly: true });
  try {
    return (file.prepare('SELECT COUNT(*) AS n FROM stops_owed').get() as { n: number }).n;
  } finally {
    file.close();
  }
}

test('expired while no process hosting its agent runs: told when one starts, once', async () => {
  const deadline = new Date(Date.now() + 600_000).toISOString();
  const task = await createTask(arcd.url, 'asker', 'ask', { deadline }, on);
  await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
  const db = arcd.db;
  await arcd.close();
  // A process hosting other agents, its clock an hour on, fails it by its deadline: it cannot
  // tell the hook.
  const later = () => new Date(Date.now() + 3_600_000);
  const other = await startArcd({ bundled: false, agents: [], db, clock: later });
  await waitFor('the deadline', async () =>
    (await other.server.store.getTask(task.taskId))?.status === 'FAILED' ? true : undefined,
  );
  await other.close();
  expect(heard).toEqual([]);
  expect(owedStops(db)).toBe(1);
  arcd = await startArcd({ agents: [askerAgent()], bundled: false, db });
  await waitFor('the hook', async () => (heard.length > 0 ? true : undefined));
  await waitFor('the owed row gone', async () => (owedStops(db) === 0 ? true : undefined));
  expect(heard).toEqual([
    { taskId: task.taskId, cause: 'deadline', checkpoint: { step: 'asked' } },
  ]);
});
