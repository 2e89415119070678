/**
 * The logs of tasks created here, kept from their commits: whole from sequence 1, dropped at a
 * gap, the oldest forgotten past the limit, and used only while the database agrees.
 */
import type { EventRecord, TaskRecord } from '../../src/store/records';
import type { CommitListener, Store } from '../../src/store/store';
import { RecentTaskLogs } from '../../src/tasks/recentTaskLogs';

function setup(limit = 2) {
  const listeners: CommitListener[] = [];
  let current = true;
  const store = {
    onCommit: (listener: CommitListener) => listeners.push(listener),
    isCurrent: async () => current,
  } as unknown as Store;
  const logs = new RecentTaskLogs(store, limit);
  /** Commits events `from`..`to` of `taskId`. */
  const commit = (taskId: string, from: number, to: number, text = '') => {
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
    for (const listener of listeners) listener(taskId, { deliveries: 0, task, events, eventChars });
  };
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
    for (const listener of listeners) listener(taskId, { deliveries: 0, task, events });
  };
  const seqs = async (taskId: string) =>
    (await logs.current(taskId))?.events.map((event) => event.seq);
  return { logs, commit, commitUnsized, seqs, disagree: () => (current = false) };
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
  for (const id of ['a', 'b', 'c']) commit(id, 1, 2);
  expect([await seqs('a'), await seqs('b'), await seqs('c')]).toEqual([undefined, [1, 2], [1, 2]]);
  disagree();
  expect(await seqs('c')).toBeUndefined();
  expect(logs.peek('c')?.taskId).toBe('c');
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
