/**
 * Multi-agent tasks: a three-agent fan-out completing with the children's artifacts gathered
 * and tagged; a failing child with and without allowPartial; cancelling the parent; input
 * routed to the waiting child; the parent's subscribers and stream seeing the children's
 * events, tagged; bad requests.
 */
import http from 'node:http';
import { type AgentDefinition, defineAgent } from '../../src/agents/contract';
import {
  type Running,
  type WireJson,
  arcCall,
  arcResult,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';

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
  await arcResult(
    arcd.url,
    'task.subscribe',
    { taskId: parent.taskId, callbackUrl: `${receiver.url}/hook`, replay: true },
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
  // Webhooks of the parent: the children's completions (tagged), then the parent's own.
  const received = await waitFor('four completions', async () =>
    receiver.received.length >= 4 ? receiver.received : undefined,
  );
  expect(received.map((r) => r.body.data.childAgent ?? 'parent').sort()).toEqual([
    'alpha',
    'beta',
    'gamma',
    'parent',
  ]);
  expect(received.at(-1)?.body).toMatchObject({ event: 'TASK_COMPLETED', taskId: parent.taskId });
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
  }
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
    { field: 'assignedAgents/1', message: 'no agent nobody here' },
  ]);
  expect((await create({ assignedAgents: ['alpha', 'alpha'] })).body.error.code).toBe(-32602);
  expect((await arcResult(arcd.url, 'task.list', {}, on)).tasks).toEqual([]);
  const parent = await fanOut(arcd, 'go fail:alpha');
  await waitForStatus(arcd.url, 'alpha', parent.taskId, ['FAILED'], on);
  const retry = await arcCall(arcd.url, 'task.retry', { taskId: parent.taskId }, on);
  expect(retry.body.error).toMatchObject({ code: -42006 });
  expect(retry.body.error.message).toMatch(/multi-agent parent/);
});

test('a failed child is retried while its parent runs; once the parent is finished, refused', async () => {
  let tries = 0;
  const flaky = defineAgent({
    id: 'flaky-child',
    description: 'fails its first try',
    handle: () => {
      tries += 1;
      if (tries === 1) throw new Error('first try fails');
      return 'done';
    },
  });
  const arcd = await startArcd({ agents: [...agents, flaky], bundled: false });
  const family = async (text: string) =>
    (
      await arcResult(
        arcd.url,
        'task.create',
        { initialMessage: textMessage(text), assignedAgents: ['alpha', 'flaky-child'] },
        on,
      )
    ).task as WireJson;
  const childOf = (parent: WireJson) => parent.childTaskIds[1] as string;
  const child = { targetAgent: 'flaky-child' };

  const live = await family('go hold:alpha');
  await waitForStatus(arcd.url, 'flaky-child', childOf(live), ['FAILED'], child);
  await arcResult(arcd.url, 'task.retry', { taskId: childOf(live) }, child);
  await waitForStatus(arcd.url, 'flaky-child', childOf(live), ['COMPLETED'], child);
  expect((await taskInfo(arcd.url, 'alpha', live.taskId, on)).status).toBe('WORKING');

  const finished = await family('go fail:alpha');
  await waitForStatus(arcd.url, 'alpha', finished.taskId, ['COMPLETED', 'FAILED'], on);
  const alphaChild = { taskId: finished.childTaskIds[0], deadline: null };
  for (const method of ['task.retry', 'task.run']) {
    const refused = await arcCall(arcd.url, method, alphaChild, on);
    expect(refused.body.error).toMatchObject({
      code: -42006,
      message: expect.stringContaining(`multi-agent task ${finished.taskId}, which is FAILED`),
    });
  }
  const after = await taskInfo(arcd.url, 'alpha', finished.childTaskIds[0], on);
  expect(after.status).toBe('FAILED');
});
