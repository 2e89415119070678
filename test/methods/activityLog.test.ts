import { arcCall, arcResult, createTask, startArcd, waitForStatus } from '../helpers/arcServer';

test('task.events pages through the stored event log', async () => {
  const arcd = await startArcd();
  const task = await createTask(arcd.url, 'echo', 'hi');
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  const all = await arcResult(arcd.url, 'task.events', { taskId: task.taskId });
  expect(all.events.map((e: { sequence: number; event: string }) => [e.sequence, e.event])).toEqual(
    [
      [1, 'TASK_CREATED'],
      [2, 'NEW_MESSAGE'],
      [3, 'TASK_STARTED'],
      [4, 'STATUS_CHANGE'],
      [5, 'NEW_MESSAGE'],
      [6, 'TASK_COMPLETED'],
      [7, 'STATUS_CHANGE'],
    ],
  );
  const page = await arcResult(arcd.url, 'task.events', {
    taskId: task.taskId,
    after: 2,
    limit: 2,
  });
  expect(page.events.map((e: { sequence: number }) => e.sequence)).toEqual([3, 4]);
  expect(page.events[0]).toMatchObject({
    event: 'TASK_STARTED',
    timestamp: expect.stringMatching(/Z$/),
    data: { status: 'WORKING' },
  });
  const bad = await arcCall(arcd.url, 'task.events', { taskId: task.taskId, after: -1 });
  expect(bad.body.error).toMatchObject({ code: -32602, details: { errors: [{ field: 'after' }] } });
});
