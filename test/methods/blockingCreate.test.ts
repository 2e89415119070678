/** task.create with `wait`: answered once the task is finished or needs input, or on time-out. */
import Database from 'better-sqlite3';
import { arcCall, arcResult, startArcd, textMessage, waitFor } from '../helpers/arcServer';
import { holdAgent } from '../helpers/heldTasks';

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

test('it answers when another process finished the task (its commit is not heard here)', async () => {
  const arcd = await startArcd({ agents: [holdAgent] });
  const on = { targetAgent: 'hold' };
  const call = arcResult(
    arcd.url,
    'task.create',
    { initialMessage: textMessage('x'), wait: 60_000 },
    on,
  );
  await waitFor('the task', async () => {
    const { tasks } = await arcResult(arcd.url, 'task.list', {}, on);
    return tasks[0]?.status === 'WORKING' ? (tasks[0].taskId as string) : undefined;
  });
  const { tasks } = await arcResult(arcd.url, 'task.list', {}, on);
  // Another process ends it: nothing this process commits tells the wait.
  const other = new Database(arcd.db);
  other.pragma('busy_timeout = 5000');
  other.prepare("UPDATE tasks SET status = 'COMPLETED' WHERE task_id = ?").run(tasks[0].taskId);
  other.close();
  const { task } = await call; // waits 60 s unless it reads the task meanwhile
  expect(task.status).toBe('COMPLETED');
});
