/**
 * Early start of a pure agent's first turn: it runs as soon as its task's create is planned
 * for its batch, while that batch commits; nothing of it is told before the create is stored,
 * and nothing of it is stored if the create fails. If the writer thread dies with the batch
 * (stored or not, no one can tell), whatever was stored is run to its end all the same.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
afterEach(async () => arcd?.close());

/** Agents that log each turn they run, and the commits of their tasks, in one list. */
function loggedAgents(log: string[]) {
  const handle = (ctx: { task: { taskId: string } }) => {
    log.push(`turn ${ctx.task.taskId}`);
    return 'done';
  };
  return [
    defineAgent({ id: 'pure', description: 'computes only', pure: true, handle }),
    defineAgent({ id: 'plain', description: 'may have effects', handle }),
    defineAgent({
      id: 'pure-waits',
      description: 'computes until stopped',
      pure: true,
      handle: (ctx) =>
        new Promise<string>((resolve) => {
          log.push(`turn ${ctx.task.taskId}`);
          const timer = setTimeout(() => resolve('not stopped'), 3000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            log.push(`stopped: ${String(ctx.signal.reason)}`);
            resolve('stopped');
          });
        }),
    }),
  ];
}

async function started(
  agents: ReturnType<typeof loggedAgents>,
  log: string[],
  writerThread = 'on',
) {
  const running = await startArcd({ agents, config: { pollMs: 60_000, writerThread } });
  running.server.store.onCommit((taskId, { task }) => log.push(`commit ${taskId} ${task?.status}`));
  // The start-up claim must have found the queue empty before tasks start directly.
  const first = await createTask(running.url, 'echo', 'warm-up');
  await waitForStatus(running.url, 'echo', first.taskId, ['COMPLETED']);
  log.length = 0;
  return running;
}

/** Refuses, on every connection, to insert a task whose metadata says `refuse`. */
function refuseTasksMarked(dbFile: string) {
  const db = new Database(dbFile);
  db.exec(`CREATE TRIGGER refuse_marked BEFORE INSERT ON tasks
    WHEN NEW.metadata LIKE '%refuse%' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`);
  db.close();
}

/** Resolves once no turn runs on the server under test. */
const turnsEnded = () =>
  waitFor('the turns to end', async () =>
    arcd.server.runner.activeTurns === 0 ? true : undefined,
  );

function rowsOf(dbFile: string, taskId: string) {
  const db = new Database(dbFile, { readonly: true });
  const count = (table: string) =>
    (
      db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE task_id = ?`).get(taskId) as {
        n: number;
      }
    ).n;
  const rows = { tasks: count('tasks'), events: count('events'), runs: count('runs') };
  db.close();
  return rows;
}

test("a pure agent's turn runs before its create has committed; a plain agent's after", async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  for (const agent of ['pure', 'plain']) {
    const created = await arcResult(
      arcd.url,
      'task.create',
      { initialMessage: textMessage('go'), wait: 5000 },
      { targetAgent: agent },
    );
    expect(created.task.status).toBe('COMPLETED');
    const id = created.task.taskId as string;
    const turnFirst = [`turn ${id}`, `commit ${id} WORKING`, `commit ${id} COMPLETED`];
    const commitFirst = [`commit ${id} WORKING`, `turn ${id}`, `commit ${id} COMPLETED`];
    expect(log.filter((line) => line.includes(id))).toEqual(
      agent === 'pure' ? turnFirst : commitFirst,
    );
    const db = new Database(arcd.db, { readonly: true });
    expect(db.prepare('SELECT attempt, outcome FROM runs WHERE task_id = ?').all(id)).toEqual([
      { attempt: 1, outcome: 'completed' },
    ]);
    db.close();
  }
});

test("a pure agent's create that fails to commit leaves nothing of its turn", async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  refuseTasksMarked(arcd.db);
  for (const agent of ['pure', 'plain', 'pure-waits']) {
    const reply = await arcCall(
      arcd.url,
      'task.create',
      { initialMessage: textMessage('go'), metadata: { note: 'refuse' }, wait: 5000 },
      { targetAgent: agent },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.error).toMatchObject({ code: expect.any(Number) });
  }
  // The pure agents' turns ran (and only theirs); the one still running was stopped.
  await turnsEnded();
  const turns = log.filter((line) => line.startsWith('turn '));
  expect(turns).toHaveLength(2);
  expect(log.filter((line) => !line.startsWith('turn '))).toEqual([
    expect.stringMatching(/^stopped: .*not stored/),
  ]); // and no commit was told of
  for (const turn of turns) {
    expect(rowsOf(arcd.db, turn.replace('turn ', ''))).toEqual({ tasks: 0, events: 0, runs: 0 });
  }
  // The server goes on as before.
  const next = await createTask(arcd.url, 'pure', 'after');
  await waitForStatus(arcd.url, 'pure', next.taskId, ['COMPLETED']);
});

test('a pure create planned again after a failed batch keeps its one run', async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  refuseTasksMarked(arcd.db);
  const { tasks, runner } = arcd.server;
  // Counts how often each direct start is planned.
  const plans = new Map<string, number>();
  const startNow = runner.startNow.bind(runner);
  jest.spyOn(runner, 'startNow').mockImplementation((task) => {
    const start = startNow(task);
    if (!start) return start;
    const plan = start.plan;
    start.plan = (current, at) => {
      plans.set(current.taskId, (plans.get(current.taskId) ?? 0) + 1);
      return plan(current, at);
    };
    return start;
  });
  const call = { requestAgent: 'tester', targetAgent: 'pure' };
  // One batch: the refused create fails it, and the other create is planned again.
  const [kept, refused] = await Promise.allSettled([
    tasks.create(call, { initialMessage: textMessage('kept') as never, wait: 5000 }),
    tasks.create(call, { initialMessage: textMessage('no') as never, metadata: { n: 'refuse' } }),
  ]);
  expect(refused.status).toBe('rejected');
  expect(kept.status).toBe('fulfilled');
  const task = (kept as PromiseFulfilledResult<{ taskId: string; status: string }>).value;
  expect(task.status).toBe('COMPLETED');
  // Planned twice: in the failed batch and after it (the refused task's early turn, planned
  // on a row that never committed, reads it again instead of failing one more batch).
  expect(plans.get(task.taskId)).toBe(2);
  expect(log.filter((line) => line === `turn ${task.taskId}`)).toHaveLength(1);
  const db = new Database(arcd.db, { readonly: true });
  expect(
    db.prepare('SELECT attempt, outcome FROM runs WHERE task_id = ?').all(task.taskId),
  ).toEqual([{ attempt: 1, outcome: 'completed' }]);
  expect(db.prepare('SELECT lease_owner FROM tasks WHERE task_id = ?').get(task.taskId)).toEqual({
    lease_owner: null,
  });
  db.close();
});

test("two pure creates refused in one batch: their early turns' writes find no task, and end", async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  refuseTasksMarked(arcd.db);
  const refused = { initialMessage: textMessage('go') as never, metadata: { note: 'refuse' } };
  const outcomes = await Promise.allSettled(
    ['plain', 'plain', 'pure', 'pure'].map((agent) =>
      arcd.server.tasks.create({ requestAgent: 'tester', targetAgent: agent }, refused),
    ),
  );
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  // Each completion's guard finds its row missing in turn; a guard's finding must outlive the
  // batch it failed, or the two fail each other's batches for ever.
  await turnsEnded();
  const turns = log.filter((line) => line.startsWith('turn '));
  expect(turns).toHaveLength(2);
  for (const turn of turns) {
    expect(rowsOf(arcd.db, turn.replace('turn ', ''))).toEqual({ tasks: 0, events: 0, runs: 0 });
  }
});

test.each(['on', 'off'])(
  'writer thread %s: creates of pure and plain agents, some refused, in one batch: every stored task runs once, no refused one leaves a row',
  async (writerThread) => {
    const log: string[] = [];
    arcd = await started(loggedAgents(log), log, writerThread);
    refuseTasksMarked(arcd.db);
    const { tasks } = arcd.server;
    const db = new Database(arcd.db, { readonly: true });
    const runsOf = db.prepare('SELECT attempt, outcome FROM runs WHERE task_id = ?');
    const leaseOf = db.prepare('SELECT lease_owner FROM tasks WHERE task_id = ?');
    const creates = fc.array(
      fc.record({ agent: fc.constantFrom('pure', 'plain'), refused: fc.boolean() }),
      { minLength: 1, maxLength: 8 },
    );
    try {
      await fc.assert(
        fc.asyncProperty(creates, async (batch) => {
          log.length = 0;
          const outcomes = await Promise.allSettled(
            batch.map(({ agent, refused }) =>
              tasks.create(
                { requestAgent: 'tester', targetAgent: agent },
                {
                  initialMessage: textMessage('go') as never,
                  wait: 5000,
                  metadata: { note: refused ? 'refuse' : 'keep' },
                },
              ),
            ),
          );
          await turnsEnded();
          const stored = new Set<string>();
          outcomes.forEach((outcome, i) => {
            expect(outcome.status).toBe(batch[i]?.refused ? 'rejected' : 'fulfilled');
            if (outcome.status !== 'fulfilled') return;
            const task = outcome.value;
            stored.add(task.taskId);
            expect(task.status).toBe('COMPLETED');
            expect(runsOf.all(task.taskId)).toEqual([{ attempt: 1, outcome: 'completed' }]);
            expect(leaseOf.get(task.taskId)).toEqual({ lease_owner: null });
          });
          const turns = log.filter((line) => line.startsWith('turn ')).map((l) => l.slice(5));
          for (const id of stored) expect(turns.filter((t) => t === id)).toHaveLength(1);
          // Turns of tasks not stored: only pure agents' (run early), at most once, with no rows.
          const unstored = turns.filter((id) => !stored.has(id));
          const pureRefused = batch.filter((c) => c.refused && c.agent === 'pure').length;
          expect(unstored.length).toBeLessThanOrEqual(pureRefused);
          expect(new Set(unstored).size).toBe(unstored.length);
          for (const id of unstored) {
            expect(rowsOf(arcd.db, id)).toEqual({ tasks: 0, events: 0, runs: 0 });
          }
        }),
        { numRuns: 20 },
      );
      expect(db.prepare("SELECT COUNT(*) AS n FROM runs WHERE outcome = 'running'").get()).toEqual({
        n: 0,
      });
    } finally {
      db.close();
    }
  },
);

interface WriterInternals {
  thread: {
    execute(batch: unknown): Promise<unknown>;
    worker: { terminate(): Promise<number> };
  };
  firstDelayMs: number;
  maxDelayMs: number;
  delayMs: number;
}

/**
 * The store's supervised writer thread (private: reached on purpose, as a crash would), set
 * to start a new thread 20 ms after each crash (1 s, doubling, by default).
 */
function quicklyRestartedWriter(running: Running): WriterInternals {
  const { writer } = running.server.store as unknown as { writer: WriterInternals };
  return Object.assign(writer, { firstDelayMs: 20, maxDelayMs: 20, delayMs: 20 });
}

test('the writer thread dying under early-started turns: every task stored is finished, none stuck', async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  const writer = quicklyRestartedWriter(arcd);
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 2, max: 12 }),
      async (crashAtBatch, creates) => {
        // The thread dies right after its Nth batch from now was sent: the batch may or may
        // not have committed, and its callers cannot know which, as in a crash.
        const thread = writer.thread;
        const execute = thread.execute.bind(thread);
        let sent = 0;
        thread.execute = (batch) => {
          const answer = execute(batch);
          sent += 1;
          if (sent === crashAtBatch) void thread.worker.terminate();
          return answer;
        };
        const outcomes = await Promise.allSettled(
          Array.from({ length: creates }, (_, i) =>
            arcCall(
              arcd.url,
              'task.create',
              { initialMessage: textMessage(`go ${i}`), wait: 5000 },
              { targetAgent: i % 2 === 0 ? 'pure' : 'plain' },
            ),
          ),
        );
        // Every create was answered: with its task, or with an ARC error under HTTP 200.
        expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'fulfilled'));
        const replies = outcomes.map(
          (o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof arcCall>>>).value,
        );
        for (const reply of replies) {
          expect(reply.status).toBe(200);
          if (reply.body.error) expect(reply.body.error.code).toEqual(expect.any(Number));
          else expect(['WORKING', 'COMPLETED']).toContain(reply.body.result.task.status);
        }
        // Whatever was stored (acknowledged or not) finishes: a turn cut by the crash is run
        // again; nothing is left WORKING under a lease no one renews.
        await waitFor(
          'every stored task to finish',
          async () => {
            const db = new Database(arcd.db, { readonly: true });
            const unfinished = db
              .prepare("SELECT COUNT(*) AS n FROM tasks WHERE status <> 'COMPLETED'")
              .get() as { n: number };
            db.close();
            return unfinished.n === 0 ? true : undefined;
          },
          15_000,
        );
        const acknowledged = replies
          .filter((reply) => !reply.body.error)
          .map((reply) => reply.body.result.task.taskId as string);
        const db = new Database(arcd.db, { readonly: true });
        for (const taskId of acknowledged) {
          const seqs = db
            .prepare('SELECT seq FROM events WHERE task_id = ? ORDER BY seq')
            .all(taskId) as Array<{ seq: number }>;
          expect(seqs.map((row) => row.seq)).toEqual(seqs.map((_, i) => i + 1));
        }
        db.close();
        // A new thread has taken over before the next run (if this one was cut).
        if (sent >= crashAtBatch) {
          await waitFor('a new writer thread', async () =>
            writer.thread !== thread ? true : undefined,
          );
        } else thread.execute = execute;
      },
    ),
    { numRuns: 10 },
  );
}, 120_000);

test('a create whose batch committed but whose answer was lost with the thread: its task runs at once', async () => {
  const log: string[] = [];
  arcd = await started(loggedAgents(log), log);
  const writer = quicklyRestartedWriter(arcd);
  for (const agent of ['plain', 'pure']) {
    // The batch commits; then the thread dies before its answer is heard.
    const thread = writer.thread;
    const execute = thread.execute.bind(thread);
    thread.execute = async (batch) => {
      await execute(batch);
      await thread.worker.terminate();
      throw new Error('the SQLite writer thread stopped');
    };
    const reply = await arcCall(
      arcd.url,
      'task.create',
      { initialMessage: textMessage(`lost answer ${agent}`) },
      { targetAgent: agent },
    );
    expect(reply.status).toBe(200);
    // The caller learns that the task may exist all the same (to check before creating again).
    expect(reply.body.error).toMatchObject({
      code: -32603,
      message: expect.stringMatching(/may or may not have been stored$/),
      details: { errorId: expect.stringMatching(/^err-/), stored: 'unknown' },
    });
    // The task was stored, leased to this process: it runs now, not when the lease lapses.
    const db = new Database(arcd.db, { readonly: true });
    const stored = db
      .prepare(
        "SELECT t.task_id AS taskId FROM tasks t JOIN messages m ON m.task_id = t.task_id WHERE t.assigned_agent = ? AND m.parts LIKE '%lost answer%'",
      )
      .get(agent) as { taskId: string };
    db.close();
    const done = await waitForStatus(arcd.url, agent, stored.taskId, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('done');
    // Its cut first run counts as interrupted, as after a crash (neither failed nor canceled);
    // a pure agent's completion may have committed in the batch after the create's, before
    // the thread died.
    const history = new Database(arcd.db, { readonly: true });
    const runs = history
      .prepare('SELECT outcome FROM runs WHERE task_id = ? ORDER BY attempt')
      .all(stored.taskId)
      .map((row) => (row as { outcome: string }).outcome);
    history.close();
    const cut = ['interrupted', 'completed'];
    if (agent === 'plain') expect(runs).toEqual(cut);
    else expect([cut, ['completed']]).toContainEqual(runs);
    await waitFor('a new writer thread', async () => (writer.thread !== thread ? true : undefined));
  }
});
