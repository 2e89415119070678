/**
 * Remote agents with two arcd instances on loopback: the front instance forwards each bundled
 * agent's task to the back instance and mirrors its life — replies, a request for input and
 * the answer, artifacts, failure, cancel — into its own store, where its subscribers see it.
 */
import { parseRemoteAgents } from '../../src/agents/remoteAgent';
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';

let back: Running;
let front: Running;

beforeEach(async () => {
  back = await startArcd({ config: { serverName: 'back' } });
  const remotes = ['echo', 'document-analyzer', 'flaky', 'slow']
    .map((id) => `remote-${id}=${back.url}/${id}`)
    .join(',');
  front = await startArcd({
    bundled: false,
    config: {
      serverName: 'front',
      remoteAgents: remotes,
      webhookAllowlist: '127.0.0.1',
      webhookPollMs: 25,
    },
  });
});

test('ARCD_REMOTE_AGENTS parses ids, endpoints and remote ids', () => {
  expect(parseRemoteAgents('a=http://h:1/x, b=https://k')).toEqual([
    { id: 'a', endpoint: 'http://h:1', remoteAgent: 'x' },
    { id: 'b', endpoint: 'https://k' },
  ]);
  expect(() => parseRemoteAgents('oops')).toThrow(/id=url/);
});

test('a forwarded echo task completes with the remote reply, and local subscribers see it', async () => {
  const receiver = await startReceiver();
  const task = await createTask(front.url, 'remote-echo', 'over the wire');
  await arcResult(
    front.url,
    'task.subscribe',
    { taskId: task.taskId, callbackUrl: receiver.url, replay: true },
    { targetAgent: 'remote-echo' },
  );
  const done = await waitForStatus(front.url, 'remote-echo', task.taskId, ['COMPLETED']);
  expect(done.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'agent']);
  expect(done.messages[1].parts).toEqual([{ type: 'TextPart', content: 'over the wire' }]);
  await waitFor('the local webhook', async () =>
    receiver.received.some((r) => r.body.event === 'TASK_COMPLETED') ? true : undefined,
  );
  // The back instance holds the real task, created by the front server in its own name.
  const { remoteTaskId } = (await front.server.store.lastCheckpoint(task.taskId))!.data as {
    remoteTaskId: string;
  };
  const remote = await taskInfo(back.url, 'echo', remoteTaskId, { requestAgent: 'front' });
  expect(remote).toMatchObject({
    status: 'COMPLETED',
    requestAgent: 'front',
    metadata: { forwardedFrom: task.taskId },
  });
});

test('input requested remotely is asked locally, and the answer is forwarded', async () => {
  const task = await createTask(front.url, 'remote-document-analyzer', 'red green\nblue red');
  const waiting = await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, [
    'INPUT_REQUIRED',
  ]);
  expect(waiting.messages[1].parts[0].content).toMatch(/focus/);
  await arcResult(
    front.url,
    'task.send',
    { taskId: task.taskId, message: textMessage('red') },
    { targetAgent: 'remote-document-analyzer' },
  );
  const done = await waitForStatus(front.url, 'remote-document-analyzer', task.taskId, [
    'COMPLETED',
  ]);
  expect(done.artifacts).toHaveLength(1);
  expect(done.artifacts[0]).toMatchObject({
    name: 'analysis',
    parts: [{ content: { focus: 'red', mentions: ['red green', 'blue red'] } }],
    metadata: { remoteArtifactId: expect.stringMatching(/^art-/) },
  });
  expect(done.messages.at(-1).parts[0].content).toMatch(/Analysis done/);
});

test('a remote failure fails the local task; a local cancel cancels the remote task', async () => {
  const failing = await createTask(front.url, 'remote-flaky', 'no luck');
  const failed = await waitForStatus(front.url, 'remote-flaky', failing.taskId, ['FAILED']);
  expect(failed.reason).toMatch(/remote task failed: .*flaky agent failed on purpose/);

  const slow = await createTask(front.url, 'remote-slow', 'steps=50');
  await waitFor('remote progress', async () =>
    (await taskInfo(front.url, 'remote-slow', slow.taskId)).messages.length >= 2 ? true : undefined,
  );
  await arcResult(
    front.url,
    'task.cancel',
    { taskId: slow.taskId },
    { targetAgent: 'remote-slow' },
  );
  const { remoteTaskId } = (await front.server.store.lastCheckpoint(slow.taskId))!.data as {
    remoteTaskId: string;
  };
  await waitForStatus(back.url, 'slow', remoteTaskId, ['CANCELED'], { requestAgent: 'front' });
});
