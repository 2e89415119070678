/**
 * A page of a task's event log: bounded by a count and by the size of the events' data, files
 * stored as blobs counted at their full size, one event at least however large, and `more`
 * saying whether another followed.
 */
import { randomBytes } from 'node:crypto';
import { createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { holdAgent, say } from '../helpers/heldTasks';
import { messageAdded } from '../../src/tasks/changes';
import type { TaskRecord } from '../../src/store/records';

/** A message carrying a file of `chars` base64 characters (a blob past 64K). */
const sendFile = (chars: number) => (task: TaskRecord) => {
  const at = new Date().toISOString();
  const content = randomBytes(Math.ceil((chars * 3) / 4))
    .toString('base64')
    .slice(0, chars);
  const parts = [{ type: 'FilePart', mimeType: 'application/octet-stream', content }];
  return messageAdded(task, { messageId: `msg-${at}`, role: 'agent', parts, timestamp: at }, at);
};

async function heldTask() {
  const arcd = await startArcd({ agents: [holdAgent] });
  const task = await createTask(arcd.url, 'hold', 'first');
  await waitForStatus(arcd.url, 'hold', task.taskId, ['WORKING']);
  return { store: arcd.server.store, taskId: task.taskId as string };
}

test('a page holds at most the events asked for; `more` says whether another followed', async () => {
  const { store, taskId } = await heldTask();
  for (let i = 0; i < 5; i += 1) await store.mutateTask(taskId, say(`n${i}`));
  const all = await store.listEvents(taskId);
  const big = { events: 1000, bytes: 1 << 30 };

  const first = await store.eventPage(taskId, 0, { events: 3, bytes: big.bytes });
  expect(first.events.map((e) => e.seq)).toEqual([1, 2, 3]);
  expect(first.more).toBe(true);
  const rest = await store.eventPage(taskId, 3, big);
  expect(rest.events).toEqual(all.slice(3));
  expect(rest.more).toBe(false);
  // Exactly as many as there are: none followed.
  const exact = await store.eventPage(taskId, 0, { events: all.length, bytes: big.bytes });
  expect(exact).toEqual({ events: all, more: false });
  expect(await store.eventPage(taskId, all.length, big)).toEqual({ events: [], more: false });
});

test('a page ends at the event that takes its data past the budget, files counted whole', async () => {
  const { store, taskId } = await heldTask();
  const before = (await store.getTask(taskId))!.lastSeq;
  // Three messages of 100K-character files: each a blob, a few dozen characters in its row.
  for (let i = 0; i < 3; i += 1) await store.mutateTask(taskId, sendFile(100_000));
  const budget = { events: 1000, bytes: 150_000 };

  // Each message's event carries its file: the second passes 150K, the page ends with it.
  const page = await store.eventPage(taskId, before, budget);
  expect(page.more).toBe(true);
  const sizes = page.events.map((e) => JSON.stringify(e.data).length);
  expect(sizes.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(budget.bytes);
  expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(budget.bytes);
  expect(JSON.stringify(page.events)).not.toContain('$arcdBlob'); // the files put back

  // Paged to the end, the pages are the log, in order.
  const paged = [...page.events];
  for (let more = page.more; more;) {
    const next = await store.eventPage(taskId, paged.at(-1)!.seq, budget);
    paged.push(...next.events);
    more = next.more;
  }
  expect(paged).toEqual(await store.listEvents(taskId, before));
});

test('one event larger than the whole budget is a page of its own', async () => {
  const { store, taskId } = await heldTask();
  const before = (await store.getTask(taskId))!.lastSeq;
  await store.mutateTask(taskId, sendFile(200_000));
  await store.mutateTask(taskId, say('after'));
  const page = await store.eventPage(taskId, before, { events: 100, bytes: 1_000 });
  expect(page.events).toHaveLength(1);
  expect(JSON.stringify(page.events[0]!.data).length).toBeGreaterThan(200_000);
  expect(page.more).toBe(true);
});

test('the budget counts the bytes of the data as written, not its characters', async () => {
  const { store, taskId } = await heldTask();
  const before = (await store.getTask(taskId))!.lastSeq;
  for (let i = 0; i < 3; i += 1) await store.mutateTask(taskId, say(`${i}${'é'.repeat(10_000)}`));
  // Each message's event holds its text twice (its id is made of it): 20K characters, 40K
  // bytes. Counted as characters, the second event would be the one to pass 30K.
  const page = await store.eventPage(taskId, before, { events: 100, bytes: 30_000 });
  expect(page.events.map((e) => e.type)).toEqual(['NEW_MESSAGE']);
  expect(page.more).toBe(true);
});
