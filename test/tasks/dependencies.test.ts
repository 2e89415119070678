/**
 * Task dependencies: an extract → transform → load chain where each step reads the artifacts
 * of the one before; a failed or canceled dependency failing its dependent; bad dependency
 * lists refused at create time; a restart catching up on a move a stopped server never made.
 */
import Database from 'better-sqlite3';
import { type AgentDefinition, defineAgent } from '../../src/agents/contract';
import { DependencyLocks } from '../../src/tasks/dependencyLocks';
import type { Store } from '../../src/store/store';
import {
  type WireJson,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  waitForStatus,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

/** The README's chain: extract makes rows, transform doubles them, load sums them. */
const etlAgents: AgentDefinition[] = [
  defineAgent({
    id: 'extract',
    description: 'reads rows',
    async handle(ctx) {
      await ctx.addArtifact({
        name: 'rows',
        parts: [{ type: 'DataPart', content: { rows: [1, 2, 3] } }],
      });
    },
  }),
  defineAgent({
    id: 'transform',
    description: 'doubles the rows of its dependency',
    async handle(ctx) {
      const [extract] = await ctx.dependencies();
      const { rows } = extract?.artifacts[0]?.parts[0]?.content as { rows: number[] };
      await ctx.addArtifact({
        name: 'doubled',
        parts: [{ type: 'DataPart', content: { rows: rows.map((n) => n * 2) } }],
      });
    },
  }),
  defineAgent({
    id: 'load',
    description: 'sums what transform made',
    async handle(ctx) {
      const [transform] = await ctx.dependencies();
      const { rows } = transform?.artifacts[0]?.parts[0]?.content as { rows: number[] };
      return `loaded ${rows.length} rows, total ${rows.reduce((a, b) => a + b, 0)} (from ${transform?.agent})`;
    },
  }),
];

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const agent = defineAgent({
    id: 'gate',
    description: 'finishes when the test opens it; fails when told to',
    async handle(ctx) {
      await opened;
      if (ctx.text() === 'fail') throw new Error('gate failed on purpose');
    },
  });
  return { agent, open };
};

test('extract → transform → load runs in order, each step reading the last one', async () => {
  const arcd = await startArcd({ agents: etlAgents, bundled: false });
  const extract = await createTask(arcd.url, 'extract', 'go', {}, { targetAgent: 'extract' });
  const transform = await createTask(
    arcd.url,
    'transform',
    'go',
    { dependencies: [extract.taskId] },
    { targetAgent: 'transform' },
  );
  const load = await createTask(
    arcd.url,
    'load',
    'go',
    { dependencies: [transform.taskId] },
    { targetAgent: 'load' },
  );
  expect(load).toMatchObject({
    status: 'SUBMITTED',
    dependencies: [transform.taskId],
    waitingOnDependencies: true,
  });
  const done = await waitForStatus(arcd.url, 'load', load.taskId, ['COMPLETED']);
  expect(done.messages.at(-1).parts[0].content).toBe('loaded 3 rows, total 12 (from transform)');
  expect(done).not.toHaveProperty('waitingOnDependencies');
  const started = async (agent: string, taskId: string) =>
    (await taskInfo(arcd.url, agent, taskId)).createdAt as string;
  const finishedAt = async (agent: string, taskId: string) =>
    (await taskInfo(arcd.url, agent, taskId)).completedAt as string;
  const loadEvents = await arcResult(
    arcd.url,
    'task.events',
    { taskId: load.taskId },
    { targetAgent: 'load' },
  );
  const loadStarted = loadEvents.events.find((e: WireJson) => e.event === 'TASK_STARTED').timestamp;
  expect(loadStarted >= (await finishedAt('transform', transform.taskId))).toBe(true);
  expect((await started('load', load.taskId)) <= loadStarted).toBe(true);
});

test.each([
  ['fails', 'FAILED', 'failed'],
  ['is canceled', 'CANCELED', 'was canceled'],
])('a dependency that %s fails its dependent, naming it', async (_how, status, words) => {
  const { agent, open } = gate();
  const arcd = await startArcd({ agents: [agent] });
  const first = await createTask(
    arcd.url,
    'gate',
    status === 'FAILED' ? 'fail' : 'wait',
    {},
    { targetAgent: 'gate' },
  );
  const second = await createTask(arcd.url, 'echo', 'after', { dependencies: [first.taskId] });
  if (status === 'CANCELED') {
    await arcResult(arcd.url, 'task.cancel', { taskId: first.taskId }, { targetAgent: 'gate' });
  }
  open();
  await waitForStatus(arcd.url, 'gate', first.taskId, [status]);
  const failed = await waitForStatus(arcd.url, 'echo', second.taskId, ['FAILED']);
  expect(failed.reason).toBe(`dependency ${first.taskId} ${words}`);
  expect(failed.error).toMatchObject({ dependency: first.taskId, dependencyStatus: status });
  expect(failed.messages).toHaveLength(1); // the echo agent never ran
});

test('a task run again after its failed dependency was deleted fails, naming it', async () => {
  const { agent, open } = gate();
  const arcd = await startArcd({ agents: [agent] });
  const first = await createTask(arcd.url, 'gate', 'fail', {}, { targetAgent: 'gate' });
  const second = await createTask(arcd.url, 'echo', 'after', { dependencies: [first.taskId] });
  open();
  await waitForStatus(arcd.url, 'echo', second.taskId, ['FAILED']);
  await arcResult(arcd.url, 'task.delete', { taskId: first.taskId }, { targetAgent: 'gate' });
  const rerun = await arcResult(arcd.url, 'task.run', { taskId: second.taskId });
  expect(rerun.task.status).toBe('SUBMITTED');
  const failed = await waitForStatus(arcd.url, 'echo', second.taskId, ['FAILED']);
  expect(failed.reason).toBe(`dependency ${first.taskId} was deleted`);
  expect(failed.error).toMatchObject({ dependency: first.taskId, dependencyStatus: 'DELETED' });
  expect(failed.messages.filter((m: WireJson) => m.role === 'agent')).toEqual([]);
});

test('unknown, foreign and repeated dependencies are refused at create time', async () => {
  const arcd = await startArcd();
  const mine = await createTask(arcd.url, 'echo', 'x');
  const theirs = await createTask(arcd.url, 'echo', 'x', {}, { requestAgent: 'someone-else' });
  const reply = await arcCall(arcd.url, 'task.create', {
    initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] },
    dependencies: [mine.taskId, 'task-unknown', theirs.taskId],
  });
  expect(reply.body.error).toMatchObject({
    code: -32602,
    details: {
      errors: [
        { field: 'dependencies.1', message: 'no task task-unknown of yours' },
        { field: 'dependencies.2', message: `no task ${theirs.taskId} of yours` },
      ],
    },
  });
  const repeated = await arcCall(arcd.url, 'task.create', {
    initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }] },
    dependencies: [mine.taskId, mine.taskId],
  });
  expect(repeated.body.error.code).toBe(-32602);
  const listed = await arcResult(arcd.url, 'task.list', {});
  expect(listed.tasks).toHaveLength(1); // nothing was created by the refused calls
});

test('a finished dependency someone still waits on cannot be deleted', async () => {
  const { agent, open } = gate();
  const arcd = await startArcd({ agents: [agent] });
  const quick = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', quick.taskId, ['COMPLETED']);
  const slow = await createTask(arcd.url, 'gate', 'wait', {}, { targetAgent: 'gate' });
  const waiting = await createTask(arcd.url, 'echo', 'after', {
    dependencies: [quick.taskId, slow.taskId],
  });
  const refused = await arcCall(arcd.url, 'task.delete', { taskId: quick.taskId });
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: quick.taskId, waitingDependents: [waiting.taskId] },
  });
  open();
  await waitForStatus(arcd.url, 'echo', waiting.taskId, ['COMPLETED']);
  await arcResult(arcd.url, 'task.delete', { taskId: quick.taskId });
});

/** A completed echo task, and a dependent it released that now waits for input. */
async function releasedDependent() {
  const arcd = await startArcd();
  const quick = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', quick.taskId, ['COMPLETED']);
  const asking = await createTask(
    arcd.url,
    'document-analyzer',
    'red green',
    { dependencies: [quick.taskId] },
    { targetAgent: 'document-analyzer' },
  );
  await waitForStatus(arcd.url, 'document-analyzer', asking.taskId, ['INPUT_REQUIRED']);
  return { arcd, quick, asking };
}

test('a dependency stays while a released dependent is unfinished (its next turn reads it)', async () => {
  const { arcd, quick, asking } = await releasedDependent();
  const refused = await arcCall(arcd.url, 'task.delete', { taskId: quick.taskId });
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: quick.taskId, waitingDependents: [asking.taskId] },
  });
  const later = new Date(Date.now() + 60_000).toISOString();
  expect(await arcd.server.store.purgeFinished(later, 10, 1000)).toEqual({
    deleted: 0,
    more: false,
  });
  expect(await arcd.server.store.getTask(quick.taskId)).toBeDefined();
});

test('a completed dependency is not run again under a released dependent still unfinished', async () => {
  const { arcd, quick, asking } = await releasedDependent();
  const refused = await arcCall(arcd.url, 'task.run', { taskId: quick.taskId });
  expect(refused.body.error).toMatchObject({
    code: -42006,
    message: expect.stringContaining('cannot be run again'),
    details: { taskId: quick.taskId, waitingDependents: [asking.taskId] },
  });
  expect((await taskInfo(arcd.url, 'echo', quick.taskId)).status).toBe('COMPLETED');
  // Once the dependent has finished, the dependency may run again.
  await arcResult(
    arcd.url,
    'task.cancel',
    { taskId: asking.taskId },
    { targetAgent: 'document-analyzer' },
  );
  const again = await arcResult(arcd.url, 'task.run', { taskId: quick.taskId });
  expect(['SUBMITTED', 'WORKING', 'COMPLETED']).toContain(again.task.status);
});

test('a dependency deleted between its check and the insert is -32602, nothing stored', async () => {
  const arcd = await startArcd();
  const gone = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', gone.taskId, ['COMPLETED']);
  const { store } = arcd.server;
  const getTask = store.getTask.bind(store);
  // The create checks the dependency; it is deleted right after (another call, the purge).
  jest.spyOn(store, 'getTask').mockImplementationOnce(async (taskId) => {
    const found = await getTask(taskId);
    await store.deleteTask(taskId, () => undefined);
    return found;
  });
  const reply = await arcCall(arcd.url, 'task.create', {
    initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'after' }] },
    dependencies: [gone.taskId],
  });
  expect(reply.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'dependencies' }] },
  });
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toEqual([]);
});

test('a restart releases a dependent whose dependency finished while it was not watched', async () => {
  const db = tempDbFile();
  const { agent } = gate();
  const first = await startArcd({ db, agents: [agent] });
  const blocker = await createTask(first.url, 'gate', 'wait', {}, { targetAgent: 'gate' });
  const dependent = await createTask(first.url, 'echo', 'after', {
    dependencies: [blocker.taskId],
  });
  await first.close();
  // Another process finished the dependency and died before moving its dependents on.
  const sql = new Database(db);
  sql
    .prepare("UPDATE tasks SET status = 'COMPLETED', pending_turn = 0 WHERE task_id = ?")
    .run(blocker.taskId);
  sql.close();
  const second = await startArcd({ db });
  const done = await waitForStatus(second.url, 'echo', dependent.taskId, ['COMPLETED']);
  expect(done.messages).toHaveLength(2);
});

test.each(['on', 'off'])(
  'writer thread %s: a dependent another process adds is released as soon as the task it waits on finishes here',
  async (writerThread) => {
    const db = tempDbFile();
    const { agent, open } = gate();
    // `here` runs the gate; `elsewhere`, on the same file, creates the dependent and runs
    // nothing (its engine looks for work once a minute, as does the sweep that catches up on
    // missed releases): only `here` releasing it at once gets the dependent done in time.
    const here = await startArcd({ db, agents: [agent], config: { writerThread } });
    const elsewhere = await startArcd({ db, config: { writerThread, pollMs: 60_000 } });
    const blocker = await createTask(here.url, 'gate', 'wait', {}, { targetAgent: 'gate' });
    await waitForStatus(here.url, 'gate', blocker.taskId, ['WORKING']);
    const dependent = await createTask(elsewhere.url, 'echo', 'after', {
      dependencies: [blocker.taskId],
    });
    expect(dependent).toMatchObject({ waitingOnDependencies: true });
    const released = jest.spyOn(here.server.store, 'blockedDependents');
    open();
    const done = await waitForStatus(here.url, 'echo', dependent.taskId, ['COMPLETED']);
    expect(done.messages).toHaveLength(2);
    expect(released).toHaveBeenCalledWith(blocker.taskId);
  },
);

test('with the writer thread on, a task nothing waits on finishes without a look for dependents', async () => {
  const arcd = await startArcd({ config: { writerThread: 'on' } });
  const looked = jest.spyOn(arcd.server.store, 'blockedDependents');
  const task = await createTask(arcd.url, 'echo', 'alone');
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  expect(looked).not.toHaveBeenCalled();
});

test('the periodic catch-up reaches a stranded dependent past any number of waiting ones', async () => {
  const db = tempDbFile();
  const { agent } = gate();
  const arcd = await startArcd({ db, agents: [agent] });
  const on = { targetAgent: 'gate' };
  const holding = await createTask(arcd.url, 'gate', 'hold', {}, on);
  const finishing = await createTask(arcd.url, 'gate', 'finish', {}, on);
  // More tasks than one catch-up batch (500) wait, rightly, on the task that holds.
  for (let i = 0; i < 501; i += 1) {
    await createTask(arcd.url, 'echo', `waits ${i}`, { dependencies: [holding.taskId] });
  }
  const stranded = await createTask(arcd.url, 'echo', 'after', {
    dependencies: [finishing.taskId],
  });
  // Its dependency finishes in another process, which dies before releasing it.
  const sql = new Database(db);
  sql
    .prepare("UPDATE tasks SET status = 'COMPLETED', pending_turn = 0 WHERE task_id = ?")
    .run(finishing.taskId);
  sql.close();
  await arcd.server.dependencies.catchUp(); // the 500 oldest: all still waiting
  expect((await taskInfo(arcd.url, 'echo', stranded.taskId)).status).toBe('SUBMITTED');
  await arcd.server.dependencies.catchUp(); // goes on from there
  await waitForStatus(arcd.url, 'echo', stranded.taskId, ['COMPLETED']);
});

test("a dependency run again gives its dependents its latest run's artifacts, not every run's", async () => {
  let runs = 0;
  const flaky = defineAgent({
    id: 'flaky',
    description: 'drafts and fails the first time; makes the final artifact the next',
    async handle(ctx) {
      runs += 1;
      if (runs > 1) {
        await ctx.addArtifact({ name: 'final', parts: [{ type: 'TextPart', content: 'good' }] });
        return;
      }
      await ctx.addArtifact({ name: 'draft', parts: [{ type: 'TextPart', content: 'bad' }] });
      throw new Error('failed after drafting');
    },
  });
  const reader = defineAgent({
    id: 'reader',
    description: "names its dependency's artifacts",
    async handle(ctx) {
      const [dependency] = await ctx.dependencies();
      return (dependency?.artifacts ?? []).map((a) => a.name).join(',');
    },
  });
  const arcd = await startArcd({ agents: [flaky, reader], bundled: false });
  const on = { targetAgent: 'flaky' };
  const dep = await createTask(arcd.url, 'flaky', 'go', {}, on);
  await waitForStatus(arcd.url, 'flaky', dep.taskId, ['FAILED']);
  await arcResult(arcd.url, 'task.retry', { taskId: dep.taskId }, on);
  const done = await waitForStatus(arcd.url, 'flaky', dep.taskId, ['COMPLETED']);
  expect(done.artifacts.map((a: WireJson) => a.name)).toEqual(['draft', 'final']); // history kept
  const read = await createTask(
    arcd.url,
    'reader',
    'go',
    { dependencies: [dep.taskId] },
    { targetAgent: 'reader' },
  );
  const answered = await waitForStatus(arcd.url, 'reader', read.taskId, ['COMPLETED']);
  expect(answered.messages.at(-1).parts[0].content).toBe('final');
});

/**
 * The next released-dependents check (a run again's, before its write) reads, then is held
 * until `letRunOn`; `inCheck` resolves once it has read.
 */
function holdReleasedCheck(store: Store) {
  const checked = store.releasedDependents.bind(store);
  let letRunOn!: () => void;
  const heldRun = new Promise<void>((resolve) => (letRunOn = resolve));
  let checking!: () => void;
  const inCheck = new Promise<void>((resolve) => (checking = resolve));
  jest.spyOn(store, 'releasedDependents').mockImplementationOnce(async (taskId) => {
    const released = await checked(taskId);
    checking();
    await heldRun;
    return released;
  });
  return { inCheck, letRunOn };
}

test('a run again of a dependency and the release of its dependent, at once, are one after the other', async () => {
  const { agent: gateAgent, open } = gate();
  const seen: string[] = [];
  const reader = defineAgent({
    id: 'reader',
    description: "tells its dependencies' statuses as it runs",
    async handle(ctx) {
      seen.push((await ctx.dependencies()).map((d) => d.status).join(','));
    },
  });
  const arcd = await startArcd({ agents: [gateAgent, reader] });
  const quick = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', quick.taskId, ['COMPLETED']);
  const slow = await createTask(arcd.url, 'gate', 'wait', {}, { targetAgent: 'gate' });
  const onReader = { targetAgent: 'reader' };
  const dependent = await createTask(
    arcd.url,
    'reader',
    'go',
    { dependencies: [quick.taskId, slow.taskId] },
    onReader,
  );
  // task.run of `quick` checks its released dependents (none: the reader is blocked), and is
  // held there while `slow` completes, whose commit would release the reader.
  const { store } = arcd.server;
  const { inCheck, letRunOn } = holdReleasedCheck(store);
  // The reader's release (its dependencies' locks asked for) and whether it got past them.
  const holding = DependencyLocks.prototype.holding;
  let asked!: () => void;
  const releaseAsked = new Promise<void>((resolve) => (asked = resolve));
  let releasing = false;
  const spy = jest.spyOn(DependencyLocks.prototype, 'holding').mockImplementation(function <T>(
    this: DependencyLocks,
    ids: readonly string[],
    work: () => Promise<T>,
  ) {
    if (!ids.includes(slow.taskId)) return holding.call(this, ids, work) as Promise<T>;
    asked();
    return holding.call(this, ids, () => {
      releasing = true;
      return work();
    }) as Promise<T>;
  });
  const rerun = arcResult(arcd.url, 'task.run', { taskId: quick.taskId });
  await inCheck;
  open();
  await waitForStatus(arcd.url, 'gate', slow.taskId, ['COMPLETED'], { targetAgent: 'gate' });
  await releaseAsked;
  await new Promise((resolve) => setImmediate(resolve)); // every microtask of the ask run
  expect(releasing).toBe(false); // waits for the run again's lock on `quick`
  spy.mockRestore();
  letRunOn();
  await rerun;
  await waitForStatus(arcd.url, 'reader', dependent.taskId, ['COMPLETED'], onReader);
  const [readerRun] = await store.listRuns(dependent.taskId);
  // The reader was released once `quick` had run again and completed, not before its run again.
  const again = await taskInfo(arcd.url, 'echo', quick.taskId);
  expect(again.messages).toHaveLength(4);
  expect(readerRun!.startedAt >= again.completedAt).toBe(true);
  expect(seen).toEqual(['COMPLETED,COMPLETED']);
});

test('a run again and a release another process makes meanwhile: the run again is refused', async () => {
  const db = tempDbFile();
  const { agent: gateAgent, open } = gate();
  let letReaderEnd!: () => void;
  const readerHeld = new Promise<void>((resolve) => (letReaderEnd = resolve));
  const reader = defineAgent({
    id: 'reader',
    description: 'holds until the test opens it',
    async handle() {
      await readerHeld;
    },
  });
  // `there` runs the gate and the reader: slow's completion there releases the reader there,
  // under its own locks, which a run again here does not hold.
  const there = await startArcd({ db, agents: [gateAgent, reader] });
  const here = await startArcd({ db, config: { pollMs: 3_600_000 } });
  const quick = await createTask(here.url, 'echo', 'x');
  await waitForStatus(here.url, 'echo', quick.taskId, ['COMPLETED']);
  const slow = await createTask(there.url, 'gate', 'wait', {}, { targetAgent: 'gate' });
  const onReader = { targetAgent: 'reader' };
  const dependent = await createTask(
    there.url,
    'reader',
    'go',
    { dependencies: [quick.taskId, slow.taskId] },
    onReader,
  );
  // Here, task.run of `quick` finds no released dependent, and is held there.
  const { inCheck, letRunOn } = holdReleasedCheck(here.server.store);
  const rerun = arcCall(here.url, 'task.run', { taskId: quick.taskId });
  await inCheck;
  open();
  await waitForStatus(there.url, 'reader', dependent.taskId, ['WORKING'], onReader);
  letRunOn();
  const refused = await rerun;
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: quick.taskId, waitingDependents: [dependent.taskId] },
  });
  expect((await taskInfo(here.url, 'echo', quick.taskId)).status).toBe('COMPLETED');
  letReaderEnd();
  await waitForStatus(there.url, 'reader', dependent.taskId, ['COMPLETED'], onReader);
});

test('a run again checks the task as it is once its locks are held, not as first read', async () => {
  const first = gate();
  const second = (() => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const agent = defineAgent({
      id: 'reader',
      description: 'holds until the test opens it',
      async handle() {
        await opened;
      },
    });
    return { agent, open };
  })();
  const arcd = await startArcd({ agents: [first.agent, second.agent] });
  const onGate = { targetAgent: 'gate' };
  const onReader = { targetAgent: 'reader' };
  const x = await createTask(arcd.url, 'gate', 'wait', {}, onGate);
  await waitForStatus(arcd.url, 'gate', x.taskId, ['WORKING'], onGate);
  const d = await createTask(arcd.url, 'reader', 'go', { dependencies: [x.taskId] }, onReader);
  // task.run reads X while it still works, then is held before its checks.
  const { store } = arcd.server;
  const read = store.getTask.bind(store);
  let stale = true;
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  let reading!: () => void;
  const readOnce = new Promise<void>((resolve) => (reading = resolve));
  jest.spyOn(store, 'getTask').mockImplementation(async (taskId) => {
    const task = await read(taskId);
    if (taskId === x.taskId && stale) {
      stale = false;
      reading();
      await held;
    }
    return task;
  });
  const rerun = arcCall(arcd.url, 'task.run', { taskId: x.taskId }, onGate);
  await readOnce;
  first.open(); // X completes, and releases D, which then holds
  await waitForStatus(arcd.url, 'reader', d.taskId, ['WORKING'], onReader);
  letGo();
  const refused = await rerun;
  expect(refused.body.error).toMatchObject({
    code: -42006,
    details: { taskId: x.taskId, waitingDependents: [d.taskId] },
  });
  second.open();
  await waitForStatus(arcd.url, 'reader', d.taskId, ['COMPLETED'], onReader);
});

test('a failed dependency run again by another process before the write does not fail its dependent', async () => {
  const db = tempDbFile();
  const { agent: gateAgent, open } = gate();
  const here = await startArcd({ db, agents: [gateAgent] });
  const there = await startArcd({ db, agents: [gateAgent], config: { pollMs: 3_600_000 } });
  const onGate = { targetAgent: 'gate' };
  const first = await createTask(here.url, 'gate', 'fail', {}, onGate);
  const second = await createTask(here.url, 'echo', 'after', { dependencies: [first.taskId] });
  // The watch reads the dependencies twice (for their locks, then holding them): after its
  // second read, and before its write, the other process runs the failed one again.
  const { store } = here.server;
  const states = store.dependencyStates.bind(store);
  let reads = 0;
  store.dependencyStates = async (taskId) => {
    const read = await states(taskId);
    if (taskId === second.taskId && read.some((d) => d.status === 'FAILED') && ++reads === 2) {
      const message = { role: 'user', parts: [{ type: 'TextPart', content: 'pass' }] };
      await arcResult(there.url, 'task.run', { taskId: first.taskId, message }, onGate);
    }
    return read;
  };
  open();
  // Not failed for the failure the run again undid: released by the run's completion instead.
  const done = await waitForStatus(here.url, 'echo', second.taskId, ['COMPLETED', 'FAILED']);
  expect(reads).toBe(2);
  expect(done.status).toBe('COMPLETED');
  expect((await taskInfo(here.url, 'gate', first.taskId, onGate)).status).toBe('COMPLETED');
});

test('two failed dependencies, one run again meanwhile elsewhere: the dependent fails for the other', async () => {
  const db = tempDbFile();
  const { agent: gateAgent, open } = gate();
  const { agent: heldGate } = gate(); // never opened: a run of it there holds
  const here = await startArcd({ db, agents: [gateAgent] });
  const there = await startArcd({ db, agents: [heldGate], config: { pollMs: 3_600_000 } });
  const onGate = { targetAgent: 'gate' };
  const one = await createTask(here.url, 'gate', 'fail', {}, onGate);
  const two = await createTask(here.url, 'gate', 'fail', {}, onGate);
  open();
  await waitForStatus(here.url, 'gate', one.taskId, ['FAILED'], onGate);
  await waitForStatus(here.url, 'gate', two.taskId, ['FAILED'], onGate);
  // The dependent's first settling reads both failed (twice: for their locks, then holding
  // them); between its second read and its write, the other process runs `one` again.
  const { store } = here.server;
  const states = store.dependencyStates.bind(store);
  let reads = 0;
  let ranAgain = false;
  store.dependencyStates = async (taskId) => {
    const read = await states(taskId);
    if (!ranAgain && read.length === 2 && ++reads === 2) {
      ranAgain = true;
      const message = { role: 'user', parts: [{ type: 'TextPart', content: 'hold' }] };
      await arcResult(there.url, 'task.run', { taskId: one.taskId, message }, onGate);
    }
    return read;
  };
  const dependent = await createTask(here.url, 'echo', 'after', {
    dependencies: [one.taskId, two.taskId],
  });
  const failed = await waitForStatus(here.url, 'echo', dependent.taskId, ['FAILED']);
  expect(ranAgain).toBe(true);
  expect(failed.error).toMatchObject({ dependency: two.taskId, dependencyStatus: 'FAILED' });
});
