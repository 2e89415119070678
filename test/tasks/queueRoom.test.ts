/**
 * QueueRoom on its own: places held while tasks are written count with the committed queue,
 * a held task already committed counts once, and places are let go whether the write
 * committed or failed. The server-level burst test is in test/engine/engine.test.ts.
 */
import { QueueRoom, type Release, releasedAfter } from '../../src/tasks/queueRoom';

/** A queue whose committed rows the test sets; the count answers a turn later, as a read may. */
function committedQueue(max: number | undefined) {
  const committed = new Set<string>();
  let counts = 0;
  const room = new QueueRoom(
    async (_agent, leavingOut) => {
      counts += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return [...committed].filter((id) => !leavingOut.includes(id)).length;
    },
    () => max,
  );
  return { room, committed, counts: () => counts };
}

/** A place in a bounded queue (the agent has one in these tests). */
function hold(room: QueueRoom, agent: string, taskId: string): Promise<Release> {
  const held = room.hold(agent, taskId);
  if (!held) throw new Error(`no bound for ${agent}`);
  return held;
}

async function refused(promise: Promise<unknown>) {
  return promise.then(
    () => undefined,
    (error: { code?: number }) => error.code,
  );
}

test('places held and rows committed fill the queue together', async () => {
  const { room, committed } = committedQueue(2);
  const a = await hold(room, 'agent', 'a');
  await hold(room, 'agent', 'b');
  expect(await refused(hold(room, 'agent', 'c'))).toBe(-41011);
  // a commits (still queued) and lets go of its place: the queue is as full as before.
  committed.add('a');
  a();
  expect(await refused(hold(room, 'agent', 'c'))).toBe(-41011);
  // a is claimed: it leaves the queue, and there is room again.
  committed.delete('a');
  await expect(hold(room, 'agent', 'c')).resolves.toBeInstanceOf(Function);
});

test('a held task whose row has committed already is counted once', async () => {
  const { room, committed } = committedQueue(2);
  await hold(room, 'agent', 'a');
  committed.add('a'); // committed, its answer not yet heard: still held
  await expect(hold(room, 'agent', 'b')).resolves.toBeInstanceOf(Function);
  expect(await refused(hold(room, 'agent', 'c'))).toBe(-41011);
});

test('holds asked for together never pass the bound', async () => {
  const { room } = committedQueue(3);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => hold(room, 'agent', `t${i}`)),
  );
  expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
  const reasons = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason.code] : []));
  expect(reasons).toEqual(Array(9).fill(-41011));
});

test('each agent has its own queue, and an agent without a bound is never counted', async () => {
  const bounded = committedQueue(1);
  await hold(bounded.room, 'one', 'a');
  await expect(hold(bounded.room, 'two', 'b')).resolves.toBeInstanceOf(Function);
  const unbounded = committedQueue(undefined);
  for (let i = 0; i < 5; i += 1) expect(unbounded.room.hold('agent', `t${i}`)).toBeUndefined();
  expect(unbounded.counts()).toBe(0);
});

test('a write that fails lets go of its places too, and letting go twice frees one place', async () => {
  const { room } = committedQueue(2);
  const holds = [await hold(room, 'agent', 'a')];
  await expect(
    releasedAfter(holds, async () => {
      holds.push(await hold(room, 'agent', 'b'));
      throw new Error('write failed');
    }),
  ).rejects.toThrow('write failed');
  const c = await hold(room, 'agent', 'c');
  await hold(room, 'agent', 'd');
  c();
  c();
  await hold(room, 'agent', 'e');
  expect(await refused(hold(room, 'agent', 'f'))).toBe(-41011);
});

test('two holds of one task (two calls running it again) keep its one place until both let go', async () => {
  const { room } = committedQueue(2);
  const first = await hold(room, 'agent', 'x');
  const second = await hold(room, 'agent', 'x');
  await hold(room, 'agent', 'y'); // x counts once: there was room for y
  first();
  expect(await refused(hold(room, 'agent', 'z'))).toBe(-41011);
  second();
  await expect(hold(room, 'agent', 'z')).resolves.toBeInstanceOf(Function);
});
