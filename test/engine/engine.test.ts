/**
 * The engine's promises on the real app: per-agent limits under load, the queue bound,
 * retries with runs recorded, timeouts, deadlines (queued and waiting), checkpoints across a
 * retry, usage summed, progress shown, and a retrying task visible between attempts.
 */
import {
  defineAgent,
  FinalError,
  type AgentDefinition,
  type TurnContext,
} from '../../src/agents/contract';
import { MAX_RETRY_DELAY_MS } from '../../src/engine/retryDelay';
import {
  type Running,
  type WireJson,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;

function agent(
  id: string,
  handle: (ctx: TurnContext) => unknown,
  extra: Partial<AgentDefinition> = {},
) {
  return defineAgent({ id, description: `test agent ${id}`, handle: handle as never, ...extra });
}

function untilAborted(ctx: TurnContext): Promise<never> {
  return new Promise((_resolve, reject) => {
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
  });
}

describe('concurrency', () => {
  test('an agent never runs more turns at once than its limit, and config overrides it', async () => {
    const seen: Record<string, { now: number; max: number }> = {
      capped: { now: 0, max: 0 },
      overridden: { now: 0, max: 0 },
    };
    const busy = (id: string) =>
      agent(
        id,
        async () => {
          const s = seen[id]!;
          s.now += 1;
          s.max = Math.max(s.max, s.now);
          await new Promise((resolve) => setTimeout(resolve, 100));
          s.now -= 1;
        },
        { limits: { concurrency: 2 } },
      );
    arcd = await startArcd({
      bundled: false,
      agents: [busy('capped'), busy('overridden')],
      config: { agentConcurrency: 'overridden=3' },
    });
    const jobs = Array.from({ length: 12 }, (_, i) =>
      ['capped', 'overridden'].map((id) => [id, i] as const),
    ).flat();
    const ids = await Promise.all(
      jobs.map(
        async ([id, i]) => [id, (await createTask(arcd.url, id, `job ${i}`)).taskId] as const,
      ),
    );
    for (const [id, taskId] of ids) await waitForStatus(arcd.url, id, taskId, ['COMPLETED']);
    expect(seen.capped!.max).toBe(2);
    expect(seen.overridden!.max).toBe(3);
  });

  test('beyond its queue bound an agent answers -41011, and nothing is stored', async () => {
    const hold = agent(
      'holder',
      (ctx) => {
        if (ctx.text() === 'fail') throw new Error('failed on purpose');
        return untilAborted(ctx);
      },
      { limits: { concurrency: 1, maxQueued: 2 } },
    );
    arcd = await startArcd({ bundled: false, agents: [hold] });
    const failed = await createTask(arcd.url, 'holder', 'fail');
    await waitForStatus(arcd.url, 'holder', failed.taskId, ['FAILED']);
    const running = await createTask(arcd.url, 'holder', 'first');
    await waitForStatus(arcd.url, 'holder', running.taskId, ['WORKING']);
    await createTask(arcd.url, 'holder', 'queued 1');
    await createTask(arcd.url, 'holder', 'queued 2');
    const refused = await arcCall(
      arcd.url,
      'task.create',
      { initialMessage: textMessage('one too many') },
      { targetAgent: 'holder' },
    );
    expect(refused.status).toBe(200);
    expect(refused.body.error).toMatchObject({
      code: -41011,
      details: { agentId: 'holder', maxQueued: 2 },
    });
    expect(await arcd.server.store.countQueued('holder')).toBe(2);
    // Running a finished task again would queue it past the bound just the same.
    for (const method of ['task.retry', 'task.run']) {
      const again = await arcCall(
        arcd.url,
        method,
        { taskId: failed.taskId },
        { targetAgent: 'holder' },
      );
      expect(again.body.error).toMatchObject({ code: -41011 });
    }
    // A task that could not run again anyway is told why: its status, not the queue.
    const live = await arcCall(
      arcd.url,
      'task.run',
      { taskId: running.taskId },
      { targetAgent: 'holder' },
    );
    expect(live.body.error).toMatchObject({ code: -42006 });
    expect(await arcd.server.store.countQueued('holder')).toBe(2);
  });
});

test('creates arriving together are held to the queue bound: none passes it unseen', async () => {
  const hold = agent('narrow', untilAborted, { limits: { concurrency: 1, maxQueued: 3 } });
  arcd = await startArcd({ bundled: false, agents: [hold] });
  const running = await createTask(arcd.url, 'narrow', 'first');
  await waitForStatus(arcd.url, 'narrow', running.taskId, ['WORKING']);
  // No create commits until all forty have been checked: each is checked while the others
  // are still being written.
  const { store } = arcd.server;
  const insert = store.insertTask.bind(store);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let inserts = 0;
  jest.spyOn(store, 'insertTask').mockImplementation(async (...args) => {
    inserts += 1;
    await released;
    return insert(...args);
  });
  let answered = 0;
  const calls = Array.from({ length: 40 }, (_, i) =>
    arcCall(
      arcd.url,
      'task.create',
      { initialMessage: textMessage(`burst ${i}`) },
      { targetAgent: 'narrow' },
    ).finally(() => (answered += 1)),
  );
  await waitFor('every create checked', async () => (inserts + answered === 40 ? true : undefined));
  release();
  const replies = await Promise.all(calls);
  const accepted = replies.filter((reply) => reply.body.result);
  const refused = replies.filter((reply) => reply.body.error?.code === -41011);
  expect(accepted).toHaveLength(3);
  expect(refused).toHaveLength(37);
  expect(await store.countQueued('narrow')).toBe(3);
  // Every place was let go with its write: one task leaving the queue makes room for one.
  const leaving = accepted[0]!.body.result.task.taskId;
  await arcResult(arcd.url, 'task.cancel', { taskId: leaving }, { targetAgent: 'narrow' });
  const next = await arcCall(
    arcd.url,
    'task.create',
    { initialMessage: textMessage('room again') },
    { targetAgent: 'narrow' },
  );
  expect(next.body.result.task.status).toBe('SUBMITTED');
  const past = await arcCall(
    arcd.url,
    'task.create',
    { initialMessage: textMessage('full again') },
    { targetAgent: 'narrow' },
  );
  expect(past.body.error.code).toBe(-41011);
});

test('tasks that start in their create take no queue place: a burst an idle agent runs is not refused', async () => {
  const roomy = agent('roomy', untilAborted, { limits: { maxQueued: 1 } });
  arcd = await startArcd({ bundled: false, agents: [roomy] });
  const replies = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      arcCall(
        arcd.url,
        'task.create',
        { initialMessage: textMessage(`at once ${i}`) },
        { targetAgent: 'roomy' },
      ),
    ),
  );
  expect(replies.map((reply) => reply.body.error?.code ?? 'ok')).toEqual(Array(5).fill('ok'));
  expect(await arcd.server.store.countQueued('roomy')).toBe(0);
});

describe('two processes on one file', () => {
  test('each claims only the turns of the agents it hosts: neither fails the tasks of the other', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const alpha = await startArcd({ bundled: false, agents: [agent('alpha', () => undefined)] });
    const beta = await startArcd({
      bundled: false,
      agents: [agent('beta', () => gate)],
      db: alpha.db,
      config: { concurrency: 1 },
    });
    // beta's one slot runs the first task; the others wait for a claim, and the alpha process
    // (no limits, polling every 50 ms) claims too.
    const store = alpha.server.store;
    const claim = store.claimTurns.bind(store);
    let alphaClaims = 0;
    jest.spyOn(store, 'claimTurns').mockImplementation(async (...args) => {
      const claimed = await claim(...args);
      alphaClaims += 1;
      return claimed;
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1)
      ids.push((await createTask(beta.url, 'beta', `job ${i}`)).taskId);
    await waitForStatus(beta.url, 'beta', ids[0] as string, ['WORKING']);
    // alpha has looked for turns a few times since: it took none of beta's.
    const before = alphaClaims;
    await waitFor('alpha claiming', async () => (alphaClaims >= before + 3 ? true : undefined));
    const waiting = await Promise.all(ids.map((id) => taskInfo(beta.url, 'beta', id)));
    expect(waiting.map((task) => task.status)).toEqual([
      'WORKING',
      'SUBMITTED',
      'SUBMITTED',
      'SUBMITTED',
    ]);
    release();
    for (const id of ids) {
      const done = await waitForStatus(beta.url, 'beta', id, ['COMPLETED', 'FAILED']);
      expect(done.status).toBe('COMPLETED');
    }
  });
});

describe('retries', () => {
  test('a flaky task retried twice succeeds on its third attempt, with three runs recorded', async () => {
    arcd = await startArcd();
    const task = await createTask(arcd.url, 'flaky', 'succeed-after=2', {
      settings: { maxRetries: 2, retryDelayMs: 10 },
    });
    const done = await waitForStatus(arcd.url, 'flaky', task.taskId, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('succeeded on attempt 3');
    expect(done).toMatchObject({
      attempt: 3,
      maxRetries: 2,
      settings: { maxRetries: 2, retryDelayMs: 10 },
    });
    const { runs } = await arcResult(
      arcd.url,
      'task.runs',
      { taskId: task.taskId },
      { targetAgent: 'flaky' },
    );
    expect(runs.map((r: { attempt: number; outcome: string }) => [r.attempt, r.outcome])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'completed'],
    ]);
    expect(runs[0]).toMatchObject({
      runId: expect.stringMatching(/^run-/),
      error: { code: -42004, message: expect.stringMatching(/attempt 1 of 2/) },
      durationMs: expect.any(Number),
    });
    const info = await arcResult(
      arcd.url,
      'task.info',
      { taskId: task.taskId, includeRuns: true },
      { targetAgent: 'flaky' },
    );
    expect(info.task.runs).toHaveLength(3);
  });

  test('out of retries, the task fails with the last error', async () => {
    arcd = await startArcd();
    const task = await createTask(arcd.url, 'flaky', 'always', {
      settings: { maxRetries: 1, retryDelayMs: 5 },
    });
    const failed = await waitForStatus(arcd.url, 'flaky', task.taskId, ['FAILED']);
    expect(failed.reason).toMatch(/attempt 2/);
    expect((await arcd.server.store.listRuns(task.taskId)).map((r) => r.outcome)).toEqual([
      'retrying',
      'failed',
    ]);
  });

  test("a retry that would come only past the task's deadline is not planned: it fails now", async () => {
    // Its `stopped` hook is told (cause deadline): a handler failing with retries left may
    // hold on to work for the retry the deadline now stops (a remote agent's remote task).
    const heard: string[] = [];
    const failing = agent(
      'failing',
      (ctx) => {
        throw new Error(`attempt ${ctx.attempt} failed`);
      },
      { stopped: (_task, cause) => void heard.push(cause) },
    );
    arcd = await startArcd({ agents: [failing] });
    const deadline = new Date(Date.now() + 60_000).toISOString();
    const task = await createTask(
      arcd.url,
      'failing',
      'always',
      { settings: { maxRetries: 3, retryDelayMs: 120_000 }, deadline },
      { targetAgent: 'failing' },
    );
    // Its first attempt's end: planned as a retry, or failed.
    await waitFor('the first attempt ended', async () => {
      const runs = await arcd.server.store.listRuns(task.taskId);
      return runs[0] && runs[0].outcome !== 'running' ? true : undefined;
    });
    const failed = await taskInfo(arcd.url, 'failing', task.taskId, { targetAgent: 'failing' });
    // Failed with the handler's own error, at once: not left waiting to fail by its deadline.
    expect(failed.status).toBe('FAILED');
    expect(failed.reason).toMatch(/attempt 1/);
    expect(failed.error).toMatchObject({ code: -42004, retryPastDeadline: deadline });
    expect((await arcd.server.store.listRuns(task.taskId)).map((r) => r.outcome)).toEqual([
      'failed',
    ]);
    await waitFor('the stopped hook', async () => (heard.length > 0 ? true : undefined));
    expect(heard).toEqual(['deadline']);
  });

  test('a FinalError fails its task at once, whatever retries are left', async () => {
    let calls = 0;
    const refuser = agent('refuser', (ctx) => {
      calls += 1;
      throw new FinalError(`cannot use ${ctx.text()}`);
    });
    arcd = await startArcd({ bundled: false, agents: [refuser] });
    const task = await createTask(arcd.url, 'refuser', 'this', {
      settings: { maxRetries: 3, retryDelayMs: 0 },
    });
    const failed = await waitForStatus(arcd.url, 'refuser', task.taskId, ['FAILED']);
    expect(failed.error.message).toBe('cannot use this');
    expect(calls).toBe(1);
    expect((await arcd.server.store.listRuns(task.taskId)).map((r) => r.outcome)).toEqual([
      'failed',
    ]);
  });

  test('whatever a handler throws fails its task, described: never a turn run again for ever', async () => {
    let calls = 0;
    const thrower = agent('thrower', (ctx) => {
      calls += 1;
      if (ctx.text() === 'bare') throw Object.create(null); // no string form at all
      throw { message: 'rate limited upstream' }; // not an Error, but says why
    });
    arcd = await startArcd({ bundled: false, agents: [thrower] });
    const bare = await createTask(arcd.url, 'thrower', 'bare');
    const plain = await createTask(arcd.url, 'thrower', 'plain');
    const failedBare = await waitForStatus(arcd.url, 'thrower', bare.taskId, ['FAILED']);
    const failedPlain = await waitForStatus(arcd.url, 'thrower', plain.taskId, ['FAILED']);
    expect(failedBare.error.message).toMatch(/no text/);
    expect(failedPlain.error.message).toBe('rate limited upstream');
    expect(calls).toBe(2);
  });

  test('between attempts the task shows it is retrying, within the ARC statuses', async () => {
    arcd = await startArcd();
    const task = await createTask(arcd.url, 'flaky', 'succeed-after=1', {
      settings: { maxRetries: 1, retryDelayMs: 1500 },
    });
    const waiting = await waitFor('a scheduled retry', async () => {
      const info = await taskInfo(arcd.url, 'flaky', task.taskId);
      return info.nextAttemptAt ? info : undefined;
    });
    expect(waiting).toMatchObject({
      status: 'WORKING',
      attempt: 1,
      maxRetries: 1,
      lastError: { code: -42004 },
    });
    expect(Date.parse(waiting.nextAttemptAt)).toBeGreaterThan(Date.now());
    const done = await waitForStatus(arcd.url, 'flaky', task.taskId, ['COMPLETED']);
    expect(done.nextAttemptAt).toBeUndefined();
  });
});

describe('timeouts and deadlines', () => {
  test('a turn over its time limit is aborted and retried, then fails with -42005', async () => {
    const aborts: string[] = [];
    const stuck = agent('stuck', async (ctx) => {
      ctx.signal.addEventListener('abort', () =>
        aborts.push(String((ctx.signal.reason as Error).message)),
      );
      await new Promise(() => undefined); // never settles on its own
    });
    // It ignores its signal: each attempt's lease goes after the grace (the next waits for it).
    arcd = await startArcd({ bundled: false, agents: [stuck], config: { shutdownGraceMs: 200 } });
    const task = await createTask(arcd.url, 'stuck', 'x', {
      settings: { timeoutMs: 100, maxRetries: 1, retryDelayMs: 5 },
    });
    const failed = await waitForStatus(arcd.url, 'stuck', task.taskId, ['FAILED']);
    expect(failed.error).toMatchObject({ code: -42005, message: 'turn timed out after 100 ms' });
    expect(aborts).toEqual(['turn timed out after 100 ms', 'turn timed out after 100 ms']);
    expect((await arcd.server.store.listRuns(task.taskId)).map((r) => r.outcome)).toEqual([
      'timed-out',
      'timed-out',
    ]);
  });

  test('a deadline fails a queued task and a waiting one', async () => {
    const hold = agent('holder', (ctx) => untilAborted(ctx), { limits: { concurrency: 1 } });
    arcd = await startArcd({ agents: [hold] });
    const blocker = await createTask(arcd.url, 'holder', 'hold');
    await waitForStatus(arcd.url, 'holder', blocker.taskId, ['WORKING']);
    const soon = new Date(Date.now() + 300).toISOString();
    const queued = await createTask(arcd.url, 'holder', 'never starts', { deadline: soon });
    const waiting = await createTask(arcd.url, 'document-analyzer', 'doc', { deadline: soon });
    await waitForStatus(arcd.url, 'document-analyzer', waiting.taskId, ['INPUT_REQUIRED']);
    for (const [id, agentId] of [
      [queued.taskId, 'holder'],
      [waiting.taskId, 'document-analyzer'],
    ] as const) {
      const failed = await waitForStatus(arcd.url, agentId, id, ['FAILED']);
      expect(failed).toMatchObject({
        reason: 'deadline exceeded',
        error: { code: -42011 },
        deadline: soon,
      });
    }
    const running = await createTask(arcd.url, 'holder', 'also', {
      deadline: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await taskInfo(arcd.url, 'holder', running.taskId)).status).toBe('SUBMITTED');
  });

  test('a deadline aborts a running turn', async () => {
    arcd = await startArcd();
    const task = await createTask(arcd.url, 'slow', 'steps=50', {
      deadline: new Date(Date.now() + 500).toISOString(),
    });
    const failed = await waitForStatus(arcd.url, 'slow', task.taskId, ['FAILED']);
    expect(failed.error.code).toBe(-42011);
    await waitFor('the turn to stop', async () =>
      arcd.server.runner.activeTurns === 0 ? true : undefined,
    );
    expect((await arcd.server.store.listRuns(task.taskId)).map((r) => r.outcome)).toEqual([
      'deadline-exceeded',
    ]);
  });

  test('retries and deadlines act when due, not at the next poll', async () => {
    const failsOnce = agent('fails-once', (ctx) => {
      if (ctx.attempt === 1) throw new Error('first attempt fails');
      return 'second attempt done';
    });
    const hold = agent('holder', (ctx) => untilAborted(ctx));
    // Polls a minute apart (the first at start): only their timers can act within the test.
    arcd = await startArcd({ agents: [failsOnce, hold], config: { pollMs: 60_000 } });
    // A wait of 0 falls due before the failed turn has let go of its task's lease.
    for (const retryDelayMs of [0, 100]) {
      const retried = await createTask(arcd.url, 'fails-once', 'go', {
        settings: { maxRetries: 1, retryDelayMs },
      });
      const done = await waitForStatus(arcd.url, 'fails-once', retried.taskId, ['COMPLETED']);
      expect(done.messages.at(-1).parts[0].content).toBe('second attempt done');
    }
    // Due before the next poll: timed when created, then when each passes the next is timed.
    const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
    const late = await createTask(arcd.url, 'holder', 'a', { deadline: soon(300) });
    const later = await createTask(arcd.url, 'holder', 'b', { deadline: soon(600) });
    for (const { taskId } of [late, later]) {
      const failed = await waitForStatus(arcd.url, 'holder', taskId, ['FAILED']);
      expect(failed.error.code).toBe(-42011);
    }
  });

  test('more tasks overdue at once than a sweep takes are all failed on time', async () => {
    const hold = agent('holder', (ctx) => untilAborted(ctx), { limits: { concurrency: 1 } });
    // Polls a minute apart (the first at start): only the deadline's timer acts in the test.
    arcd = await startArcd({ agents: [hold], config: { pollMs: 60_000 } });
    const deadline = new Date(Date.now() + 2_000).toISOString();
    // Past one sweep's batch (100): queued behind the agent's one slot, all due together.
    const tasks = await Promise.all(
      Array.from({ length: 130 }, (_, i) => createTask(arcd.url, 'holder', `t${i}`, { deadline })),
    );
    await waitFor('every task failed by its deadline', async () => {
      const infos = await Promise.all(tasks.map((t) => arcd.server.store.getTask(t.taskId)));
      return infos.every((task) => task?.status === 'FAILED') ? true : undefined;
    });
  });

  test('a deadline in the past is refused', async () => {
    arcd = await startArcd();
    const reply = await arcCall(arcd.url, 'task.create', {
      initialMessage: textMessage('x'),
      deadline: '2020-01-01T00:00:00Z',
    });
    expect(reply.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'deadline' }] },
    });
  });
});

describe('checkpoints, usage and progress', () => {
  test('a checkpoint survives a retry, and usage is summed per run and per task', async () => {
    const seen: unknown[] = [];
    const worker = agent('worker', async (ctx) => {
      seen.push(ctx.lastCheckpoint);
      await ctx.reportUsage({ tokens: 100, cost: 0.25 });
      await ctx.reportUsage({ tokens: 20 });
      await ctx.checkpoint({ page: ctx.attempt * 10 });
      await ctx.setStatus(`page ${ctx.attempt * 10} of 30`);
      await ctx.progress(ctx.attempt / 3);
      if (ctx.attempt < 3) throw new Error('try again');
      return 'done';
    });
    arcd = await startArcd({ bundled: false, agents: [worker] });
    const task = await createTask(arcd.url, 'worker', 'go', {
      settings: { maxRetries: 2, retryDelayMs: 5 },
    });
    const done = await waitForStatus(arcd.url, 'worker', task.taskId, ['COMPLETED']);
    expect(seen).toEqual([undefined, { page: 10 }, { page: 20 }]);
    expect(done).toMatchObject({
      usage: { tokensUsed: 360, cost: 0.75 },
      internalStatus: 'page 30 of 30',
      progress: 1,
    });
    const runs = await arcd.server.store.listRuns(task.taskId);
    expect(runs.map((r) => [r.tokensUsed, r.cost])).toEqual([
      [120, 0.25],
      [120, 0.25],
      [120, 0.25],
    ]);
  });

  test("a turn resumed after input keeps the run's checkpoint; a task.retry starts clean", async () => {
    const seen: unknown[] = [];
    const worker = agent('pager', async (ctx) => {
      seen.push(ctx.lastCheckpoint);
      const page = ((ctx.lastCheckpoint as { page?: number } | undefined)?.page ?? 0) + 1;
      await ctx.checkpoint({ page });
      if (page === 1) return ctx.requestInput('more?');
      throw new Error(`gave up at page ${page}`);
    });
    arcd = await startArcd({ bundled: false, agents: [worker] });
    const on = { targetAgent: 'pager' };
    const task = await createTask(arcd.url, 'pager', 'go');
    await waitForStatus(arcd.url, 'pager', task.taskId, ['INPUT_REQUIRED']);
    await arcResult(
      arcd.url,
      'task.send',
      { taskId: task.taskId, message: textMessage('yes') },
      on,
    );
    await waitForStatus(arcd.url, 'pager', task.taskId, ['FAILED']);
    await arcResult(arcd.url, 'task.retry', { taskId: task.taskId }, on);
    await waitForStatus(arcd.url, 'pager', task.taskId, ['INPUT_REQUIRED']);
    // Run 1: nothing, then its own page 1. Run 2 (the retry): nothing of run 1's pages.
    expect(seen).toEqual([undefined, { page: 1 }, undefined]);
  });

  test('a run ends with the pause that asks for input, and again as its handler ends', async () => {
    let finish: (() => void) | undefined;
    const asker = agent('asker', async (ctx) => {
      await ctx.requestInput('which one?');
      // Still running after asking (cleaning up): a process dying now leaves the pause.
      await new Promise<void>((resolve) => (finish = resolve));
      if (ctx.text() === 'fail after') throw new Error('broke after asking');
    });
    arcd = await startArcd({ bundled: false, agents: [asker] });
    const on = { targetAgent: 'asker' };
    const runsOf = async (taskId: string) =>
      (await arcResult(arcd.url, 'task.runs', { taskId }, on)).runs as WireJson[];
    const task = await createTask(arcd.url, 'asker', 'go', {}, on);
    await waitForStatus(arcd.url, 'asker', task.taskId, ['INPUT_REQUIRED'], on);
    const [paused] = await runsOf(task.taskId);
    expect(paused).toMatchObject({ outcome: 'input-required', durationMs: expect.any(Number) });
    finish!();
    await waitFor('the handler done', async () =>
      (await arcd.server.store.getTask(task.taskId))?.leaseOwner === undefined ? true : undefined,
    );
    expect((await runsOf(task.taskId))[0]).toMatchObject({ outcome: 'input-required' });
    // A handler failing after it asked still fails its run (and its task).
    const failing = await createTask(arcd.url, 'asker', 'fail after', {}, on);
    await waitForStatus(arcd.url, 'asker', failing.taskId, ['INPUT_REQUIRED'], on);
    finish!();
    await waitForStatus(arcd.url, 'asker', failing.taskId, ['FAILED'], on);
    await waitFor('the failed run', async () =>
      (await runsOf(failing.taskId))[0]?.outcome === 'failed' ? true : undefined,
    );
  });

  test('without memory a retried turn starts clean', async () => {
    const seen: unknown[] = [];
    const worker = agent('forgetful', async (ctx) => {
      seen.push(ctx.lastCheckpoint);
      await ctx.checkpoint({ attempt: ctx.attempt });
      if (ctx.attempt < 2) throw new Error('again');
    });
    arcd = await startArcd({ bundled: false, agents: [worker] });
    const task = await createTask(arcd.url, 'forgetful', 'go', {
      settings: { maxRetries: 1, retryDelayMs: 5, enableMemory: false },
    });
    await waitForStatus(arcd.url, 'forgetful', task.taskId, ['COMPLETED']);
    expect(seen).toEqual([undefined, undefined]);
  });

  test('a status over 255 characters and progress outside 0..1 are refused', async () => {
    const errors: string[] = [];
    const worker = agent('checker', async (ctx) => {
      for (const call of [
        () => ctx.setStatus('x'.repeat(256)),
        () => ctx.progress(1.5),
        () => ctx.progress(Number.NaN),
      ]) {
        await call().catch((error: Error) => errors.push(error.message));
      }
      await ctx.setStatus('x'.repeat(255));
    });
    arcd = await startArcd({ bundled: false, agents: [worker] });
    const task = await createTask(arcd.url, 'checker', 'go');
    const done = await waitForStatus(arcd.url, 'checker', task.taskId, ['COMPLETED']);
    expect(errors).toEqual([
      'a status is a string of at most 255 characters',
      'progress is a number from 0 to 1',
      'progress is a number from 0 to 1',
    ]);
    expect(done.internalStatus).toHaveLength(255);
  });

  test('settings are validated', async () => {
    arcd = await startArcd();
    const reply = await arcCall(arcd.url, 'task.create', {
      initialMessage: textMessage('x'),
      settings: { maxRetries: -1, colour: 'red' },
    });
    const fields = reply.body.error.details.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['settings.colour', 'settings.maxRetries']);
  });

  test('a first retry wait past the hour every wait is capped at is refused, not cut short', async () => {
    arcd = await startArcd();
    const reply = await arcCall(arcd.url, 'task.create', {
      initialMessage: textMessage('x'),
      settings: { retryDelayMs: MAX_RETRY_DELAY_MS + 1 },
    });
    expect(reply.body.error.code).toBe(-32602);
    expect(reply.body.error.details.errors[0].field).toBe('settings.retryDelayMs');
    const atCap = await arcCall(arcd.url, 'task.create', {
      initialMessage: textMessage('x'),
      settings: { retryDelayMs: MAX_RETRY_DELAY_MS },
    });
    expect(atCap.body.result.task.status).toBe('SUBMITTED');
  });
});
