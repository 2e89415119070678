/**
 * mutateTask with the task as the caller last saw it: the plan gets that record when the row
 * has not changed since (no re-read), and whenever anything moved it (a change with events, a
 * claim, usage or progress written directly) the change committed is planned on the row as it
 * is. With the writer thread the plan may first be given the known record, found stale inside
 * the batch's transaction and planned again: the last plan call is the one that counts.
 */
import type { Mutation, TaskRecord } from '../../src/store/records';
import { type Running, createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { holdAgent } from '../helpers/heldTasks';

let arcd: Running;
afterEach(async () => arcd?.close());

const touch = (task: TaskRecord): Mutation => ({
  patch: { updatedAt: new Date(Date.parse(task.updatedAt) + 1).toISOString() },
  events: [],
});

async function heldTask() {
  arcd = await startArcd({ agents: [holdAgent] });
  const created = await createTask(arcd.url, 'hold', 'x');
  await waitForStatus(arcd.url, 'hold', created.taskId, ['WORKING']);
  const store = arcd.server.store;
  const seen: TaskRecord[] = [];
  const plan = (task: TaskRecord) => {
    seen.push(task);
    return touch(task);
  };
  const first = await store.mutateTask(created.taskId, plan);
  return { store, taskId: created.taskId, seen, plan, known: first!.task };
}

test('an unchanged row: the plan gets the known record itself', async () => {
  const { store, taskId, seen, plan, known } = await heldTask();
  await store.mutateTask(taskId, plan, known);
  expect(seen[1]).toBe(known);
  expect(seen).toHaveLength(2);
});

test('usage or progress written since: the plan gets the row as it is now', async () => {
  const { store, taskId, seen, plan, known } = await heldTask();
  await store.setProgress(taskId, { progress: 0.5 });
  await store.mutateTask(taskId, plan, known);
  const last = () => seen[seen.length - 1];
  expect(last()).not.toBe(known);
  expect(last()?.progress).toBe(0.5);
  const runId = (await store.listRuns(taskId))[0]?.runId as string;
  const afterProgress = (await store.mutateTask(taskId, plan, last()))!.task;
  await store.addUsage(taskId, runId, 12, 0.5);
  await store.mutateTask(taskId, plan, afterProgress);
  expect(last()?.tokensUsed).toBe(12);
  const row = (await store.getTask(taskId)) as TaskRecord;
  expect(row.tokensUsed).toBe(12); // the usage survived the change planned after it
  expect(row.progress).toBe(0.5);
});

test('a change with events since (a cancel): the plan sees it', async () => {
  const { store, taskId, seen, known } = await heldTask();
  await arcd.server.tasks.cancel(
    { requestAgent: 'tester', targetAgent: 'hold' },
    { taskId, reason: 'enough' },
  );
  await store.mutateTask(
    taskId,
    (task) => {
      seen.push(task);
      return null;
    },
    known,
  );
  expect(seen[seen.length - 1]?.status).toBe('CANCELED');
});
