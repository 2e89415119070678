/**
 * The logs of tasks created here, kept from their commits: whole from sequence 1, dropped at a
 * gap, the oldest forgotten past the limit, and used only while the database agrees.
 */
import type { EventRecord, TaskRecord } from '../../src/store/records';
import type { CommitListener, Store } from '../../src/store/store';
import Database from 'better-sqlite3';
import { RecentTaskLogs } from '../../src/tasks/recentTaskLogs';
import { createTask, startArcd, waitForStatus } from '../helpers/arcServer';
import { holdAgent, say } from '../helpers/heldTasks';

function setup(limit = 2) {
  const listeners: CommitListener[] = [];
  let current = true;
  /** Each task's last sequence in the database; commits not yet answered wait in `inFlight`. */
  const committedSeq = new Map<string, number>();
  const inFlight: Array<() => void> = [];
  const isCurrent = jest.fn(
    async (known: TaskRecord) => current && committedSeq.get(known.taskId) === known.lastSeq,
  );
  const store = {
    onCommit: (listener: CommitListener) => listeners.push(listener),
    isCurrent,
    inFlightAnswered: async () => {
      for (const answer of inFlight.splice(0)) answer();
    },
  } as unknown as Store;
  const logs = new RecentTaskLogs(store, limit);
  /** Commits events `from`..`to` of `taskId` to the database; the returned call answers it. */
  const committedOnly = (taskId: string, from: number, to: number, text = '') => {
    const events = Array.from(
      { length: to - from + 1 },
      (_, i) =>
        ({
          taskId,
          seq: from + i,
          eventId: `evt-${from + i}`,
          type: 'TASK_UPDATED',
          data: { parts: [{ text }] },
          createdAt: '',
        }) as EventRecord,
    );
    const task = { taskId, lastSeq: to } as TaskRecord;
    const eventChars = events.reduce((sum, event) => sum + JSON.stringify(event.data).length, 0);
    committedSeq.set(taskId, to);
    return () => {
      for (const listener of listeners)
        listener(taskId, { deliveries: 0, task, events, eventChars });
    };
  };
  /** Commits events `from`..`to` of `taskId`, and answers at once. */
  const commit = (taskId: string, from: number, to: number, text = '') =>
    committedOnly(taskId, from, to, text)();
  /** Commits them, the answer still on its way (told once the store's writes in flight are). */
  const commitUnanswered = (taskId: string, from: number, to: number) =>
    inFlight.push(committedOnly(taskId, from, to));
  /** Commits event 1 of `taskId` without saying how large it is. */
  const commitUnsized = (taskId: string) => {
    const events = [
      {
        taskId,
        seq: 1,
        eventId: 'e',
        type: 'TASK_UPDATED',
        data: {},
        createdAt: '',
      } as EventRecord,
    ];
    const task = { taskId, lastSeq: 1 } as TaskRecord;
    committedSeq.set(taskId, 1);
    for (const listener of listeners) listener(taskId, { deliveries: 0, task, events });
  };
  const seqs = async (taskId: string) =>
    (await logs.current(taskId))?.events.map((event) => event.seq);
  return {
    logs,
    commit,
    commitUnanswered,
    commitUnsized,
    seqs,
    isCurrent,
    disagree: () => (current = false),
  };
}

test('a log kept from sequence 1 grows with each commit', async () => {
  const { commit, seqs, logs } = setup();
  commit('a', 1, 4);
  commit('a', 5, 7);
  expect(await seqs('a')).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(logs.peek('a')?.lastSeq).toBe(7);
});

test('a task first seen past its start, or after a gap, is not kept', async () => {
  const { commit, seqs } = setup();
  commit('late', 3, 4);
  commit('gap', 1, 4);
  commit('gap', 6, 7);
  expect([await seqs('late'), await seqs('gap')]).toEqual([undefined, undefined]);
});

test('past the limit the oldest go; a log the database disagrees with is not used', async () => {
  const { commit, seqs, disagree, logs } = setup(2);
  const ids = ['a', 'b', 'c', 'd'];
  for (const id of ids.slice(0, 3)) commit(id, 1, 2);
  expect(await seqs('a')).toEqual([1, 2]); // up to twice the limit are kept
  commit('d', 1, 2); // the oldest generation goes whole
  expect(await Promise.all(ids.map(seqs))).toEqual([undefined, undefined, [1, 2], [1, 2]]);
  disagree();
  expect(await seqs('d')).toBeUndefined();
  expect(logs.peek('d')?.taskId).toBe('d');
});

test('a log holding much text (a file, say) is not kept', async () => {
  const { commit, seqs } = setup();
  commit('small', 1, 4, 'x'.repeat(1000));
  commit('file', 1, 4);
  commit('file', 5, 5, 'x'.repeat(40 * 1024));
  expect([await seqs('small'), await seqs('file')]).toEqual([[1, 2, 3, 4], undefined]);
});

test('a commit that does not say how large its events are is not kept', async () => {
  const { commitUnsized, seqs } = setup();
  commitUnsized('unsized');
  expect(await seqs('unsized')).toBeUndefined();
});

test('a log the database is ahead of by a commit still being answered is used once it is', async () => {
  const { commit, commitUnanswered, seqs, isCurrent } = setup();
  commit('a', 1, 3);
  commitUnanswered('a', 4, 5);
  expect(await seqs('a')).toEqual([1, 2, 3, 4, 5]);
  expect(isCurrent).toHaveBeenCalledTimes(2); // behind, then caught up
});

test('a log the database is ahead of for another reason is not used, after one read', async () => {
  const { commit, seqs, isCurrent, disagree } = setup();
  commit('a', 1, 3);
  disagree(); // another process wrote: no answer here will bring the log up to date
  expect(await seqs('a')).toBeUndefined();
  expect(isCurrent).toHaveBeenCalledTimes(1);
});

describe('with the real store and its writer thread', () => {
  test('a log looked at after the thread committed, before its answer was taken, is used once it is', async () => {
    const arcd = await startArcd({ agents: [holdAgent] });
    const { store } = arcd.server;
    const logs = new RecentTaskLogs(store);
    const { taskId } = await createTask(arcd.url, 'hold', 'first');
    await waitForStatus(arcd.url, 'hold', taskId, ['WORKING']);
    const reader = new Database(arcd.db, { readonly: true });
    const lastSeq = () =>
      (
        reader.prepare('SELECT last_seq FROM tasks WHERE task_id = ?').get(taskId) as {
          last_seq: number;
        }
      ).last_seq;
    const before = lastSeq();
    expect(logs.peek(taskId)?.lastSeq).toBe(before);

    const written = store.mutateTask(taskId, say('more'));
    await new Promise((resolve) => setImmediate(resolve)); // the batch is on the thread now
    // Hold the event loop until the thread has committed: its answer cannot be taken yet.
    const until = Date.now() + 5000;
    while (lastSeq() === before && Date.now() < until);
    expect(lastSeq()).toBe(before + 1);
    expect(logs.peek(taskId)?.lastSeq).toBe(before); // the log is behind the database
    const reads = jest.spyOn(store, 'listEvents');

    const log = await logs.current(taskId);
    expect(log?.task.lastSeq).toBe(before + 1);
    expect(log?.events.map((event) => event.seq)).toEqual(
      (await store.listEvents(taskId)).map((event) => event.seq),
    );
    expect(reads).toHaveBeenCalledTimes(1); // the comparison just above, not the log's
    await written;
    reader.close();
  });
});
