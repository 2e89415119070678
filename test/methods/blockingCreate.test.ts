/** task.create with `wait`: answered once the task is finished or needs input, or on time-out. */
import { arcCall, arcResult, startArcd, textMessage } from '../helpers/arcServer';

test('a blocking create answers with the finished task and its history', async () => {
  const arcd = await startArcd();
  const { task } = await arcResult(arcd.url, 'task.create', {
    initialMessage: textMessage('hello'),
    wait: 10_000,
  });
  expect(task.status).toBe('COMPLETED');
  expect(
    task.messages.map((m: { parts: Array<{ content: string }> }) => m.parts[0]?.content),
  ).toEqual(['hello', 'hello']);
});

test('its answer carries the messages its commits wrote, without reading them back', async () => {
  const arcd = await startArcd();
  const reads = jest.spyOn(arcd.server.store, 'listMessages');
  const { task } = await arcResult(arcd.url, 'task.create', {
    initialMessage: textMessage('unread'),
    wait: 10_000,
  });
  expect(task.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'agent']);
  expect(task.messages[1].agentId).toBe('echo');
  expect(task.messages[1].parts).toEqual([{ type: 'TextPart', content: 'unread' }]);
  expect(reads).not.toHaveBeenCalled();
  reads.mockRestore();
});

test('it also answers when the task needs input, and on time-out with the status then', async () => {
  const arcd = await startArcd();
  const paused = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: textMessage('alpha beta'), wait: 10_000 },
    { targetAgent: 'document-analyzer' },
  );
  expect(paused.task.status).toBe('INPUT_REQUIRED');
  const slow = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: textMessage('steps=100'), wait: 300 },
    { targetAgent: 'slow' },
  );
  expect(['SUBMITTED', 'WORKING']).toContain(slow.task.status);
  const bad = await arcCall(arcd.url, 'task.create', { initialMessage: textMessage('x'), wait: 0 });
  expect(bad.body.error).toMatchObject({ code: -32602, details: { errors: [{ field: 'wait' }] } });
});
