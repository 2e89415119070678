/**
 * The event feed hands a commit's events to watchers as the commit reported them when they
 * follow what was handed out last, and reads the database only after a gap (events another
 * process committed), so no watcher ever misses or repeats one.
 */
import type { EventRecord, TaskRecord } from '../../src/store/records';
import { SqliteStore } from '../../src/store/sqliteStore';
import { holdAgent, say } from '../helpers/heldTasks';
import { type Running, createTask, startArcd, waitFor, waitForStatus } from '../helpers/arcServer';

let arcd: Running;
afterEach(async () => arcd?.close());

async function watchedTask() {
  // No look for other processes' commits comes round during a test (every pollMs): what is
  // read, a commit's gap read, is what each test says.
  arcd = await startArcd({ agents: [holdAgent], config: { pollMs: 600_000 } });
  const created = await createTask(arcd.url, 'hold', 'first');
  await waitForStatus(arcd.url, 'hold', created.taskId, ['WORKING']);
  const taskId = created.taskId as string;
  const store = arcd.server.store;
  const seen: EventRecord[] = [];
  const lastSeq = ((await store.getTask(taskId)) as TaskRecord).lastSeq;
  const watch = arcd.server.feed.watch(taskId, lastSeq, (events) => seen.push(...events));
  return { taskId, store, seen, lastSeq, watch };
}

test("a commit's own events reach watchers without a database read", async () => {
  const { taskId, store, seen, lastSeq } = await watchedTask();
  const before = arcd.server.feed.reads;
  for (const text of ['a', 'b', 'c']) await store.mutateTask(taskId, say(text));
  expect(seen.map((e) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
  expect(seen.map((e) => (e.data.messageContent as { messageId: string }).messageId)).toEqual([
    'msg-a',
    'msg-b',
    'msg-c',
  ]);
  expect(arcd.server.feed.reads).toBe(before);
});

test('after events committed elsewhere, the next commit reads the gap: none missed, none twice', async () => {
  const { taskId, store, seen, lastSeq } = await watchedTask();
  // Another process on the same file (a second store) appends an event this one never hears of.
  const elsewhere = new SqliteStore(arcd.db);
  await elsewhere.mutateTask(taskId, say('elsewhere'));
  await elsewhere.close();
  expect(seen).toEqual([]);
  const before = arcd.server.feed.reads;
  await store.mutateTask(taskId, say('here'));
  await waitFor('both events', async () => (seen.length === 2 ? true : undefined));
  expect(seen.map((e) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2]);
  expect(arcd.server.feed.reads).toBe(before + 1);
  await store.mutateTask(taskId, say('again'));
  expect(seen.map((e) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2, lastSeq + 3]);
});

test('a replaying watcher takes commits as reported, with no read; once caught up, a gap is read', async () => {
  const { taskId, store, seen: caughtUpSeen, lastSeq, watch: caughtUp } = await watchedTask();
  const { feed } = arcd.server;
  const seen: number[] = [];
  const watch = feed.watchReplaying(taskId, (events) => seen.push(...events.map((e) => e.seq)));
  const elsewhere = new SqliteStore(arcd.db);
  const before = feed.reads;

  // Beside a caught-up watcher, it gets that one's gap read too.
  await elsewhere.mutateTask(taskId, say('elsewhere 1'));
  await store.mutateTask(taskId, say('here 1'));
  await waitFor('the read', async () => (seen.length >= 2 ? true : undefined));
  expect(seen).toEqual([lastSeq + 1, lastSeq + 2]);
  expect(caughtUpSeen.map((e) => e.seq)).toEqual([lastSeq + 1, lastSeq + 2]);
  expect(feed.reads).toBe(before + 1);

  // Alone, it is handed a commit that follows a gap as reported, and no read is made.
  const alone: number[] = [];
  const lone = feed.watchReplaying(taskId, (events) => alone.push(...events.map((e) => e.seq)));
  watch.stop();
  caughtUp.stop();
  await elsewhere.mutateTask(taskId, say('elsewhere 2'));
  await store.mutateTask(taskId, say('here 2'));
  expect(alone).toEqual([lastSeq + 4]);
  expect(feed.reads).toBe(before + 1);

  // Caught up, it is kept contiguous: the next gap is read.
  lone.caughtUp(lastSeq + 4);
  await elsewhere.mutateTask(taskId, say('elsewhere 3'));
  await store.mutateTask(taskId, say('here 3'));
  await waitFor('the second read', async () => (alone.length >= 3 ? true : undefined));
  expect(alone).toEqual([lastSeq + 4, lastSeq + 5, lastSeq + 6]);
  expect(feed.reads).toBe(before + 2);
  await elsewhere.close();
  lone.stop();
});
