/**
 * The dependency checks a write makes as it is planned (`releasedAtCommit`, `unmetAtCommit`,
 * `statusAtCommit`) hold at its commit too: with the writer thread, a plan reads on the main
 * connection and its batch commits later on the thread, and another process's write landing in
 * between has the write planned again (the guard in the batch), where the check now sees it.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import type { Mutation } from '../../src/store/records';
import { createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

const held = defineAgent({
  id: 'held',
  description: 'never ends on its own',
  async handle(ctx) {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  },
});

/** A change that writes nothing but the row's time: what the plan returns when its check passes. */
const touch = (at: string): Mutation => ({
  patch: { updatedAt: at, internalStatus: 'touched' },
  events: [],
});

async function setUp() {
  const db = tempDbFile();
  const arcd = await startArcd({ db, agents: [held] });
  const other = new Database(db); // another process's connection
  other.pragma('busy_timeout = 5000');
  const quick = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', quick.taskId, ['COMPLETED']);
  const dependent = await createTask(
    arcd.url,
    'held',
    'go',
    { dependencies: [quick.taskId] },
    { targetAgent: 'held' },
  );
  await waitForStatus(arcd.url, 'held', dependent.taskId, ['WORKING'], { targetAgent: 'held' });
  return { arcd, other, quick: quick.taskId as string, dependent: dependent.taskId as string };
}

test("a release committed between a run again's check and its commit has it planned again", async () => {
  const { arcd, other, quick, dependent } = await setUp();
  // The dependent as not yet released, as the run again first reads it.
  other.prepare('UPDATE tasks SET blocked = 1 WHERE task_id = ?').run(dependent);
  const seen: string[][] = [];
  const store = arcd.server.store;
  const written = store.mutateTask(quick, (current) => {
    const released = store.releasedAtCommit(current.taskId);
    seen.push(released);
    if (seen.length === 1) {
      // Another process releases it now: after this read, before this batch commits.
      other.prepare('UPDATE tasks SET blocked = 0 WHERE task_id = ?').run(dependent);
    }
    if (released.length > 0) throw new Error(`still needed by ${released.join(', ')}`);
    return touch(new Date().toISOString());
  });
  await expect(written).rejects.toThrow(`still needed by ${dependent}`);
  expect(seen).toEqual([[], [dependent]]);
  other.close();
});

test("a run again committed between a release's check and its commit has it planned again", async () => {
  const { arcd, other, quick, dependent } = await setUp();
  const seen: string[][] = [];
  const store = arcd.server.store;
  const written = await store.mutateTask(dependent, (current) => {
    const unmet = store.unmetAtCommit(current.taskId);
    seen.push(unmet);
    if (seen.length === 1) {
      // Another process runs the dependency again now.
      other.prepare("UPDATE tasks SET status = 'SUBMITTED' WHERE task_id = ?").run(quick);
    }
    return unmet.length > 0 ? null : touch(new Date().toISOString());
  });
  expect(seen).toEqual([[], [quick]]);
  expect(written?.task.internalStatus).toBeUndefined(); // planned again: nothing written
  other.close();
});

test('a guard an earlier write of its own batch fails is planned again on its own, and ends', async () => {
  const { arcd, other, quick, dependent } = await setUp();
  const store = arcd.server.store;
  const at = new Date().toISOString();
  // Both recorded in one batch: the first runs its dependency again, so the second's guard
  // (no unmet dependency, as read on the main connection) fails at the batch's commit; every
  // plan of both together would fail the same way.
  const rerun = store.mutateTask(quick, () => ({
    patch: { status: 'SUBMITTED', updatedAt: at },
    events: [],
  }));
  const seen: string[][] = [];
  const release = store.mutateTask(dependent, (current) => {
    const unmet = store.unmetAtCommit(current.taskId);
    seen.push(unmet);
    return unmet.length > 0 ? null : touch(at);
  });
  await rerun;
  const released = await release;
  expect(seen).toEqual([[], [quick]]);
  expect(released?.task.internalStatus).toBeUndefined();
  other.close();
});

test("a run again committed between a failure's check and its commit has it planned again", async () => {
  const { arcd, other, quick, dependent } = await setUp();
  other.prepare("UPDATE tasks SET status = 'FAILED' WHERE task_id = ?").run(quick);
  const seen: boolean[] = [];
  const store = arcd.server.store;
  const written = await store.mutateTask(dependent, () => {
    const failed = store.statusAtCommit(quick, 'FAILED');
    seen.push(failed);
    if (seen.length === 1) {
      // Another process runs the failed dependency again now.
      other.prepare("UPDATE tasks SET status = 'SUBMITTED' WHERE task_id = ?").run(quick);
    }
    return failed ? touch(new Date().toISOString()) : null;
  });
  expect(seen).toEqual([true, false]);
  expect(written?.task.internalStatus).toBeUndefined(); // planned again: nothing written
  other.close();
});
