/**
 * Direct start: a task created while a slot is free and nothing waits is leased and started in
 * its create's own transaction and runs without a claim; otherwise it queues as before.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
afterEach(async () => arcd?.close());

/** Resolves once the runner's start-up claim has found the queue empty. */
async function idleRunner(running: Running) {
  const first = await createTask(running.url, 'echo', 'warm-up');
  await waitForStatus(running.url, 'echo', first.taskId, ['COMPLETED']);
}

test('a task created with a slot free starts in its create commit and runs without a claim', async () => {
  arcd = await startArcd({ config: { pollMs: 60_000 } });
  await idleRunner(arcd);
  const claims = jest.spyOn(arcd.server.store, 'claimTurns');
  const created = await arcResult(
    arcd.url,
    'task.create',
    { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'direct' }] } },
    { targetAgent: 'echo' },
  );
  // The answer is the task as created, as ARC has it.
  expect(created.task.status).toBe('SUBMITTED');
  const done = await waitForStatus(arcd.url, 'echo', created.task.taskId, ['COMPLETED']);
  expect(
    done.messages.map((m: { parts: Array<{ content: string }> }) => m.parts[0]?.content),
  ).toEqual(['direct', 'direct']);
  expect(claims).not.toHaveBeenCalled();
  claims.mockRestore();

  const db = new Database(arcd.db, { readonly: true });
  const events = db
    .prepare('SELECT seq, type, created_at FROM events WHERE task_id = ? ORDER BY seq')
    .all(created.task.taskId) as Array<{ seq: number; type: string; created_at: string }>;
  const runs = db
    .prepare('SELECT attempt, outcome FROM runs WHERE task_id = ?')
    .all(created.task.taskId);
  const row = db
    .prepare('SELECT lease_owner, message_count, last_seq, attempt FROM tasks WHERE task_id = ?')
    .get(created.task.taskId);
  db.close();
  expect(events.map((e) => e.type)).toEqual([
    'TASK_CREATED',
    'NEW_MESSAGE',
    'TASK_STARTED',
    'STATUS_CHANGE',
    'NEW_MESSAGE',
    'TASK_COMPLETED',
    'STATUS_CHANGE',
  ]);
  // Created and started in one change: one timestamp for the first four events.
  expect(new Set(events.slice(0, 4).map((e) => e.created_at)).size).toBe(1);
  expect(runs).toEqual([{ attempt: 1, outcome: 'completed' }]);
  expect(row).toEqual({ lease_owner: null, message_count: 2, last_seq: 7, attempt: 1 });
});

test('a turn that pauses for input hands its task back without a claim after it', async () => {
  arcd = await startArcd({ config: { pollMs: 60_000 } });
  await idleRunner(arcd);
  const claims = jest.spyOn(arcd.server.store, 'claimTurns');
  const task = await createTask(arcd.url, 'document-analyzer', 'alpha beta\nbeta gamma');
  await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['INPUT_REQUIRED']);
  await waitFor('the lease let go', async () => {
    const db = new Database(arcd.db, { readonly: true });
    const row = db.prepare('SELECT lease_owner FROM tasks WHERE task_id = ?').get(task.taskId);
    db.close();
    return (row as { lease_owner: string | null }).lease_owner === null ? true : undefined;
  });
  await arcd.server.store.inFlightAnswered();
  // Only an interrupted turn is owed again at once; a paused one owes nothing until input.
  expect(claims).not.toHaveBeenCalled();
});

test('with every slot taken a new task queues, and is claimed when a slot frees', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const holder = defineAgent({ id: 'holder', description: 'waits', handle: () => held });
  arcd = await startArcd({ agents: [holder], config: { concurrency: 1, pollMs: 60_000 } });
  await idleRunner(arcd);
  const first = await createTask(arcd.url, 'holder', 'hold');
  await waitForStatus(arcd.url, 'holder', first.taskId, ['WORKING']);
  const queued = await createTask(arcd.url, 'echo', 'after');
  const claims = jest.spyOn(arcd.server.store, 'claimTurns');
  expect((await arcResult(arcd.url, 'task.info', { taskId: queued.taskId })).task.status).toBe(
    'SUBMITTED',
  );
  release();
  await waitForStatus(arcd.url, 'echo', queued.taskId, ['COMPLETED']);
  expect(claims).toHaveBeenCalled();
  claims.mockRestore();
});

test('an agent with a turn limit of its own is always claimed, never started directly', async () => {
  const limited = defineAgent({
    id: 'limited',
    description: 'one at a time',
    limits: { concurrency: 1 },
    handle: () => 'ok',
  });
  arcd = await startArcd({ agents: [limited], config: { pollMs: 60_000 } });
  await idleRunner(arcd);
  const claims = jest.spyOn(arcd.server.store, 'claimTurns');
  const task = await createTask(arcd.url, 'limited', 'go');
  await waitForStatus(arcd.url, 'limited', task.taskId, ['COMPLETED']);
  expect(claims).toHaveBeenCalled();
  claims.mockRestore();
});

test('a direct start whose create commits after the engine stopped hands its turn back', async () => {
  arcd = await startArcd({ config: { pollMs: 60_000 } });
  await idleRunner(arcd);
  const { tasks, store, runner } = arcd.server;
  let start: ReturnType<typeof runner.startNow>;
  const applied = await tasks.createWith(
    { requestAgent: 'tester', targetAgent: 'echo' },
    { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'late' }] } },
    (task, initial) => {
      start = runner.startNow(task);
      return store.insertTask(task, initial, start?.plan);
    },
  );
  const task = applied.task;
  expect(start).toBeDefined();
  expect(applied.task).toMatchObject({ status: 'WORKING', leaseOwner: runner.owner });
  await runner.stop();
  start?.launch(applied.task, []);
  await waitFor('the lease handed back', async () => {
    const now = await store.getTask(task.taskId);
    return now && now.leaseOwner === undefined ? now : undefined;
  });
  expect((await store.getTask(task.taskId))?.pendingTurn).toBe(true);
});

test("a limited agent's queued turn is claimed when its running one ends, not at the next poll", async () => {
  const limited = defineAgent({
    id: 'limited',
    description: 'one at a time',
    limits: { concurrency: 1 },
    handle: async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'ok';
    },
  });
  arcd = await startArcd({ agents: [limited], config: { pollMs: 60_000 } });
  await idleRunner(arcd);
  const tasks = [];
  for (let i = 0; i < 4; i++) tasks.push(await createTask(arcd.url, 'limited', `go ${i}`));
  // With a 60 s poll, only claims made as turns end can finish all four within the wait.
  for (const task of tasks) {
    await waitForStatus(arcd.url, 'limited', task.taskId, ['COMPLETED']);
  }
});

test('a task created while a claim is under way does not start past the concurrency', async () => {
  let running = 0;
  let most = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let endFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (endFirst = resolve));
  const holding = async (wait: Promise<void>) => {
    running += 1;
    most = Math.max(most, running);
    await wait;
    running -= 1;
  };
  const holder = defineAgent({ id: 'holder', description: 'waits', handle: () => holding(held) });
  const limited = defineAgent({
    id: 'limited',
    description: 'one at a time, so always claimed',
    limits: { concurrency: 1 },
    handle: (ctx) => holding(ctx.text() === 'first' ? firstHeld : held),
  });
  arcd = await startArcd({
    agents: [holder, limited],
    config: { concurrency: 2, pollMs: 60_000 },
  });
  await idleRunner(arcd);
  const onLimited = { targetAgent: 'limited' };
  const l1 = await createTask(arcd.url, 'limited', 'first', {}, onLimited);
  await waitForStatus(arcd.url, 'limited', l1.taskId, ['WORKING'], onLimited);
  const { store } = arcd.server;
  const claim = store.claimTurns.bind(store);
  let claims = 0;
  store.claimTurns = async (...args) => {
    claims += 1;
    return claim(...args);
  };
  // Waits for the limited agent's slot: its claim finds nothing it may take.
  const l2 = await createTask(arcd.url, 'limited', 'second', {}, onLimited);
  await waitFor('the claim that found nothing', async () => (claims > 0 ? true : undefined));
  await arcd.server.store.inFlightAnswered();
  const one = await createTask(arcd.url, 'holder', 'one');
  await waitForStatus(arcd.url, 'holder', one.taskId, ['WORKING']);
  // When the first limited turn ends, its slot is claimed for the second; while that claim is
  // under way, a task is created for the other agent: it may not take the slot too.
  const meanwhile: string[] = [];
  store.claimTurns = async (...args) => {
    if (meanwhile.length === 0)
      meanwhile.push((await createTask(arcd.url, 'holder', 'two')).taskId);
    return claim(...args);
  };
  endFirst();
  await waitFor('the claim after the first ended', async () =>
    meanwhile.length > 0 ? true : undefined,
  );
  await waitForStatus(arcd.url, 'limited', l2.taskId, ['WORKING', 'SUBMITTED'], onLimited);
  await arcd.server.store.inFlightAnswered();
  expect(most).toBe(2);
  release();
  for (const taskId of [l2.taskId, ...meanwhile]) {
    const target = taskId === l2.taskId ? onLimited : { targetAgent: 'holder' };
    await waitForStatus(arcd.url, target.targetAgent, taskId, ['COMPLETED'], target);
  }
  expect(most).toBe(2);
});
