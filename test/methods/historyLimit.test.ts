/**
 * task.info answers a task's history (messages and artifacts) up to --max-history-bytes, files
 * stored apart counted whole; past it, -45004 naming the way round, and nothing read whole.
 */
import { randomBytes } from 'node:crypto';
import { arcCall, arcResult, createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { holdAgent } from '../helpers/heldTasks';
import { artifactAdded, messageAdded } from '../../src/tasks/changes';
import type { TaskRecord } from '../../src/store/records';

/** An agent message carrying a file of `chars` base64 characters (a blob past 64K). */
const sendFile = (chars: number) => (task: TaskRecord) => {
  const at = new Date().toISOString();
  const content = randomBytes(chars).toString('base64').slice(0, chars);
  const parts = [{ type: 'FilePart', mimeType: 'application/octet-stream', content }];
  return messageAdded(task, { messageId: `msg-${at}`, role: 'agent', parts, timestamp: at }, at);
};

const on = { targetAgent: 'hold' };

test('a history past --max-history-bytes is refused with -45004; without its messages it is answered', async () => {
  const arcd = await startArcd({ agents: [holdAgent], config: { maxHistoryBytes: 300_000 } });
  const task = await createTask(arcd.url, 'hold', 'first', {}, on);
  await waitForStatus(arcd.url, 'hold', task.taskId, ['WORKING'], on);
  const { store } = arcd.server;

  await store.mutateTask(task.taskId, sendFile(200_000));
  const under = await arcResult(arcd.url, 'task.info', { taskId: task.taskId }, on);
  expect(under.task.messages).toHaveLength(2);

  // Two 200K files: each stored apart (a reference in its row), counted at their full size.
  await store.mutateTask(task.taskId, sendFile(200_000));
  const over = await arcCall(arcd.url, 'task.info', { taskId: task.taskId }, on);
  expect(over.status).toBe(200);
  expect(over.body.error).toMatchObject({
    code: -45004,
    message: expect.stringMatching(/includeMessages: false/),
    details: { taskId: task.taskId, limitBytes: 300_000 },
  });
  const bare = await arcResult(
    arcd.url,
    'task.info',
    { taskId: task.taskId, includeMessages: false },
    on,
  );
  expect(bare.task).toMatchObject({ taskId: task.taskId, status: 'WORKING' });
  expect(bare.task.messages).toBeUndefined();
});

/** task.info of the held task: its answer's byte length, or the error code. */
async function infoBytes(url: string, taskId: string) {
  const answer = await arcCall(url, 'task.info', { taskId }, on);
  if (answer.body.error) return { code: answer.body.error.code as number };
  return { bytes: Buffer.byteLength(JSON.stringify(answer.body.result.task)) };
}

test('the limit counts bytes as written: multi-byte text, escaped control characters, artifacts whole', async () => {
  const limit = 300_000;
  const arcd = await startArcd({ agents: [holdAgent], config: { maxHistoryBytes: limit } });
  const held = async () => {
    const task = await createTask(arcd.url, 'hold', 'first', {}, on);
    await waitForStatus(arcd.url, 'hold', task.taskId, ['WORKING'], on);
    return task.taskId as string;
  };
  const at = new Date().toISOString();
  const { store } = arcd.server;
  const message =
    (content: string, type = 'TextPart') =>
    (task: TaskRecord) =>
      messageAdded(
        task,
        {
          messageId: `msg-${type}`,
          role: 'agent',
          parts: [{ type, content, mimeType: 'text/plain' }],
          timestamp: at,
        },
        at,
      );

  // 120K characters each, well under the limit counted as characters: 240K bytes of UTF-8,
  // 720K once escaped, and an artifact whose description and metadata hold the rest.
  const accented = await held();
  await store.mutateTask(accented, message('é'.repeat(120_000)));
  expect(await infoBytes(arcd.url, accented)).toMatchObject({ bytes: expect.any(Number) });
  await store.mutateTask(accented, message('ü'.repeat(40_000)));
  expect(await infoBytes(arcd.url, accented)).toEqual({ code: -45004 });

  const control = await held();
  await store.mutateTask(control, message('\u0001'.repeat(120_000), 'FilePart'));
  expect(await infoBytes(arcd.url, control)).toEqual({ code: -45004 });

  const described = await held();
  const artifact = (n: number) => (task: TaskRecord) =>
    artifactAdded(
      task,
      {
        artifactId: `art-${n}`,
        name: 'notes',
        description: 'd'.repeat(100_000),
        parts: [{ type: 'TextPart', content: 'short' }],
        metadata: { note: 'm'.repeat(100_000) },
        createdAt: at,
      },
      at,
    );
  await store.mutateTask(described, artifact(1));
  const one = await infoBytes(arcd.url, described);
  expect(one.bytes).toBeGreaterThan(200_000);
  expect(one.bytes).toBeLessThan(limit);
  await store.mutateTask(described, artifact(2));
  expect(await infoBytes(arcd.url, described)).toEqual({ code: -45004 });
});

test('a blocking create answers its task whatever its history, settled or not: it is stored', async () => {
  const arcd = await startArcd({ agents: [holdAgent], config: { maxHistoryBytes: 1_000 } });
  const long = 'x'.repeat(5_000);
  const { task } = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: long }] }, wait: 300 },
    on,
  );
  // Held: not settled within the wait, answered as it stands, its history with it.
  expect(task.status).toBe('WORKING');
  expect(task.messages[0].parts[0].content).toBe(long);
  const refused = await arcCall(arcd.url, 'task.info', { taskId: task.taskId }, on);
  expect(refused.body.error).toMatchObject({ code: -45004 });
});
