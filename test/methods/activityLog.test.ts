import { holdAgent, say } from '../helpers/heldTasks';
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
  expect(page.more).toBe(true);
  expect(all.more).toBe(false);
  expect(page.events[0]).toMatchObject({
    event: 'TASK_STARTED',
    timestamp: expect.stringMatching(/Z$/),
    data: { status: 'WORKING' },
  });
  const bad = await arcCall(arcd.url, 'task.events', { taskId: task.taskId, after: -1 });
  expect(bad.body.error).toMatchObject({ code: -32602, details: { errors: [{ field: 'after' }] } });
});

test('task.events answers fewer events than asked when their data is large, and says more follow', async () => {
  const arcd = await startArcd({ agents: [holdAgent] });
  const task = await createTask(arcd.url, 'hold', 'first');
  await waitForStatus(arcd.url, 'hold', task.taskId, ['WORKING']);
  const { store } = arcd.server;
  const big = 'z'.repeat(3 * 1024 * 1024);
  for (let i = 0; i < 5; i += 1) await store.mutateTask(task.taskId, say(`${i}-${big}`));
  const lastSeq = (await store.getTask(task.taskId))!.lastSeq;
  // 15 MiB of messages: more than one answer's 8 MB, though 1000 events were asked for.
  const seen: number[] = [];
  let answers = 0;
  for (let more = true; more; answers += 1) {
    const page = await arcResult(
      arcd.url,
      'task.events',
      {
        taskId: task.taskId,
        after: seen.at(-1) ?? 0,
        limit: 1000,
      },
      { targetAgent: 'hold' },
    );
    expect(page.events.length).toBeGreaterThan(0);
    seen.push(...page.events.map((e: { sequence: number }) => e.sequence));
    more = page.more;
  }
  expect(answers).toBeGreaterThan(1);
  expect(seen).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
});
