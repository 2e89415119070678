/**
 * A task is visible only to the agent that created it and to the agent running it; everyone
 * else gets -42001, for every method that names a task, as if it did not exist.
 */
import {
  type Running,
  arcCall,
  createTask,
  startArcd,
  textMessage,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
let taskId: string;

beforeEach(async () => {
  arcd = await startArcd();
  taskId = (await createTask(arcd.url, 'document-analyzer', 'doc', {}, { requestAgent: 'alice' }))
    .taskId;
  await waitForStatus(arcd.url, 'document-analyzer', taskId, ['INPUT_REQUIRED'], {
    requestAgent: 'alice',
  });
});

const calls: Array<[string, (id: string) => Record<string, unknown>]> = [
  ['task.info', (id) => ({ taskId: id })],
  ['task.get', (id) => ({ taskId: id })],
  ['task.send', (id) => ({ taskId: id, message: textMessage('intruding') })],
  ['task.cancel', (id) => ({ taskId: id })],
  ['task.events', (id) => ({ taskId: id })],
  ['task.runs', (id) => ({ taskId: id })],
  ['task.subscribe', (id) => ({ taskId: id, callbackUrl: 'https://example.com/hook' })],
  [
    'task.notification',
    (id) => ({ taskId: id, event: 'TASK_STARTED', timestamp: new Date().toISOString(), data: {} }),
  ],
];

describe('task isolation', () => {
  test.each(calls)("another caller's %s is answered as not found", async (method, params) => {
    const reply = await arcCall(arcd.url, method, params(taskId), {
      targetAgent: 'document-analyzer',
      requestAgent: 'mallory',
    });
    expect(reply.body.error).toEqual({
      code: -42001,
      message: `Task not found: ${taskId}`,
      details: { taskId },
    });
  });

  test.each(calls)('%s through another agent is answered as not found', async (method, params) => {
    const reply = await arcCall(arcd.url, method, params(taskId), {
      targetAgent: 'echo',
      requestAgent: 'alice',
    });
    expect(reply.body.error).toMatchObject({ code: -42001, details: { taskId } });
  });

  test('nothing was changed by the refused calls', async () => {
    for (const [method, params] of calls) {
      await arcCall(arcd.url, method, params(taskId), {
        targetAgent: 'document-analyzer',
        requestAgent: 'mallory',
      });
    }
    const info = await arcCall(
      arcd.url,
      'task.info',
      { taskId },
      { targetAgent: 'document-analyzer', requestAgent: 'alice' },
    );
    expect(info.body.result.task.status).toBe('INPUT_REQUIRED');
    expect(info.body.result.task.messages).toHaveLength(2);
    expect(await arcd.server.store.listSubscriptions(taskId)).toEqual([]);
    expect(await arcd.server.store.listNotifications(taskId)).toEqual([]);
  });

  test('the creator and the running agent both see it', async () => {
    for (const requestAgent of ['alice', 'document-analyzer']) {
      const reply = await arcCall(
        arcd.url,
        'task.info',
        { taskId },
        { targetAgent: 'document-analyzer', requestAgent },
      );
      expect(reply.body.result.task.taskId).toBe(taskId);
    }
  });
});
