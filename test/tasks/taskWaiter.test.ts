/**
 * TaskWaiter: a wait begun before the task is stored is released by the commit that settles
 * it (with that task), not by others; it ends by itself after its time, or when canceled.
 */
import type { TaskRecord } from '../../src/store/records';
import { TaskWaiter } from '../../src/tasks/taskWaiter';

const task = (status: TaskRecord['status']): TaskRecord => ({
  taskId: 'task-1',
  status,
  priority: 'NORMAL',
  assignedAgent: 'echo',
  requestAgent: 'me',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  messageCount: 1,
  artifactCount: 0,
  lastSeq: 2,
  pendingTurn: true,
  attempt: 0,
  tokensUsed: 0,
  cost: 0,
  blocked: false,
});

afterEach(() => jest.useRealTimers());

test('released by the commit that settles the task, with the task as committed', async () => {
  const waiter = new TaskWaiter();
  const expectation = waiter.expect('task-1', 60_000);
  waiter.committed(task('WORKING'));
  waiter.committed({ ...task('COMPLETED'), taskId: 'task-2' });
  const done = task('COMPLETED');
  waiter.committed(done);
  await expect(expectation.settled).resolves.toBe(done);
});

test('waiting for input counts as settled', async () => {
  const waiter = new TaskWaiter();
  const expectation = waiter.expect('task-1', 60_000);
  waiter.committed(task('INPUT_REQUIRED'));
  await expect(expectation.settled).resolves.toMatchObject({ status: 'INPUT_REQUIRED' });
});

test('after its time it resolves undefined, and a later commit finds no one waiting', async () => {
  jest.useFakeTimers();
  const waiter = new TaskWaiter();
  const expectation = waiter.expect('task-1', 1_000);
  jest.advanceTimersByTime(1_000);
  await expect(expectation.settled).resolves.toBeUndefined();
  expect(jest.getTimerCount()).toBe(0);
  expect(() => waiter.committed(task('COMPLETED'))).not.toThrow();
});

test('a canceled wait resolves undefined and leaves no timer behind', async () => {
  jest.useFakeTimers();
  const waiter = new TaskWaiter();
  const first = waiter.expect('task-1', 5_000);
  const second = waiter.expect('task-1', 5_000);
  first.cancel();
  await expect(first.settled).resolves.toBeUndefined();
  const done = task('FAILED');
  waiter.committed(done);
  await expect(second.settled).resolves.toBe(done);
  expect(jest.getTimerCount()).toBe(0);
});

const message = (seq: number) => ({
  messageId: `msg-${seq}`,
  seq,
  role: 'agent' as const,
  parts: [{ type: 'TextPart', content: `m${seq}` }],
  timestamp: '2026-12-01T00:00:00.000Z',
});

test('the messages heard are handed over when they are all of the settled task’s', async () => {
  const waiter = new TaskWaiter();
  const expectation = waiter.expect('task-1', 60_000);
  waiter.committed(task('WORKING'), [message(1)]);
  waiter.committed({ ...task('COMPLETED'), taskId: 'task-2' }, [message(2)]);
  waiter.committed({ ...task('COMPLETED'), messageCount: 2 }, [message(2)]);
  await expectation.settled;
  expect(expectation.messages()?.map((m) => m.seq)).toEqual([1, 2]);
});

test('a message not heard here (written elsewhere) means the messages must be read', async () => {
  const waiter = new TaskWaiter();
  const expectation = waiter.expect('task-1', 60_000);
  waiter.committed(task('WORKING'), [message(1)]);
  waiter.committed({ ...task('COMPLETED'), messageCount: 3 }, [message(3)]);
  await expectation.settled;
  expect(expectation.messages()).toBeUndefined();
});

test('one timer reads the tasks waited on for a tick or more; a settled one ends its waits', async () => {
  jest.useFakeTimers();
  const reads: string[] = [];
  const stored = new Map([['task-1', task('WORKING')]]);
  const waiter = new TaskWaiter({
    read: async (taskId) => {
      reads.push(taskId);
      return stored.get(taskId);
    },
    everyMs: 1_000,
  });
  const first = waiter.expect('task-1', 60_000);
  const again = waiter.expect('task-1', 60_000);
  jest.advanceTimersByTime(500);
  const later = waiter.expect('task-2', 60_000);
  expect(jest.getTimerCount()).toBe(4); // three waits' limits, one look for all
  jest.advanceTimersByTime(500);
  expect(reads).toEqual([]); // nothing read at its first tick
  jest.advanceTimersByTime(1_000);
  expect(reads).toEqual(['task-1', 'task-2']);
  stored.set('task-1', task('COMPLETED')); // settled by a commit not heard here
  jest.advanceTimersByTime(1_000);
  await expect(first.settled).resolves.toBeUndefined(); // answered as read
  await expect(again.settled).resolves.toBeUndefined();
  later.cancel();
  await expect(later.settled).resolves.toBeUndefined();
  expect(jest.getTimerCount()).toBe(0);
});
