/**
 * Multi-agent tasks: a three-agent fan-out completing with the children's artifacts gathered
 * and tagged; a failing child with and without allowPartial; cancelling the parent; input
 * routed to the waiting child; the parent's subscribers and stream seeing the children's
 * events, tagged; bad requests.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { type AgentDefinition, defineAgent } from '../../src/agents/contract';
import {
  type Running,
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
import { startReceiver } from '../helpers/receiver';
import * as changes from '../../src/tasks/changes';
import type { TaskRecord } from '../../src/store/records';

const worker = (id: string): AgentDefinition =>
  defineAgent({
    id,
    description: `${id} reports`,
    async handle(ctx) {
      if (ctx.text().includes(`fail:${id}`)) throw new Error(`${id} could not do it`);
      if (ctx.text().includes(`ask:${id}`) && ctx.input.length === 1 && ctx.history.length === 1) {
        return ctx.requestInput(`${id} needs a number`);
      }
      if (ctx.text().includes(`hold:${id}`)) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return;
      }
      await ctx.addArtifact({
        name: 'report',
        parts: [{ type: 'TextPart', content: `${id} says ${ctx.text()}` }],
      });
    },
  });

const agents = ['alpha', 'beta', 'gamma'].map(worker);
const on = { targetAgent: 'alpha' };

async function fanOut(arcd: Running, text: string, extra: Record<string, unknown> = {}) {
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: textMessage(text), assignedAgents: ['alpha', 'beta', 'gamma'], ...extra },
    on,
  );
  return task as WireJson;
}

test('three agents in parallel: the parent completes with their artifacts, tagged', async () => {
  const arcd = await startArcd({
    agents,
    bundled: false,
    config: { webhookAllowlist: '127.0.0.1', webhookPollMs: 25 },
  });
  const receiver = await startReceiver();
  const parent = await fanOut(arcd, 'go');
  expect(parent.childTaskIds).toHaveLength(3);
  const everything = await startReceiver();
  await arcResult(
    arcd.url,
    'task.subscribe',
    { taskId: parent.taskId, callbackUrl: `${receiver.url}/hook`, replay: true },
    on,
  );
  await arcResult(
    arcd.url,
    'task.subscribe',
    {
      taskId: parent.taskId,
      callbackUrl: `${everything.url}/hook`,
      events: ['STATUS_CHANGE'],
      replay: true,
    },
    on,
  );
  const done = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
  expect(
    done.artifacts.map((a: WireJson) => [a.createdBy, a.metadata.agent, a.parts[0].content]).sort(),
  ).toEqual([
    ['alpha', 'alpha', 'alpha says go'],
    ['beta', 'beta', 'beta says go'],
    ['gamma', 'gamma', 'gamma says go'],
  ]);
  for (const [i, agent] of ['alpha', 'beta', 'gamma'].entries()) {
    const child = await taskInfo(arcd.url, agent, parent.childTaskIds[i], { targetAgent: agent });
    expect(child).toMatchObject({
      status: 'COMPLETED',
      parentTaskId: parent.taskId,
      assignedAgent: agent,
    });
  }
  // Webhooks of the parent: a subscription naming TASK_COMPLETED (the default) hears of the
  // parent's completion alone; the catch-all (STATUS_CHANGE) of the parent's own events only,
  // never a child's sent under the parent's id (a receiver would take it for the parent's).
  const everyEvent = await waitFor('the parent completed, at the catch-all', async () =>
    everything.received.some((r) => r.body.event === 'TASK_COMPLETED')
      ? everything.received
      : undefined,
  );
  expect(everyEvent.filter((r) => r.body.event === 'TASK_COMPLETED')).toHaveLength(1);
  expect(everyEvent.filter((r) => r.body.data.childTaskId !== undefined)).toEqual([]);
  const received = await waitFor('the parent completed', async () =>
    receiver.received.length >= 1 ? receiver.received : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 200)); // nothing else comes
  expect(received).toHaveLength(1);
  expect(received[0]?.body).toMatchObject({
    event: 'TASK_COMPLETED',
    taskId: parent.taskId,
    data: { status: 'COMPLETED' },
  });
  expect(received[0]?.body.data).not.toHaveProperty('childTaskId');
  await everything.close();
  // The parent's stream replays the children's events too and ends with its own completion.
  const frames = await new Promise<WireJson[]>((resolve, reject) => {
    http
      .get(`${arcd.url}/arc/tasks/${parent.taskId}/events?requestAgent=tester`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve(
            text
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => JSON.parse(line.slice(6))),
          ),
        );
      })
      .on('error', reject);
  });
  expect(new Set(frames.map((f) => f.data.childAgent).filter(Boolean))).toEqual(
    new Set(['alpha', 'beta', 'gamma']),
  );
  expect(frames.at(-1)).toMatchObject({ event: 'STATUS_CHANGE', data: { status: 'COMPLETED' } });
  expect(frames.at(-1).data).not.toHaveProperty('childTaskId');
});

test('a failing child fails the parent, unless allowPartial lists the failure instead', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  const strict = await fanOut(arcd, 'go fail:beta');
  const failed = await waitForStatus(arcd.url, 'alpha', strict.taskId, ['FAILED'], on);
  expect(failed.error).toMatchObject({
    code: -42004,
    failures: [{ agent: 'beta', status: 'FAILED', reason: 'beta could not do it' }],
  });
  expect(failed.artifacts).toHaveLength(2);

  const lenient = await fanOut(arcd, 'go fail:gamma', { settings: { allowPartial: true } });
  const completed = await waitForStatus(arcd.url, 'alpha', lenient.taskId, ['COMPLETED'], on);
  expect(completed.artifacts.map((a: WireJson) => a.createdBy).sort()).toEqual(['alpha', 'beta']);
  const events = await arcResult(
    arcd.url,
    'task.events',
    { taskId: lenient.taskId, limit: 500 },
    on,
  );
  const own = events.events.find(
    (e: WireJson) => e.event === 'TASK_COMPLETED' && e.data.childTaskId === undefined,
  );
  expect(own.data.failures).toEqual([
    expect.objectContaining({ agent: 'gamma', status: 'FAILED', reason: 'gamma could not do it' }),
  ]);
  const child = await taskInfo(arcd.url, 'gamma', lenient.childTaskIds[2], {
    targetAgent: 'gamma',
  });
  expect(child.settings).toBeUndefined(); // allowPartial is the parent's alone

  // Some may fail, not all: a family none of whose children completed fails.
  const none = await fanOut(arcd, 'go fail:alpha fail:beta fail:gamma', {
    settings: { allowPartial: true },
  });
  const allFailed = await waitForStatus(arcd.url, 'alpha', none.taskId, ['FAILED'], on);
  expect(allFailed.error).toMatchObject({ code: -42004, message: /^3 of 3 child tasks/ });
  expect(allFailed.error.failures).toHaveLength(3);
});

test('a partly completed family its dependents still read is not retried under them', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  const lenient = await fanOut(arcd, 'go fail:gamma', { settings: { allowPartial: true } });
  await waitForStatus(arcd.url, 'alpha', lenient.taskId, ['COMPLETED'], on);
  const reader = { targetAgent: 'beta' };
  const dependent = await createTask(
    arcd.url,
    'beta',
    'ask:beta',
    { dependencies: [lenient.taskId] },
    reader,
  );
  await waitForStatus(arcd.url, 'beta', dependent.taskId, ['INPUT_REQUIRED'], reader);
  const refused = await arcCall(arcd.url, 'task.retry', { taskId: lenient.taskId }, on);
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: lenient.taskId, waitingDependents: [dependent.taskId] },
  });
  // Nor reopened by one of its children running again: the failed one, or a completed one.
  const [alphaChild, , gammaChild] = lenient.childTaskIds as string[];
  const childRetry = await arcCall(
    arcd.url,
    'task.retry',
    { taskId: gammaChild },
    { targetAgent: 'gamma' },
  );
  const childRun = await arcCall(arcd.url, 'task.run', { taskId: alphaChild }, on);
  for (const refusedChild of [childRetry, childRun]) {
    expect(refusedChild.body.error).toMatchObject({
      code: -42006,
      message: expect.stringMatching(/cannot be reopened by its child task-\S+ running again/),
      details: { taskId: lenient.taskId, waitingDependents: [dependent.taskId] },
    });
  }
  expect((await taskInfo(arcd.url, 'alpha', lenient.taskId, on)).status).toBe('COMPLETED');
  expect((await taskInfo(arcd.url, 'alpha', alphaChild as string, on)).status).toBe('COMPLETED');
});

test('cancelling the parent cancels its children, running ones included', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  const parent = await fanOut(arcd, 'hold:alpha hold:beta hold:gamma');
  await waitForStatus(arcd.url, 'alpha', parent.taskId, ['WORKING'], on);
  await arcResult(
    arcd.url,
    'task.cancel',
    { taskId: parent.taskId, reason: 'changed my mind' },
    on,
  );
  for (const [i, agent] of ['alpha', 'beta', 'gamma'].entries()) {
    const child = await waitForStatus(arcd.url, agent, parent.childTaskIds[i], ['CANCELED'], {
      targetAgent: agent,
    });
    expect(child.reason).toBe(`parent task ${parent.taskId} is CANCELED`);
    // Canceled by whoever canceled the parent, as its own TASK_CANCELED says.
    const events = await arcd.server.store.listEvents(parent.childTaskIds[i]);
    expect(events.find((e) => e.type === 'TASK_CANCELED')?.data.canceledBy).toBe('tester');
  }
  // The parent's own cancel is found past its children's, mirrored into its log after it.
  const own = await arcd.server.store.lastOwnEvent(parent.taskId, 'TASK_CANCELED');
  const log = await arcd.server.store.listEvents(parent.taskId);
  const mirrored = log.filter((e) => e.type === 'TASK_CANCELED' && e.data.childTaskId);
  expect(mirrored).toHaveLength(3);
  expect(mirrored.every((e) => e.seq > own!.seq)).toBe(true);
  expect(own?.data).toMatchObject({ canceledBy: 'tester', reason: 'changed my mind' });
  expect(own?.data.childTaskId).toBeUndefined();
});

test('task.send to the parent goes to the child waiting for input', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  const parent = await fanOut(arcd, 'go ask:beta');
  const waiting = parent.childTaskIds[1];
  await waitForStatus(arcd.url, 'beta', waiting, ['INPUT_REQUIRED'], { targetAgent: 'beta' });
  expect((await taskInfo(arcd.url, 'alpha', parent.taskId, on)).status).toBe('WORKING');
  const sent = await arcResult(
    arcd.url,
    'task.send',
    { taskId: parent.taskId, message: textMessage('42') },
    on,
  );
  expect(sent).toEqual({ success: true, routedTo: waiting });
  const done = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
  expect(done.artifacts.find((a: WireJson) => a.createdBy === 'beta').parts[0].content).toBe(
    'beta says 42',
  );
  const again = await arcCall(
    arcd.url,
    'task.send',
    { taskId: parent.taskId, message: textMessage('more') },
    on,
  );
  expect(again.body.error.code).toBe(-42002);
});

test('a blocking create of a family answers once a child needs input', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  // Waits longer than the test may take: only the child's question can end it in time.
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    {
      initialMessage: textMessage('go ask:beta'),
      assignedAgents: ['alpha', 'beta', 'gamma'],
      wait: 60_000,
    },
    on,
  );
  expect(task.status).toBe('WORKING');
  const asking = await taskInfo(arcd.url, 'beta', task.childTaskIds[1], { targetAgent: 'beta' });
  expect(asking.status).toBe('INPUT_REQUIRED');
});

test('bad multi-agent requests are refused before anything is stored', async () => {
  const arcd = await startArcd({ agents, bundled: false });
  const create = (params: Record<string, unknown>, targetAgent = 'alpha') =>
    arcCall(
      arcd.url,
      'task.create',
      { initialMessage: textMessage('x'), ...params },
      { targetAgent },
    );
  const notIncluded = await create({ assignedAgents: ['beta', 'gamma'] });
  expect(notIncluded.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'assignedAgents', message: 'must include targetAgent alpha' }] },
  });
  const unknown = await create({ assignedAgents: ['alpha', 'nobody'] });
  expect(unknown.body.error.details.errors).toEqual([
    { field: 'assignedAgents.1', message: 'no agent nobody here' },
  ]);
  expect((await create({ assignedAgents: ['alpha', 'alpha'] })).body.error.code).toBe(-32602);
  const dependent = await create({ assignedAgents: ['alpha', 'beta'], dependencies: ['task-x'] });
  expect(dependent.body.error.details.errors).toEqual([
    { field: 'dependencies', message: 'cannot be combined with assignedAgents' },
  ]);
  expect((await arcResult(arcd.url, 'task.list', {}, on)).tasks).toEqual([]);
  // No dependencies at all (a client that always sends the field) is no dependency.
  const none = await create({ assignedAgents: ['alpha', 'beta'], dependencies: [] });
  expect(none.body.error).toBeNull();
  await waitForStatus(arcd.url, 'alpha', none.body.result.task.taskId, ['COMPLETED'], on);
  const parent = await fanOut(arcd, 'go fail:alpha');
  await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
  const run = await arcCall(arcd.url, 'task.run', { taskId: parent.taskId }, on);
  expect(run.body.error).toMatchObject({ code: -42006 });
  expect(run.body.error.message).toMatch(/multi-agent parent/);
});

/** A parent's own status moves (not its children's, mirrored in its log), as `from>to`. */
async function ownStatusMoves(arcd: Running, taskId: string): Promise<string[]> {
  const { events } = await arcResult(arcd.url, 'task.events', { taskId, limit: 500 }, on);
  return events
    .filter((e: WireJson) => e.event === 'STATUS_CHANGE' && e.data.childTaskId === undefined)
    .map((e: WireJson) => `${e.data.previousStatus}>${e.data.status}`);
}

describe('running a failed family again', () => {
  // Fails the first try of each task it runs; later tries complete with an artifact.
  const tried = new Set<string>();
  const flaky = defineAgent({
    id: 'flaky-child',
    description: 'fails the first try of each task',
    async handle(ctx) {
      if (!tried.has(ctx.task.taskId)) {
        tried.add(ctx.task.taskId);
        throw new Error('first try fails');
      }
      await ctx.addArtifact({ name: 'report', parts: [{ type: 'TextPart', content: 'fixed' }] });
    },
  });
  const family = async (arcd: Running, text: string, extra: Record<string, unknown> = {}) =>
    (
      await arcResult(
        arcd.url,
        'task.create',
        { initialMessage: textMessage(text), assignedAgents: ['alpha', 'flaky-child'], ...extra },
        on,
      )
    ).task as WireJson;
  const child = { targetAgent: 'flaky-child' };
  const artifactNames = (task: WireJson) =>
    task.artifacts.map((a: WireJson) => `${a.createdBy}:${a.parts[0].content}`).sort();

  test('a failed child retried while its parent runs: the parent completes', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const live = await family(arcd, 'go hold:alpha');
    await waitForStatus(arcd.url, 'flaky-child', live.childTaskIds[1], ['FAILED'], child);
    await arcResult(arcd.url, 'task.retry', { taskId: live.childTaskIds[1] }, child);
    await waitForStatus(arcd.url, 'flaky-child', live.childTaskIds[1], ['COMPLETED'], child);
    expect((await taskInfo(arcd.url, 'alpha', live.taskId, on)).status).toBe('WORKING');
  });

  test("children follow their parent's deadline; a child's cannot pass its live parent's", async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const soon = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const live = await family(arcd, 'go hold:alpha', { deadline: soon });
    const [held, failing] = live.childTaskIds as string[];
    await waitForStatus(arcd.url, 'flaky-child', failing!, ['FAILED'], child);
    // A failed child's new run, or a child's update, past the parent's deadline: refused.
    for (const [method, params, who] of [
      ['task.retry', { taskId: failing, deadline: later }, child],
      ['task.update', { taskId: held, deadline: later }, on],
    ] as const) {
      const refused = await arcCall(arcd.url, method, params, who);
      expect(refused.body.error).toMatchObject({
        code: -32602,
        details: { errors: [{ field: 'deadline' }] },
      });
    }
    const moved = await arcResult(
      arcd.url,
      'task.update',
      { taskId: live.taskId, deadline: later },
      on,
    );
    expect(moved.task.deadline).toBe(later);
    expect((await taskInfo(arcd.url, 'alpha', held!, on)).deadline).toBe(later);
    // The finished child keeps its own; its new run takes the parent's, given none.
    expect((await taskInfo(arcd.url, 'flaky-child', failing!, child)).deadline).toBe(soon);
    const retried = await arcResult(arcd.url, 'task.retry', { taskId: failing }, child);
    expect(retried.task.deadline).toBe(later);
  });

  test('a child retried after its children failed the parent: the parent works again, then completes once', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const parent = await family(arcd, 'go');
    const failed = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    expect(artifactNames(failed)).toEqual(['alpha:alpha says go']);
    await arcResult(arcd.url, 'task.retry', { taskId: parent.childTaskIds[1] }, child);
    const done = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    // alpha's artifact is not gathered a second time; the retried child's is added.
    expect(artifactNames(done)).toEqual(['alpha:alpha says go', 'flaky-child:fixed']);
    expect(done).not.toHaveProperty('error');
    const own = await ownStatusMoves(arcd, parent.taskId);
    expect(own).toEqual([
      'SUBMITTED>WORKING',
      'WORKING>FAILED',
      'FAILED>WORKING',
      'WORKING>COMPLETED',
    ]);
  });

  test('task.retry of the parent runs its failed and canceled children again', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const parent = await family(arcd, 'go hold:alpha');
    await waitForStatus(arcd.url, 'flaky-child', parent.childTaskIds[1], ['FAILED'], child);
    await arcResult(arcd.url, 'task.cancel', { taskId: parent.childTaskIds[0] }, on);
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    const { task: retried } = await arcResult(
      arcd.url,
      'task.retry',
      { taskId: parent.taskId },
      on,
    );
    expect(retried.status).toBe('WORKING');
    for (const [taskId, target] of [
      [parent.childTaskIds[0], on],
      [parent.childTaskIds[1], child],
    ] as const) {
      const info = await taskInfo(arcd.url, target.targetAgent, taskId, target);
      expect(['SUBMITTED', 'WORKING', 'COMPLETED']).toContain(info.status);
    }
    // alpha holds until canceled: cancel the parent, which cancels it; the family ends CANCELED.
    await waitForStatus(arcd.url, 'flaky-child', parent.childTaskIds[1], ['COMPLETED'], child);
    await arcResult(arcd.url, 'task.cancel', { taskId: parent.taskId }, on);
    await waitForStatus(arcd.url, 'alpha', parent.childTaskIds[0], ['CANCELED'], on);
  });

  test('a child retried while its parent is being settled keeps the parent working', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const { store } = arcd.server;
    // The settling reads the children (all finished, one failed), then the parent's artifacts,
    // then writes: the failed child is retried in between, as a caller could.
    let retriedBetween = false;
    let parentId = '';
    const listArtifacts = store.listArtifacts.bind(store);
    store.listArtifacts = async (taskId, budget) => {
      const read = await listArtifacts(taskId, budget);
      if (taskId === parentId && !retriedBetween) {
        retriedBetween = true;
        const failing = (await store.getTask(parentId))!.childTaskIds![1]!;
        await arcResult(arcd.url, 'task.retry', { taskId: failing }, child);
      }
      return read;
    };
    const parent = await family(arcd, 'go');
    parentId = parent.taskId;
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    expect(retriedBetween).toBe(true);
    const own = await ownStatusMoves(arcd, parent.taskId);
    // Never FAILED on the child's first failure, which the retry had undone.
    expect(own).toEqual(['SUBMITTED>WORKING', 'WORKING>COMPLETED']);
  });

  test('a child retried as its parent, read live, completes is judged with the parent as the write finds it', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const { store } = arcd.server;
    const parent = await family(arcd, 'go hold:alpha', { settings: { allowPartial: true } });
    const [held, failing] = parent.childTaskIds as string[];
    await waitForStatus(arcd.url, 'flaky-child', failing!, ['FAILED'], child);
    // The retry reads the parent live; before its write, the held child completes and with it
    // the parent (a partial completion, which releases dependents). Reads of the parent made
    // for the retry meanwhile see it as it was.
    const getTask = store.getTask.bind(store);
    let armed = true;
    let finishing = false;
    let readLive: TaskRecord | undefined;
    store.getTask = async (taskId) => {
      if (!armed || finishing || taskId !== parent.taskId) return getTask(taskId);
      if (!readLive) {
        readLive = await getTask(taskId);
        finishing = true;
        await store.mutateTask(held!, (task) => changes.completed(task, new Date().toISOString()));
        await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
        finishing = false;
      }
      return readLive;
    };
    await arcResult(arcd.url, 'task.retry', { taskId: failing }, child);
    armed = false;
    expect(readLive?.status).toBe('WORKING');
    // Reopened in the retry's own write (it would have been refused had the completion
    // released a dependent): never COMPLETED with a child running again.
    expect((await getTask(parent.taskId))?.status).toBe('WORKING');
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
  });

  test("a family retried without a deadline runs its children under the parent's current one", async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const first = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const parent = await family(arcd, 'go hold:alpha', { deadline: first });
    const [held, failing] = parent.childTaskIds as string[];
    await waitForStatus(arcd.url, 'flaky-child', failing!, ['FAILED'], child);
    // The parent's deadline moves while a child has already failed: the live child follows.
    await arcResult(arcd.url, 'task.update', { taskId: parent.taskId, deadline: later }, on);
    await arcResult(arcd.url, 'task.cancel', { taskId: held }, on);
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    expect((await taskInfo(arcd.url, 'flaky-child', failing!, child)).deadline).toBe(first);

    const { task: retried } = await arcResult(
      arcd.url,
      'task.retry',
      { taskId: parent.taskId },
      on,
    );
    expect(retried).toMatchObject({ status: 'WORKING', deadline: later });
    for (const [taskId, target] of [
      [held, on],
      [failing, child],
    ] as const) {
      expect((await taskInfo(arcd.url, target.targetAgent, taskId!, target)).deadline).toBe(later);
    }
    await arcResult(arcd.url, 'task.cancel', { taskId: parent.taskId }, on);
  });

  test('a family retry is one write: refused whole over a passed deadline, then run under a new one', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const soon = new Date(Date.now() + 700).toISOString();
    const parent = await family(arcd, 'go', { deadline: soon });
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    const firstStart = (await arcd.server.store.getTask(parent.taskId))?.startedAt ?? '';
    await new Promise((resolve) => setTimeout(resolve, Date.parse(soon) - Date.now() + 50));
    const refused = await arcCall(arcd.url, 'task.retry', { taskId: parent.taskId }, on);
    expect(refused.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'deadline' }] },
    });
    const untouched = await taskInfo(arcd.url, 'flaky-child', parent.childTaskIds[1], child);
    expect(untouched.status).toBe('FAILED');
    expect((await taskInfo(arcd.url, 'alpha', parent.taskId, on)).status).toBe('FAILED');

    const later = new Date(Date.now() + 60_000).toISOString();
    const { task: retried } = await arcResult(
      arcd.url,
      'task.retry',
      { taskId: parent.taskId, deadline: later },
      on,
    );
    expect(retried).toMatchObject({ status: 'WORKING', deadline: later });
    // A new run from the retry: its durations count from now, not from the first start.
    const restart = (await arcd.server.store.getTask(parent.taskId))?.startedAt ?? '';
    expect(restart > firstStart).toBe(true);
    const rerunChild = await taskInfo(arcd.url, 'flaky-child', parent.childTaskIds[1], child);
    expect(rerunChild.deadline).toBe(later);
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    const events = await arcResult(
      arcd.url,
      'task.events',
      { taskId: parent.taskId, limit: 500 },
      on,
    );
    const own = events.events.filter((e: WireJson) => e.data.childTaskId === undefined);
    expect(own.map((e: WireJson) => e.event)).toContain('TASK_RETRIED');
    expect(
      own
        .filter((e: WireJson) => e.event === 'STATUS_CHANGE')
        .map((e: WireJson) => `${e.data.previousStatus}>${e.data.status}`),
    ).toEqual(['SUBMITTED>WORKING', 'WORKING>FAILED', 'FAILED>WORKING', 'WORKING>COMPLETED']);
  });

  test('with allowPartial, a failed child retried after the parent completed fills the gap', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const { task: parent } = await arcResult(
      arcd.url,
      'task.create',
      {
        initialMessage: textMessage('go'),
        assignedAgents: ['alpha', 'flaky-child'],
        settings: { allowPartial: true },
      },
      on,
    );
    const partial = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    expect(artifactNames(partial)).toEqual(['alpha:alpha says go']);
    const { task: reopened } = await arcResult(
      arcd.url,
      'task.retry',
      { taskId: parent.taskId },
      on,
    );
    expect(reopened.status).toBe('WORKING');
    await waitForStatus(arcd.url, 'flaky-child', parent.childTaskIds[1], ['COMPLETED'], child);
    const whole = await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    expect(artifactNames(whole)).toEqual(['alpha:alpha says go', 'flaky-child:fixed']);
  });

  test("a family run again gives its dependents every child's latest output, not only the new", async () => {
    const reader = defineAgent({
      id: 'reader',
      description: "names who made its dependency's artifacts",
      async handle(ctx) {
        const [family] = await ctx.dependencies();
        return (family?.artifacts ?? [])
          .map((a) => `${a.createdBy}:${a.parts[0]?.content}`)
          .sort()
          .join(',');
      },
    });
    const arcd = await startArcd({ agents: [...agents, flaky, reader], bundled: false });
    const parent = await family(arcd, 'go');
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    await arcResult(arcd.url, 'task.retry', { taskId: parent.taskId }, on);
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    const onReader = { targetAgent: 'reader' };
    const read = await createTask(
      arcd.url,
      'reader',
      'go',
      { dependencies: [parent.taskId] },
      onReader,
    );
    const answered = await waitForStatus(arcd.url, 'reader', read.taskId, ['COMPLETED'], onReader);
    expect(answered.messages.at(-1).parts[0].content).toBe('alpha:alpha says go,flaky-child:fixed');
    // A child run again alone: its new output replaces its old in what the family gives.
    const message = textMessage('again');
    await arcResult(arcd.url, 'task.run', { taskId: parent.childTaskIds[0], message }, on);
    await waitForStatus(arcd.url, 'alpha', parent.childTaskIds[0], ['COMPLETED'], on);
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
    const reread = await createTask(
      arcd.url,
      'reader',
      'go',
      { dependencies: [parent.taskId] },
      onReader,
    );
    const again = await waitForStatus(arcd.url, 'reader', reread.taskId, ['COMPLETED'], onReader);
    // (alpha's turn reads the task's caller messages, the first one included)
    expect(again.messages.at(-1).parts[0].content).toBe(
      'alpha:alpha says go\nagain,flaky-child:fixed',
    );
    const whole = await taskInfo(arcd.url, 'alpha', parent.taskId, on);
    expect(whole.artifacts).toHaveLength(3); // the family's history keeps alpha's first report
  });

  test("a family retry that would queue a child past its agent's bound is refused whole", async () => {
    const capped = defineAgent({
      ...worker('capped'),
      limits: { concurrency: 1, maxQueued: 1 },
    });
    const arcd = await startArcd({ agents: [...agents, capped], bundled: false });
    const parent = (
      await arcResult(
        arcd.url,
        'task.create',
        { initialMessage: textMessage('go fail:capped'), assignedAgents: ['alpha', 'capped'] },
        on,
      )
    ).task;
    await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
    const onCapped = { targetAgent: 'capped' };
    const running = await createTask(arcd.url, 'capped', 'hold:capped', {}, onCapped);
    await waitForStatus(arcd.url, 'capped', running.taskId, ['WORKING'], onCapped);
    await createTask(arcd.url, 'capped', 'hold:capped', {}, onCapped); // the queue is full
    const refused = await arcCall(arcd.url, 'task.retry', { taskId: parent.taskId }, on);
    expect(refused.body.error).toMatchObject({
      code: -41011,
      details: { agentId: 'capped', maxQueued: 1 },
    });
    expect(await arcd.server.store.countQueued('capped')).toBe(1);
    expect((await taskInfo(arcd.url, 'alpha', parent.taskId, on)).status).toBe('FAILED');
  });

  test('a canceled parent is not retried, nor are its children run again', async () => {
    const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
    const parent = await family(arcd, 'go hold:alpha');
    await waitForStatus(arcd.url, 'flaky-child', parent.childTaskIds[1], ['FAILED'], child);
    await arcResult(arcd.url, 'task.cancel', { taskId: parent.taskId }, on);
    const refused = await arcCall(arcd.url, 'task.retry', { taskId: parent.taskId }, on);
    expect(refused.body.error).toMatchObject({ code: -42006 });
    const run = await arcCall(arcd.url, 'task.run', { taskId: parent.taskId }, on);
    expect(run.body.error.message).toMatch(/multi-agent parent/);
    for (const method of ['task.retry', 'task.run']) {
      const again = await arcCall(arcd.url, method, { taskId: parent.childTaskIds[1] }, child);
      expect(again.body.error).toMatchObject({
        code: -42006,
        message: expect.stringContaining(`multi-agent task ${parent.taskId}, which is CANCELED`),
      });
    }
    const after = await taskInfo(arcd.url, 'flaky-child', parent.childTaskIds[1], child);
    expect(after.status).toBe('FAILED');
  });
});

test('a family is removed together: never a child alone, nor while its parent lives', async () => {
  const arcd = await startArcd({ agents, bundled: false, config: { retentionDays: 7 } });
  const parent = await fanOut(arcd, 'go ask:gamma');
  const [alpha, beta, gamma] = parent.childTaskIds as string[];
  await waitForStatus(arcd.url, 'gamma', gamma!, ['INPUT_REQUIRED'], { targetAgent: 'gamma' });
  await waitForStatus(arcd.url, 'alpha', alpha!, ['COMPLETED'], { targetAgent: 'alpha' });
  await waitForStatus(arcd.url, 'beta', beta!, ['COMPLETED'], { targetAgent: 'beta' });
  // Finished long ago, but their parent still waits on gamma: neither purged nor deletable.
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id IN (?, ?)').run(longAgo, alpha, beta);
  db.close();
  expect(await arcd.server.retention.purge()).toBe(0);
  const alone = await arcCall(arcd.url, 'task.delete', { taskId: alpha }, { targetAgent: 'alpha' });
  expect(alone.body.error).toMatchObject({
    code: -42006,
    details: { taskId: alpha, parentTaskId: parent.taskId },
  });
  const live = await arcCall(arcd.url, 'task.delete', { taskId: parent.taskId }, on);
  expect(live.body.error).toMatchObject({ code: -42006 });
  // gamma answers; the family finishes, and goes as one.
  await arcResult(arcd.url, 'task.send', { taskId: parent.taskId, message: textMessage('42') }, on);
  await waitForStatus(arcd.url, 'alpha', parent.taskId, ['COMPLETED'], on);
  const deleted = await arcResult(arcd.url, 'task.delete', { taskId: parent.taskId }, on);
  expect(deleted).toBeDefined();
  for (const [id, agent] of [
    [parent.taskId, 'alpha'],
    [alpha, 'alpha'],
    [gamma, 'gamma'],
  ] as const) {
    const gone = await arcCall(arcd.url, 'task.info', { taskId: id }, { targetAgent: agent });
    expect(gone.body.error).toMatchObject({ code: -42001 });
  }
});

test('a purge batch is bounded by tasks (families whole), and the purge never runs twice at once', async () => {
  const arcd = await startArcd({ agents, bundled: false, config: { retentionDays: 7 } });
  const families = [await fanOut(arcd, 'one'), await fanOut(arcd, 'two')];
  for (const family of families) {
    await waitForStatus(arcd.url, 'alpha', family.taskId, ['COMPLETED'], on);
  }
  const db = new Database(arcd.db);
  db.prepare('UPDATE tasks SET updated_at = ?').run(
    new Date(Date.now() - 8 * 86_400_000).toISOString(),
  );
  db.close();
  const now = new Date().toISOString();
  // Two tasks asked for: the first family goes whole (four), and the batch stops there.
  expect(await arcd.server.store.purgeFinished(now, 2, 10_000)).toEqual({ deleted: 4, more: true });
  // A zero time budget: a batch sheds one member's events at most, and the family goes whole
  // in the batch that deletes it.
  const batches: number[] = [];
  do {
    batches.push((await arcd.server.store.purgeFinished(now, 100, 0)).deleted);
  } while (batches.at(-1) === 0 && batches.length < 10);
  expect(batches.slice(0, -1).every((deleted) => deleted === 0)).toBe(true);
  expect(batches.at(-1)).toBe(4);
  expect(batches.length).toBeGreaterThan(1);
  expect(await arcd.server.store.purgeFinished(now, 100, 0)).toEqual({ deleted: 0, more: false });
  // A purge asked for while one runs joins it.
  const [first, second] = [arcd.server.retention.purge(), arcd.server.retention.purge()];
  expect(second).toBe(first);
  await first;
});

test('the retention purge takes finished families whole, or not at all', async () => {
  const arcd = await startArcd({ agents, bundled: false, config: { retentionDays: 7 } });
  const done = await fanOut(arcd, 'go');
  const needed = await fanOut(arcd, 'go too');
  await waitForStatus(arcd.url, 'alpha', done.taskId, ['COMPLETED'], on);
  await waitForStatus(arcd.url, 'alpha', needed.taskId, ['COMPLETED'], on);
  // A task still waits on one child of the second family (and on a task that holds).
  const hold = await createTask(arcd.url, 'alpha', 'hold:alpha', {}, on);
  const waiting = await createTask(arcd.url, 'beta', 'after', {
    dependencies: [needed.childTaskIds[0], hold.taskId],
  });
  const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
  const db = new Database(arcd.db);
  db.prepare('UPDATE tasks SET updated_at = ? WHERE task_id NOT IN (?, ?)').run(
    longAgo,
    hold.taskId,
    waiting.taskId,
  );
  db.close();
  // The first family goes whole (parent and three children); the second stays whole.
  expect(await arcd.server.retention.purge()).toBe(4);
  const left = new Database(arcd.db, { readonly: true });
  const ids = (left.prepare('SELECT task_id FROM tasks').all() as Array<{ task_id: string }>).map(
    (row) => row.task_id,
  );
  left.close();
  expect(ids.sort()).toEqual(
    [needed.taskId, ...needed.childTaskIds, hold.taskId, waiting.taskId].sort(),
  );
});
