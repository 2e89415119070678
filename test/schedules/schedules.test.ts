/**
 * Schedules through HTTP with an injected clock: tasks created at the right instants across a
 * DST change, pause/resume/delete, a schedule missed while the server was down firing once on
 * start (and saying so in the task's metadata), and bad input.
 */
import {
  type Running,
  type WireJson,
  arcCall,
  arcResult,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';
import { defineAgent } from '../../src/agents/contract';
import { Cron } from 'croner';

function manualClock(startIso: string) {
  let now = new Date(startIso);
  return {
    clock: () => now,
    set(iso: string) {
      now = new Date(iso);
    },
  };
}

const schedule = (arcd: Running, params: Record<string, unknown>) =>
  arcResult(arcd.url, 'schedule.create', { initialMessage: textMessage('nightly'), ...params });

/** The schedule's tasks as `scheduledFor` instants, oldest first. */
async function firings(arcd: Running): Promise<string[]> {
  const { tasks } = await arcResult(arcd.url, 'task.list', {});
  return tasks
    .map((t: WireJson) => t.metadata?.schedule?.scheduledFor as string)
    .filter(Boolean)
    .reverse();
}

const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

test('a daily 01:30 New York schedule fires at the right instants across the fall-back', async () => {
  const time = manualClock('2026-10-30T12:00:00Z');
  const arcd = await startArcd({ clock: time.clock });
  const created = await schedule(arcd, {
    cron: '30 1 * * *',
    timezone: 'America/New_York',
    metadata: { job: 'nightly' },
  });
  expect(created.schedule).toMatchObject({
    status: 'active',
    targetAgent: 'echo',
    nextRunAt: '2026-10-31T05:30:00.000Z',
  });
  const expected = [
    '2026-10-31T05:30:00.000Z',
    '2026-11-01T05:30:00.000Z',
    '2026-11-02T06:30:00.000Z',
  ];
  const fired: string[] = [];
  for (const slot of expected) {
    time.set(shift(slot, -1000));
    await arcd.server.scheduler.fireDue();
    expect(await firings(arcd)).toEqual(fired); // not a second early
    time.set(slot);
    await arcd.server.scheduler.fireDue();
    fired.push(slot);
    expect(await firings(arcd)).toEqual(fired);
    if (slot === '2026-11-01T05:30:00.000Z') {
      time.set('2026-11-01T06:30:00.000Z'); // 01:30 EST, the repeated hour: no second run
      await arcd.server.scheduler.fireDue();
      expect(await firings(arcd)).toEqual(fired);
    }
  }
  const { tasks } = await arcResult(arcd.url, 'task.list', {});
  expect(tasks[0]).toMatchObject({
    assignedAgent: 'echo',
    requestAgent: 'tester',
    metadata: { job: 'nightly', schedule: { scheduleId: created.schedule.scheduleId } },
  });
  expect(tasks[0].metadata.schedule).not.toHaveProperty('late');
  const [listed] = (await arcResult(arcd.url, 'schedule.list', {})).schedules;
  expect(listed).toMatchObject({
    runCount: 3,
    lastRunAt: '2026-11-02T06:30:00.000Z',
    lastTaskId: tasks[0].taskId,
    nextRunAt: '2026-11-03T06:30:00.000Z',
  });
});

test('a schedule missed while the server was down fires once on start, and says so', async () => {
  const db = tempDbFile();
  const time = manualClock('2026-01-10T10:15:00Z');
  const before = await startArcd({ db, clock: time.clock });
  await schedule(before, { cron: '0 * * * *' });
  await before.close();
  time.set('2026-01-10T15:30:00Z'); // slots at 11:00 … 15:00 passed while down
  const after = await startArcd({ db, clock: time.clock });
  await after.server.scheduler.fireDue();
  const { tasks } = await arcResult(after.url, 'task.list', {});
  expect(tasks).toHaveLength(1);
  expect(tasks[0].metadata.schedule).toEqual({
    scheduleId: expect.stringMatching(/^sch-/),
    scheduledFor: '2026-01-10T11:00:00.000Z',
    late: true,
    skippedSlots: 4,
  });
  const [listed] = (await arcResult(after.url, 'schedule.list', {})).schedules;
  expect(listed.nextRunAt).toBe('2026-01-10T16:00:00.000Z');
});

test("a firing's message is of its own time; resuming an active schedule does not undo a firing", async () => {
  const time = manualClock('2026-01-10T10:15:00Z');
  const arcd = await startArcd({ clock: time.clock });
  const stamped = { ...textMessage('hourly'), timestamp: '2026-01-01T00:00:00Z' };
  const { schedule: made } = await schedule(arcd, { cron: '0 * * * *', initialMessage: stamped });
  const { store, scheduler } = arcd.server;
  const getSchedule = store.getSchedule.bind(store);
  // schedule.resume reads the schedule; the 11:00 slot fires before it goes on.
  jest.spyOn(store, 'getSchedule').mockImplementationOnce(async (id) => {
    const read = await getSchedule(id);
    time.set('2026-01-10T11:00:00Z');
    await scheduler.fireDue();
    return read;
  });
  const resumed = await arcResult(arcd.url, 'schedule.resume', { scheduleId: made.scheduleId });
  expect(resumed.schedule.nextRunAt).toBe('2026-01-10T12:00:00.000Z');
  await scheduler.fireDue();
  expect(await firings(arcd)).toEqual(['2026-01-10T11:00:00.000Z']);
  const { tasks } = await arcResult(arcd.url, 'task.list', {});
  const { task } = await arcResult(arcd.url, 'task.info', { taskId: tasks[0].taskId });
  expect(task.messages[0].timestamp).toBe('2026-01-10T11:00:00.000Z');
});

test('pause, resume and delete', async () => {
  const time = manualClock('2026-01-10T10:15:00Z');
  const arcd = await startArcd({ clock: time.clock });
  const { schedule: made } = await schedule(arcd, { cron: '0 * * * *' });
  const id = { scheduleId: made.scheduleId };
  const paused = await arcResult(arcd.url, 'schedule.pause', id);
  expect(paused.schedule.status).toBe('paused');
  expect(paused.schedule).not.toHaveProperty('nextRunAt');
  time.set('2026-01-10T12:30:00Z');
  await arcd.server.scheduler.fireDue();
  expect(await firings(arcd)).toEqual([]);
  const resumed = await arcResult(arcd.url, 'schedule.resume', id);
  expect(resumed.schedule).toMatchObject({
    status: 'active',
    nextRunAt: '2026-01-10T13:00:00.000Z', // from now on; hours passed while paused are not made up
  });
  expect((await arcResult(arcd.url, 'schedule.list', { status: 'paused' })).schedules).toEqual([]);
  await arcResult(arcd.url, 'schedule.delete', id);
  time.set('2026-01-10T13:00:00Z');
  await arcd.server.scheduler.fireDue();
  expect(await firings(arcd)).toEqual([]);
  expect((await arcResult(arcd.url, 'schedule.list', {})).schedules).toEqual([]);
  const gone = await arcCall(arcd.url, 'schedule.pause', id);
  expect(gone.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'scheduleId' }] },
  });
});

test('bad schedules are refused with the field at fault; others cannot touch yours', async () => {
  const arcd = await startArcd();
  const message = textMessage('x');
  for (const [params, field] of [
    [{ cron: '61 * * * *', initialMessage: message }, 'cron'],
    [{ cron: '0 9 * * *', timezone: 'Mars/Olympus', initialMessage: message }, 'timezone'],
    [{ cron: '0 9 * * *' }, 'initialMessage'],
    [{ cron: '0 9 * * *', initialMessage: message, every: 'day' }, 'every'],
    [
      {
        cron: '0 9 * * *',
        initialMessage: {
          role: 'user',
          parts: [{ type: 'FilePart', mimeType: 'application/pdf', content: 'not base64!' }],
        },
      },
      'initialMessage.parts.0.content',
    ],
  ] as const) {
    const reply = await arcCall(arcd.url, 'schedule.create', params);
    expect(reply.body.error.code).toBe(-32602);
    expect(JSON.stringify(reply.body.error.details.errors)).toContain(field);
  }
  const unknownAgent = await arcCall(
    arcd.url,
    'schedule.create',
    { cron: '0 9 * * *', initialMessage: message },
    { targetAgent: 'nobody' },
  );
  expect(unknownAgent.body.error.code).toBe(-41001);
  const { schedule: mine } = await schedule(arcd, { cron: '0 9 * * *' });
  const theirs = await arcCall(
    arcd.url,
    'schedule.delete',
    { scheduleId: mine.scheduleId },
    { requestAgent: 'someone-else' },
  );
  expect(theirs.body.error.code).toBe(-32602);
  expect(
    (await arcResult(arcd.url, 'schedule.list', {}, { requestAgent: 'someone-else' })).schedules,
  ).toEqual([]);
  expect((await arcResult(arcd.url, 'schedule.list', {})).schedules).toHaveLength(1);
});

test('a clock stepped back past the slot while it fires does not make the slot due again', async () => {
  // Reads as set; once stepping, the first read is 10:01:00.050 (the slot is due) and every
  // later one 10:00:59.850 (NTP stepped the clock back 200 ms).
  let now = new Date('2026-01-10T10:00:30Z');
  let stepping = false;
  const clock = () => {
    if (!stepping) return now;
    stepping = false;
    now = new Date('2026-01-10T10:00:59.850Z');
    return new Date('2026-01-10T10:01:00.050Z');
  };
  const arcd = await startArcd({ clock });
  await schedule(arcd, { cron: '* * * * *' });
  stepping = true;
  expect(await arcd.server.scheduler.fireDue()).toHaveLength(1);
  expect(now.toISOString()).toBe('2026-01-10T10:00:59.850Z'); // stepped back as it fired
  const [listed] = (await arcResult(arcd.url, 'schedule.list', {})).schedules;
  expect(listed.nextRunAt).toBe('2026-01-10T10:02:00.000Z');
});

test('a late firing held back tick after tick counts the slots it missed from where it left off', async () => {
  const time = manualClock('2026-01-10T10:15:00Z');
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const busy = defineAgent({
    id: 'busy',
    description: 'holds its one turn; queues one task at most',
    limits: { concurrency: 1, maxQueued: 1 },
    handle: async () => {
      await held;
      return 'done';
    },
  });
  // A lease longer than the hours the clock is moved on: the held turn stays this one's.
  const arcd = await startArcd({
    clock: time.clock,
    agents: [busy],
    config: { leaseMs: 24 * 3_600_000 },
  });
  // Only the test's own ticks fire (a timer's tick in between would take the firing, or its
  // cron steps, from the counts below).
  void arcd.server.scheduler.stop();
  const on = { targetAgent: 'busy' };
  const queued: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const { task } = await arcResult(
      arcd.url,
      'task.create',
      { initialMessage: textMessage('fill') },
      on,
    );
    queued.push(task.taskId);
  }
  // The first one runs (held), the second waits: the queue is full.
  await waitFor('the first task running', async () =>
    (await arcd.server.store.getTask(queued[0]!))?.status === 'WORKING' ? true : undefined,
  );
  await arcResult(
    arcd.url,
    'schedule.create',
    { initialMessage: textMessage('hourly'), cron: '0 * * * *' },
    on,
  );
  const steps = jest.spyOn(Cron.prototype, 'nextRun');
  time.set('2026-01-10T14:30:00Z'); // 11:00 due; 12:00, 13:00 and 14:00 passed since
  expect(await arcd.server.scheduler.fireDue()).toEqual([]); // the queue is full
  const firstTry = steps.mock.calls.length;
  time.set('2026-01-10T16:30:00Z'); // 15:00 and 16:00 passed since the last try
  expect(await arcd.server.scheduler.fireDue()).toEqual([]);
  const secondTry = steps.mock.calls.length - firstTry;
  steps.mockRestore();
  // The second try walked on from the first's count (2 slots), not from 11:00 again (5).
  expect(secondTry).toBeLessThan(firstTry);
  // Room in the queue (the waiting task canceled): the next try fires.
  await arcResult(arcd.url, 'task.cancel', { taskId: queued[1] }, on);
  const fired = await arcd.server.scheduler.fireDue();
  expect(fired).toHaveLength(1);
  release();
  const task = await taskInfo(arcd.url, 'busy', fired[0]!);
  expect(task.metadata.schedule).toMatchObject({
    scheduledFor: '2026-01-10T11:00:00.000Z',
    late: true,
    skippedSlots: 5,
  });
});

test('schedules its agent cannot take are tried once a tick, and fire when it can', async () => {
  const time = manualClock('2026-01-10T10:15:00Z');
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const busy = defineAgent({
    id: 'busy',
    description: 'holds its one turn until released; queues one task at most',
    limits: { concurrency: 1, maxQueued: 1 },
    handle: async () => {
      await held;
      return 'done';
    },
  });
  const arcd = await startArcd({ clock: time.clock, agents: [busy] });
  void arcd.server.scheduler.stop(); // only the test's own ticks fire (see the test above)
  const on = { targetAgent: 'busy' };
  const create = () =>
    arcResult(arcd.url, 'task.create', { initialMessage: textMessage('fill') }, on);
  await create(); // runs, held
  await create(); // queued: the queue is full
  const count = 120; // more than one batch of due schedules
  for (let i = 0; i < count; i += 1) {
    await arcResult(
      arcd.url,
      'schedule.create',
      { initialMessage: textMessage(`s${i}`), cron: '0 * * * *' },
      on,
    );
  }
  time.set('2026-01-10T11:00:00Z');
  // Every one fails (-41011): the call still ends, having tried each once.
  expect(await arcd.server.scheduler.fireDue()).toEqual([]);
  const { schedules } = await arcResult(arcd.url, 'schedule.list', {}, on);
  expect(schedules).toHaveLength(count);
  expect(schedules.every((x: WireJson) => x.nextRunAt === '2026-01-10T11:00:00.000Z')).toBe(true);
  // Each says why, kept once: the same failure again neither writes nor logs.
  expect(schedules[0].lastError).toEqual({
    code: -41011,
    message: expect.any(String),
    slot: '2026-01-10T11:00:00.000Z',
    at: '2026-01-10T11:00:00.000Z',
  });
  const keep = jest.spyOn(arcd.server.store, 'scheduleFailed');
  expect(await arcd.server.scheduler.fireDue()).toEqual([]);
  expect(keep).not.toHaveBeenCalled();
  keep.mockRestore();
  release();
  const fired = await waitFor('the queue to drain and a schedule to fire', async () => {
    const ids = await arcd.server.scheduler.fireDue();
    return ids.length > 0 ? ids : undefined;
  });
  expect(fired.length).toBeGreaterThan(0);
  const after = (await arcResult(arcd.url, 'schedule.list', {}, on)).schedules;
  const firedOne = after.find((x: WireJson) => x.runCount === 1);
  expect(firedOne).not.toHaveProperty('lastError'); // cleared once a slot fires
});

test('a slot its task is refused for good (parts over a lowered limit) is skipped, not retried', async () => {
  const db = tempDbFile();
  const time = manualClock('2026-01-10T10:15:00Z');
  const before = await startArcd({ db, clock: time.clock });
  await schedule(before, { cron: '0 * * * *', initialMessage: textMessage('x'.repeat(2000)) });
  await before.close();
  const after = await startArcd({ db, clock: time.clock, config: { maxPartBytes: 1024 } });
  time.set('2026-01-10T11:00:00Z');
  expect(await after.server.scheduler.fireDue()).toEqual([]);
  const [skipped] = (await arcResult(after.url, 'schedule.list', {})).schedules;
  expect(skipped).toMatchObject({
    nextRunAt: '2026-01-10T12:00:00.000Z',
    runCount: 0,
    lastError: { code: -45004, slot: '2026-01-10T11:00:00.000Z', skipped: true },
  });
  expect(await firings(after)).toEqual([]);
});

test('a schedule of an agent not hosted here is left to another process, then says why, and fires once it is back', async () => {
  const db = tempDbFile();
  const time = manualClock('2026-01-10T10:15:00Z');
  const report = defineAgent({ id: 'report', description: 'reports', handle: () => 'report' });
  const on = { targetAgent: 'report' };
  const withAgent = await startArcd({ db, clock: time.clock, agents: [report] });
  await arcResult(
    withAgent.url,
    'schedule.create',
    { initialMessage: textMessage('hourly'), cron: '0 * * * *' },
    on,
  );
  await withAgent.close();
  const without = await startArcd({ db, clock: time.clock });
  void without.server.scheduler.stop(); // only the test's own ticks fire
  const listed = async () => (await arcResult(without.url, 'schedule.list', {})).schedules[0];
  // On time, another process on the file may host the agent: nothing is said for it.
  time.set('2026-01-10T11:00:30Z');
  expect(await without.server.scheduler.fireDue()).toEqual([]);
  expect((await listed()).lastError).toBeUndefined();
  // Late, no process having fired it: why is said, once.
  time.set('2026-01-10T11:01:30Z');
  expect(await without.server.scheduler.fireDue()).toEqual([]);
  expect(await listed()).toMatchObject({
    nextRunAt: '2026-01-10T11:00:00.000Z',
    runCount: 0,
    lastError: { code: -41001, slot: '2026-01-10T11:00:00.000Z' },
  });
  // A process hosting the agent said why it could not fire the slot (its queue full): that
  // stays, not said over by this one's "not found" tick after tick.
  const { scheduleId } = await listed();
  const full = { code: -41011, message: 'queue full', slot: '2026-01-10T11:00:00.000Z' };
  await without.server.store.scheduleFailed(scheduleId, {
    ...full,
    at: '2026-01-10T11:01:40.000Z',
  });
  time.set('2026-01-10T11:02:00Z');
  expect(await without.server.scheduler.fireDue()).toEqual([]);
  expect((await listed()).lastError).toMatchObject(full);
  expect(await without.server.store.countQueued('report')).toBe(0);
  await without.close();
  time.set('2026-01-10T13:30:00Z');
  const back = await startArcd({ db, clock: time.clock, agents: [report] });
  await waitFor('the late firing', async () => ((await firings(back)).length ? true : undefined));
  expect(await firings(back)).toEqual(['2026-01-10T11:00:00.000Z']);
});

test('a stop ends the tick under way after the firing in hand, and waits for it', async () => {
  const time = manualClock('2026-01-10T10:15:00Z');
  const arcd = await startArcd({ clock: time.clock });
  for (let i = 0; i < 3; i += 1) {
    await arcResult(arcd.url, 'schedule.create', {
      initialMessage: textMessage(`s${i}`),
      cron: '0 * * * *',
    });
  }
  const { store, scheduler } = arcd.server;
  const fire = store.fireSchedule.bind(store);
  let stopped: Promise<void> | undefined;
  const fired = jest.spyOn(store, 'fireSchedule').mockImplementation((...args) => {
    stopped ??= scheduler.stop(); // the server stopping as the walk fires its first
    return fire(...args);
  });
  time.set('2026-01-10T11:00:00Z'); // all three due: the scheduler's own tick walks them
  await waitFor('the tick to fire', async () => (stopped ? true : undefined));
  await stopped;
  expect(fired).toHaveBeenCalledTimes(1);
  fired.mockRestore();
  const { schedules } = await arcResult(arcd.url, 'schedule.list', {});
  const due = schedules.filter((x: WireJson) => x.nextRunAt === '2026-01-10T11:00:00.000Z');
  expect(due).toHaveLength(2);
});
