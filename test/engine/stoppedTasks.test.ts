/**
 * The `stopped` hook: an agent hears of its task canceled or expired while no handler of it
 * runs (waiting for input, queued), with the run's checkpoint; not while its handler runs (the
 * signal tells it), nor of a child's stop copied into a parent's log.
 */
import { defineAgent } from '../../src/agents/contract';
import type { Task } from '../../src/types';
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
const heard: Array<{ taskId: string; cause: string; checkpoint: unknown }> = [];
const on = { targetAgent: 'asker' };

beforeEach(async () => {
  heard.length = 0;
  const asker = defineAgent({
    id: 'asker',
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
  arcd = await startArcd({ agents: [asker], bundled: false });
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
