/**
 * task.info answers a task's history (messages and artifacts) up to --max-history-bytes, files
 * stored apart counted whole; past it, -45004 naming the way round, and nothing read whole.
 */
import { randomBytes } from 'node:crypto';
import { arcCall, arcResult, createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { holdAgent } from '../helpers/heldTasks';
import { messageAdded } from '../../src/tasks/changes';
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
