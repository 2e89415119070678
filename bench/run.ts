/**
 * `npm run bench`: arcd against its floors and its peer, in one run, as ratios.
 *
 * Every target runs in turn as its own child process on its own port. Each is warmed up, its
 * answer to one sample request is checked, then it is loaded for the measured window while its
 * CPU time (/proc/<pid>/stat) is read before and after; peak RSS is /proc/<pid>/status VmHWM.
 * Prints one table and the target ratios (PASS/MISS), and writes bench/results/*.json.
 * bench/README.md explains every figure.
 *
 * Env: BENCH_DURATION_S (10), BENCH_WARMUP_S (3), BENCH_CONNECTIONS (32), BENCH_ONLY (comma-
 * separated row ids), BENCH_SOAK_S (0 = no memory soak), BENCH_SOAK_INTERVAL_S, BENCH_ROUNDS (4; 0 =
 * no interleaved rounds), BENCH_ROUND_S (4).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { arcBody, arcCall, queuedTaskBody, request } from './lib/http';
import { arcdEchoTask, cannon, type LoadResult } from './lib/load';
import {
  ROOT,
  TARGETS_DIR,
  cpuMicros,
  diskWriteBytes,
  freePort,
  memMb,
  startArcd,
  startServer,
  type ServerProcess,
} from './lib/proc';
import { memorySoak, type SoakResult } from './lib/memorySoak';
import { median, roundOrder } from './lib/rounds';
import {
  CONNECTIONS,
  WORKLOADS,
  answeredWith,
  arcLoad,
  benchAuth,
  createEchoBody,
  holdTheTurnSlot,
  type Workload,
} from './lib/workloads';
import { measureWebhooks } from './webhookDelivery';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : undefined;
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? 0);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 4);
const INFO_TASKS = 500;

type Unit = 'req' | 'task' | 'event';

export interface Row {
  id: string;
  what: string;
  unit: Unit;
  count: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  errorSamples: string[];
  /** Server CPU in the window plus the work it finished after it (until idle), per unit. */
  cpuUsPerUnit: number;
  /** Server CPU in the window only, per unit. */
  cpuUsPerUnitWindow: number;
  /** Server CPU time / wall time during the window (1 = one core busy). */
  serverCores: number;
  /** The load generator's (this process's) CPU time / wall time during the window. */
  loadCores: number;
  /** KiB written to storage per unit (/proc/<pid>/io write_bytes, window and tail). */
  diskKbPerUnit: number;
  /** Seconds the server kept working after the window on work the window caused. */
  tailSeconds: number;
  peakRssMb: number;
  failed?: string;
}

interface Target {
  id: string;
  what: string;
  unit: Unit;
  start(port: number, dir: string): Promise<ServerProcess>;
  /** Prepares data if needed, then checks one sample answer for correctness (throws if wrong). */
  prepare(server: ServerProcess, dir: string): Promise<void>;
  load(server: ServerProcess, seconds: number): Promise<LoadResult>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`sample check failed: ${what}`);
}

/**
 * Waits until the server uses under 3% of a core for 300 ms. Returns how long it kept working
 * and its CPU time when it went quiet (the quiet 300 ms themselves are not counted).
 */
async function waitIdle(pid: number, maxMs = 30_000): Promise<{ seconds: number; cpu: number }> {
  const started = performance.now();
  for (;;) {
    const before = cpuMicros(pid);
    const at = performance.now();
    await sleep(300);
    if (cpuMicros(pid) - before < 0.03 * 300_000 || at - started > maxMs) {
      return { seconds: (at - started) / 1000, cpu: before };
    }
  }
}

// ---- request bodies -------------------------------------------------------------------------

interface Envelope {
  arc: string;
  id: unknown;
  result: {
    type: string;
    task: Record<string, unknown> & { taskId: string; status: string };
  } | null;
  error: unknown;
}

const a2aBody = (text = `hello ${randomUUID()}`) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: randomUUID(),
    method: 'SendMessage',
    params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] } },
  });
const A2A_HEADERS = { 'A2A-Version': '1.0' };

interface A2aReply {
  result?: {
    task?: {
      id: string;
      status: { state: string; message?: { role: string; parts: Array<{ text?: string }> } };
      history?: unknown[];
    };
  };
  error?: unknown;
}

const a2aCompleted = (body: string) => {
  const reply = JSON.parse(body) as A2aReply;
  return !reply.error && reply.result?.task?.status.state === 'TASK_STATE_COMPLETED';
};

/** Checks one task.create answer field by field, then reads the task back. */
async function checkCreate(url: string, sqliteFile?: string) {
  const id = randomUUID();
  const body = JSON.parse(createEchoBody()) as { id: string; params: object };
  body.id = id;
  const reply = await request(`${url}/arc`, { method: 'POST', body: JSON.stringify(body) });
  assert(reply.status === 200, `HTTP ${reply.status}`);
  const envelope = JSON.parse(reply.body) as Envelope;
  assert(envelope.arc === '1.0' && envelope.id === id, `envelope ${reply.body}`);
  assert(envelope.error === null && envelope.result?.type === 'task', `result ${reply.body}`);
  const task = envelope.result.task;
  assert(task.status === 'SUBMITTED' && task.taskId.startsWith('task-'), `task ${reply.body}`);
  assert(task.assignedAgent === 'echo' && task.requestAgent === 'bench', `agents ${reply.body}`);
  if (sqliteFile) {
    const db = new Database(sqliteFile, { readonly: true });
    const rows = db
      .prepare('SELECT count(*) AS n FROM tasks JOIN messages USING (task_id) WHERE task_id = ?')
      .get(task.taskId) as { n: number };
    db.close();
    assert(rows.n === 1, 'task and message rows committed');
  }
  return task.taskId;
}

/** arcd's echo task came back COMPLETED with the agent's reply equal to the input. */
async function checkEchoTask(url: string, taskId: string, text: string) {
  const info = await arcCall<{
    task: { status: string; messages: Array<{ role: string; parts: Array<{ content: string }> }> };
  }>(url, 'task.info', 'echo', { taskId });
  assert(info.task.status === 'COMPLETED', `status ${info.task.status}`);
  const [user, agent] = info.task.messages;
  assert(user?.role === 'user' && user.parts[0]?.content === text, 'stored user message');
  assert(agent?.role === 'agent' && agent.parts[0]?.content === text, 'echoed agent message');
}

async function checkA2a(url: string, sqliteFile?: string) {
  const text = `sample ${randomUUID()}`;
  const noVersion = await request(`${url}/`, { method: 'POST', body: a2aBody(text) });
  // Without A2A-Version the SDK assumes 0.3 and refuses every call, under HTTP 200.
  assert(noVersion.status === 200 && /-32009/.test(noVersion.body), 'no-version answer is -32009');
  const reply = await request(`${url}/`, {
    method: 'POST',
    body: a2aBody(text),
    headers: A2A_HEADERS,
  });
  assert(reply.status === 200, `HTTP ${reply.status}`);
  const task = (JSON.parse(reply.body) as A2aReply).result?.task;
  assert(task?.status.state === 'TASK_STATE_COMPLETED', `state ${reply.body}`);
  assert(task.status.message?.role === 'ROLE_AGENT', 'agent reply');
  assert(task.status.message.parts[0]?.text === text, 'echoed text');
  assert(task.history?.length === 2, 'history has the user message and the reply');
  if (sqliteFile) {
    const db = new Database(sqliteFile, { readonly: true });
    const row = db.prepare('SELECT status_state AS s FROM tasks WHERE id = ?').get(task.id) as
      { s: string } | undefined;
    db.close();
    assert(row?.s === 'TASK_STATE_COMPLETED', `stored row ${JSON.stringify(row)}`);
  }
}

// ---- targets ----------------------------------------------------------------------------------

const workload = (name: string) => WORKLOADS[name] as Workload;
/** The floors answer the same task.create load as arcd-create. */
const floorLoad = workload('task.create').load;

const a2aLoad = (server: ServerProcess, seconds: number) =>
  cannon({
    url: `${server.url}/`,
    connections: CONNECTIONS,
    seconds,
    headers: A2A_HEADERS,
    body: a2aBody,
    check: a2aCompleted,
  });

let infoTaskIds: string[] = [];

/**
 * The blocking echo task (task.create with `wait`), arcd's counterpart of a2a-js's blocking
 * SendMessage. `extra`: arcd flags (its turn limit).
 */
function echoWaitTarget(id: string, what: string, extra: string[]): Target {
  return {
    id,
    what,
    unit: 'task',
    start: (port, dir) => startArcd({ port, db: path.join(dir, 'arcd.db'), extra }),
    prepare: async (server) => {
      const text = `sample ${randomUUID()}`;
      const reply = await arcCall<{ task: { taskId: string; status: string } }>(
        server.url,
        'task.create',
        'echo',
        {
          initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: text }] },
          wait: 30_000,
        },
      );
      assert(reply.task.status === 'COMPLETED', `blocking create ${reply.task.status}`);
      await checkEchoTask(server.url, reply.task.taskId, text);
    },
    load: workload('echo-wait').load,
  };
}

// a2a-js runs every call at once; arcd's echo rows lift its turn limit (default 16) above the
// load's connections (the echo workloads' flags) so that both do the same work.
// arcd-echo-queued keeps the default: half of its tasks wait in the queue and are started by
// claims, arcd's path under overload.

const TARGETS: Target[] = [
  {
    id: 'floor-node',
    what: 'node:http + JSON, no storage',
    unit: 'req',
    start: (port) =>
      startServer({
        name: 'floor-node',
        port,
        args: [path.join(TARGETS_DIR, 'floorNode.js'), String(port)],
        readyPath: '/',
      }),
    prepare: async (server) => void (await checkCreate(server.url)),
    load: floorLoad,
  },
  {
    id: 'floor-sqlite',
    what: 'floor-node + 1 SQLite tx (task+message)',
    unit: 'req',
    start: (port, dir) =>
      startServer({
        name: 'floor-sqlite',
        port,
        args: [path.join(TARGETS_DIR, 'floorSqlite.js'), String(port), path.join(dir, 'floor.db')],
        readyPath: '/',
      }),
    prepare: async (server, dir) =>
      void (await checkCreate(server.url, path.join(dir, 'floor.db'))),
    load: floorLoad,
  },
  {
    id: 'arcd-create',
    what: 'arcd task.create (durable, SUBMITTED)',
    unit: 'req',
    start: (port, dir) =>
      startArcd({ port, db: path.join(dir, 'arcd.db'), extra: workload('task.create').flags }),
    prepare: async (server) => {
      const taskId = await checkCreate(server.url);
      const info = await arcCall<{ task: { messages: unknown[] } }>(
        server.url,
        'task.info',
        'echo',
        { taskId },
      );
      assert(info.task.messages.length >= 1, 'created task has its initial message');
    },
    load: workload('task.create').load,
  },
  {
    id: 'arcd-create-only',
    what: 'arcd task.create, engine busy (create path only)',
    unit: 'req',
    // One turn slot, held by a long task: the tasks created stay queued (lib/workloads.ts).
    start: (port, dir) =>
      startArcd({ port, db: path.join(dir, 'arcd.db'), extra: workload('create-only').flags }),
    prepare: async (server) => {
      await holdTheTurnSlot(server);
      const reply = await request(`${server.url}/arc`, { method: 'POST', body: queuedTaskBody() });
      assert(reply.status === 200 && answeredWith('SUBMITTED')(reply.body), `create ${reply.body}`);
      const { taskId } = (JSON.parse(reply.body) as Envelope).result?.task ?? { taskId: '' };
      await sleep(300); // were the slot free, the task would be WORKING or done by now
      const info = await arcCall<{ task: { status: string } }>(server.url, 'task.info', 'slow', {
        taskId,
      });
      assert(info.task.status === 'SUBMITTED', `queued task ${info.task.status}`);
    },
    load: workload('create-only').load,
  },
  {
    id: 'arcd-create-deployed',
    what: 'the same with a bearer JWT and the rate limit on',
    unit: 'req',
    // As arcd-create-only, with --auth required (each call's JWT verified, then remembered)
    // and the rate limit counting (set high enough never to refuse the bench).
    start: (port, dir) =>
      startArcd({
        port,
        db: path.join(dir, 'arcd.db'),
        extra: workload('create-only-deployed').flags,
      }),
    prepare: async (server) => {
      const auth = await benchAuth();
      const bare = await request(`${server.url}/arc`, { method: 'POST', body: queuedTaskBody() });
      const refused = JSON.parse(bare.body) as { error: { code?: number } | null };
      assert(refused.error?.code === -44001, `no token ${bare.body}`);
      await holdTheTurnSlot(server, auth);
      const reply = await request(`${server.url}/arc`, {
        method: 'POST',
        body: queuedTaskBody(),
        headers: auth,
      });
      assert(reply.status === 200 && answeredWith('SUBMITTED')(reply.body), `create ${reply.body}`);
    },
    load: workload('create-only-deployed').load,
  },
  {
    id: 'arcd-info',
    what: `arcd task.info (${INFO_TASKS} done echo tasks)`,
    unit: 'req',
    start: (port, dir) => startArcd({ port, db: path.join(dir, 'arcd.db') }),
    prepare: async (server) => {
      infoTaskIds = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          while (next < INFO_TASKS) {
            next += 1;
            const outcome = await arcdEchoTask(server.url, agent, `info ${next}`);
            assert(outcome.status === 'COMPLETED', `preload ${outcome.error ?? outcome.status}`);
            infoTaskIds.push(outcome.taskId);
          }
          agent.destroy();
        }),
      );
      await waitIdle(server.pid);
      const sample = infoTaskIds[0] as string;
      const info = await arcCall<{ task: { taskId: string; status: string; messages: unknown[] } }>(
        server.url,
        'task.info',
        'echo',
        { taskId: sample },
      );
      assert(info.task.taskId === sample && info.task.status === 'COMPLETED', 'task.info answer');
      assert(info.task.messages.length === 2, 'task.info includes both messages');
    },
    load: (server, seconds) =>
      arcLoad(
        server,
        seconds,
        () =>
          arcBody('task.info', 'echo', {
            taskId: infoTaskIds[Math.floor(Math.random() * infoTaskIds.length)],
          }),
        answeredWith('COMPLETED'),
      ),
  },
  {
    id: 'arcd-echo-e2e',
    what: 'arcd echo: create → SSE until COMPLETED',
    unit: 'task',
    start: (port, dir) =>
      startArcd({ port, db: path.join(dir, 'arcd.db'), extra: workload('echo-e2e').flags }),
    prepare: async (server) => {
      const text = `sample ${randomUUID()}`;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const outcome = await arcdEchoTask(server.url, agent, text);
      agent.destroy();
      assert(outcome.status === 'COMPLETED', `e2e ${outcome.error ?? outcome.status}`);
      await checkEchoTask(server.url, outcome.taskId, text);
    },
    load: workload('echo-e2e').load,
  },
  echoWaitTarget(
    'arcd-echo-wait',
    'arcd echo: one blocking task.create (wait)',
    workload('echo-wait').flags,
  ),
  echoWaitTarget('arcd-echo-queued', 'arcd echo (wait), default 16 turns: half queue', []),
  {
    id: 'a2a-memory',
    what: 'a2a-js SendMessage, InMemoryTaskStore',
    unit: 'task',
    start: (port) =>
      startServer({
        name: 'a2a-memory',
        port,
        args: [path.join(TARGETS_DIR, 'a2aEcho.js'), String(port), 'memory'],
        readyPath: '/.well-known/agent-card.json',
      }),
    prepare: (server) => checkA2a(server.url),
    load: a2aLoad,
  },
  {
    id: 'a2a-sqlite',
    what: 'a2a-js SendMessage, DatabaseTaskStore',
    unit: 'task',
    start: (port, dir) => {
      const file = path.join(dir, 'a2a.db');
      // The SDK's own migration CLI creates its tables.
      execFileSync(
        process.execPath,
        [
          path.join(ROOT, 'node_modules', '@a2a-js', 'sdk', 'dist', 'cli', 'a2a_db.js'),
          'upgrade',
          '--url',
          `sqlite:${file}`,
        ],
        { stdio: 'ignore' },
      );
      return startServer({
        name: 'a2a-sqlite',
        port,
        args: [path.join(TARGETS_DIR, 'a2aEcho.js'), String(port), 'sqlite', file],
        readyPath: '/.well-known/agent-card.json',
      });
    },
    prepare: (server, dir) => checkA2a(server.url, path.join(dir, 'a2a.db')),
    load: a2aLoad,
  },
];

async function runTarget(target: Target): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `arcd-bench-${target.id}-`));
  let server: ServerProcess | undefined;
  try {
    server = await target.start(await freePort(), dir);
    await target.prepare(server, dir);
    if (WARMUP_S > 0) await target.load(server, WARMUP_S);
    await waitIdle(server.pid);
    const cpu0 = cpuMicros(server.pid);
    const disk0 = diskWriteBytes(server.pid);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await target.load(server, DURATION_S);
    const wall = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const cpuWindow = cpuMicros(server.pid) - cpu0;
    const idle = await waitIdle(server.pid);
    const cpuAll = Math.max(cpuWindow, idle.cpu - cpu0);
    const disk = diskWriteBytes(server.pid) - disk0;
    return {
      id: target.id,
      what: target.what,
      unit: target.unit,
      count: result.count,
      seconds: result.seconds,
      perSecond: result.perSecond,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      errors: result.errors,
      errorSamples: result.errorSamples,
      cpuUsPerUnit: cpuAll / result.count,
      cpuUsPerUnitWindow: cpuWindow / result.count,
      serverCores: cpuWindow / 1e6 / wall,
      loadCores: (self.user + self.system) / 1e6 / wall,
      diskKbPerUnit: disk / 1024 / result.count,
      tailSeconds: idle.seconds,
      peakRssMb: memMb(server.pid, 'VmHWM'),
    };
  } finally {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function failedRow(target: { id: string; what: string; unit: Unit }, error: unknown): Row {
  return {
    id: target.id,
    what: target.what,
    unit: target.unit,
    count: 0,
    seconds: 0,
    perSecond: NaN,
    p50Ms: NaN,
    p99Ms: NaN,
    errors: NaN,
    errorSamples: [],
    cpuUsPerUnit: NaN,
    cpuUsPerUnitWindow: NaN,
    serverCores: NaN,
    loadCores: NaN,
    diskKbPerUnit: NaN,
    tailSeconds: NaN,
    peakRssMb: NaN,
    failed: error instanceof Error ? error.message : String(error),
  };
}

async function webhookRow(): Promise<Row> {
  const w = await measureWebhooks();
  return {
    id: 'arcd-webhooks',
    what: `arcd webhooks: backlog drain, live latency`,
    unit: 'event',
    count: w.backlog.events,
    seconds: w.backlog.ms / 1000,
    perSecond: w.backlog.eventsPerSecond,
    p50Ms: w.live.latencyMs.p50,
    p99Ms: w.live.latencyMs.p99,
    errors: Math.abs(w.live.events - w.live.expected),
    errorSamples: [],
    cpuUsPerUnit: w.backlog.cpuUsPerEvent,
    cpuUsPerUnitWindow: w.backlog.cpuUsPerEvent,
    serverCores: NaN,
    loadCores: NaN,
    diskKbPerUnit: NaN,
    tailSeconds: 0,
    peakRssMb: w.peakRssMb,
  };
}

// ---- interleaved rounds -------------------------------------------------------------------------

/**
 * The targets each ratio compares, measured in turns: the VM's speed drifts within minutes, so
 * the table's rows, minutes apart, can see different machines. Each group's servers run side
 * by side (idle but for the one measured) and take turns, a window each per round.
 */
const ROUND_GROUPS = [
  ['arcd-echo-wait', 'a2a-memory', 'a2a-sqlite'],
  ['arcd-create-only', 'floor-sqlite', 'floor-node'],
];

type Window = Pick<Row, 'id' | 'perSecond' | 'cpuUsPerUnit' | 'errors'>;

interface Interleaved {
  rounds: number;
  seconds: number;
  /** Each round's windows, every group's contenders together. */
  windows: Window[][];
  ratios: Array<Ratio & { perRound: number[] }>;
}

/**
 * One measured window on a running server, once every server of its group is idle (one still
 * collecting garbage after its own window would take a core from this one); CPU counts the
 * work the window caused, until idle.
 */
async function measureWindow(
  target: Target,
  server: ServerProcess,
  group: ServerProcess[],
): Promise<Window> {
  for (const other of group) await waitIdle(other.pid);
  const cpu0 = cpuMicros(server.pid);
  const result = await target.load(server, ROUND_S);
  const cpuWindow = cpuMicros(server.pid) - cpu0;
  const idle = await waitIdle(server.pid);
  return {
    id: target.id,
    perSecond: result.perSecond,
    cpuUsPerUnit: Math.max(cpuWindow, idle.cpu - cpu0) / result.count,
    errors: result.errors,
  };
}

async function interleavedRounds(): Promise<Interleaved> {
  const windows: Window[][] = Array.from({ length: ROUNDS }, () => []);
  for (const ids of ROUND_GROUPS.filter((g) => !ONLY || g.every((id) => ONLY.includes(id)))) {
    const running: Array<{ target: Target; server: ServerProcess; dir: string }> = [];
    try {
      for (const id of ids) {
        const target = TARGETS.find((t) => t.id === id) as Target;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `arcd-bench-rounds-${id}-`));
        const server = await target.start(await freePort(), dir);
        running.push({ target, server, dir });
        await target.prepare(server, dir);
        if (WARMUP_S > 0) await target.load(server, WARMUP_S);
      }
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const { target, server } of roundOrder(running, round)) {
          const group = running.map((r) => r.server);
          const window = await measureWindow(target, server, group);
          (windows[round] as Window[]).push(window);
          console.log(
            `  round ${round + 1} ${target.id}: ${fmt(window.perSecond)}/s, ${fmt(window.cpuUsPerUnit)} µs CPU a unit, ${fmt(window.errors)} errors`,
          );
        }
      }
    } finally {
      for (const { server, dir } of running) {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const perRound = windows.map((round) => ratios(round));
  const merged = (perRound[0] ?? []).map((first, i) => {
    const values = perRound.map((r) => (r[i] as Ratio).value);
    const value = median(values);
    const pass = first.info ? undefined : judge(value, first.op, first.goal);
    return { ...first, value, pass, perRound: values };
  });
  return {
    rounds: ROUNDS,
    seconds: ROUND_S,
    windows,
    ratios: merged.filter((r) => r.perRound.some(Number.isFinite)),
  };
}

// ---- memory soak (optional) -------------------------------------------------------------------

/**
 * The same blocking echo load on arcd (persisting every task) and on a2a-js with its in-memory
 * store, one after the other, each for `seconds`: RSS over time (bench/lib/memorySoak.ts).
 */
async function soaks(seconds: number): Promise<Record<string, SoakResult>> {
  const interval = Number(
    process.env.BENCH_SOAK_INTERVAL_S ?? Math.max(5, Math.round(seconds / 12)),
  );
  const echoWait = TARGETS.find((t) => t.id === 'arcd-echo-wait') as Target;
  const a2a = TARGETS.find((t) => t.id === 'a2a-memory') as Target;
  const out: Record<string, SoakResult> = {};
  for (const target of [echoWait, a2a]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `arcd-bench-soak-${target.id}-`));
    const server = await target.start(await freePort(), dir);
    try {
      const db = path.join(dir, 'arcd.db');
      out[target.id] = await memorySoak({
        pid: server.pid,
        seconds,
        interval,
        ...(target === echoWait ? { files: [db, `${db}-wal`] } : {}),
        slice: async (s) => (await target.load(server, s)).count,
        onSample: (sample) => console.log(`  soak ${target.id} ${JSON.stringify(sample)}`),
      });
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** Percent of all CPUs busy over one second (/proc/stat), before anything of ours runs. */
async function machineBusyPct(): Promise<number> {
  const read = () => {
    const fields = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] as string)
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(1000);
  const b = read();
  return Math.round(100 * (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total)));
}

// ---- report -----------------------------------------------------------------------------------

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      })
    : '-';

function table(rows: Row[]): string {
  const header = [
    'target',
    'what',
    'rate/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'CPU µs/unit',
    'srv cores',
    'load cores',
    'disk KB/unit',
    'peak RSS MB',
  ];
  const lines = rows.map((r) => [
    r.id,
    r.what,
    r.failed ? 'FAILED' : `${fmt(r.perSecond)} ${r.unit}`,
    fmt(r.p50Ms, 1),
    fmt(r.p99Ms, 1),
    fmt(r.errors),
    fmt(r.cpuUsPerUnit),
    fmt(r.serverCores, 2),
    fmt(r.loadCores, 2),
    fmt(r.diskKbPerUnit, 1),
    fmt(r.peakRssMb),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l[i] as string).length)),
  );
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join(
    '\n',
  );
}

interface Ratio {
  name: string;
  value: number;
  op: '>=' | '<=';
  goal: number;
  target: string;
  pass: boolean | undefined;
  /** Printed for context beside the targets, judged against none. */
  info?: true;
}

/** A ratio's verdict as printed: PASS, MISS, n/a (not measured), or info (no target). */
const verdictOf = (r: Ratio) =>
  r.info ? 'info' : r.pass === undefined ? 'n/a ' : r.pass ? 'PASS' : 'MISS';

/** Whether `value` meets the goal (undefined when it could not be measured). */
const judge = (value: number, op: Ratio['op'], goal: number) =>
  Number.isFinite(value) ? (op === '>=' ? value >= goal : value <= goal) : undefined;

type Measured = Pick<Row, 'id' | 'perSecond' | 'cpuUsPerUnit'> & { failed?: string };

function ratios(rows: Measured[]): Ratio[] {
  const get = (id: string) => rows.find((r) => r.id === id && !r.failed);
  const ratio = (
    name: string,
    a: number | undefined,
    b: number | undefined,
    op: '>=' | '<=',
    goal: number,
  ): Ratio => {
    const value = a !== undefined && b !== undefined ? a / b : NaN;
    return { name, value, op, goal, target: `${op} ${goal}×`, pass: judge(value, op, goal) };
  };
  const faster = (what: string, row: string, peer: string, goal: number) =>
    ratio(what, get(row)?.perSecond, get(peer)?.perSecond, '>=', goal);
  const leaner = (what: string, row: string, peer: string, goal: number) =>
    ratio(what, get(row)?.cpuUsPerUnit, get(peer)?.cpuUsPerUnit, '<=', goal);
  const context = (what: string, row: string, peer: string): Ratio => ({
    ...ratio(what, get(row)?.cpuUsPerUnit, get(peer)?.cpuUsPerUnit, '<=', NaN),
    target: 'none',
    pass: undefined,
    info: true,
  });
  const wait = 'arcd echo (blocking create) tasks/s';
  const sse = 'arcd echo (create + SSE) tasks/s';
  const only = 'arcd task.create (create path only)';
  // The same creates with each task's echo turn run meanwhile: its CPU is a whole task's.
  const withTurns = 'arcd task.create (echo turns running too)';
  return [
    faster(`${wait} ÷ a2a-js sqlite tasks/s`, 'arcd-echo-wait', 'a2a-sqlite', 5),
    faster(`${wait} ÷ a2a-js in-memory tasks/s`, 'arcd-echo-wait', 'a2a-memory', 1.5),
    faster(`${sse} ÷ a2a-js sqlite tasks/s`, 'arcd-echo-e2e', 'a2a-sqlite', 5),
    faster(`${sse} ÷ a2a-js in-memory tasks/s`, 'arcd-echo-e2e', 'a2a-memory', 1.5),
    faster(`${only} req/s ÷ floor-sqlite req/s`, 'arcd-create-only', 'floor-sqlite', 0.8),
    leaner(`${only} CPU/req ÷ floor-node CPU/req`, 'arcd-create-only', 'floor-node', 3),
    // What the durable-write floor itself costs against floor-node, beside the target above.
    context('floor-sqlite CPU/req ÷ floor-node CPU/req', 'floor-sqlite', 'floor-node'),
    // What a bearer JWT and the rate limit add to the create path, as deployed.
    context(
      `${only} with JWT + rate limit CPU/req ÷ without`,
      'arcd-create-deployed',
      'arcd-create-only',
    ),
    faster(`${withTurns} req/s ÷ floor-sqlite req/s`, 'arcd-create', 'floor-sqlite', 0.8),
    leaner(`${withTurns} CPU/req ÷ floor-node CPU/req`, 'arcd-create', 'floor-node', 3),
  ];
}

async function main() {
  const startedAt = new Date().toISOString();
  const machine = {
    cpus: os.cpus().length,
    model: os.cpus()[0]?.model ?? '?',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    /** Share of all cores busy in the second before the run: other work skews every figure. */
    busyBeforePct: await machineBusyPct(),
  };
  console.log(
    `arcd bench: ${DURATION_S} s measured + ${WARMUP_S} s warm-up per target, ${CONNECTIONS} connections, ` +
      `${machine.cpus} × ${machine.model}, node ${machine.node}; machine ${machine.busyBeforePct}% busy before start`,
  );
  if (machine.busyBeforePct > 10) {
    console.log('  (something else is using the CPU: every figure will be low and noisy)');
  }
  const rows: Row[] = [];
  for (const target of TARGETS) {
    if (ONLY && !ONLY.includes(target.id)) continue;
    process.stdout.write(`  ${target.id} … `);
    let row: Row;
    try {
      row = await runTarget(target);
    } catch (error) {
      row = failedRow(target, error);
    }
    rows.push(row);
    console.log(
      row.failed
        ? `FAILED: ${row.failed}`
        : `${fmt(row.perSecond)} ${row.unit}/s, ${fmt(row.errors)} errors`,
    );
    for (const sample of row.errorSamples) console.log(`    error: ${sample}`);
  }
  if (!ONLY || ONLY.includes('arcd-webhooks')) {
    process.stdout.write('  arcd-webhooks … ');
    let row: Row;
    try {
      row = await webhookRow();
    } catch (error) {
      row = failedRow({ id: 'arcd-webhooks', what: 'arcd webhooks', unit: 'event' }, error);
    }
    rows.push(row);
    console.log(row.failed ? `FAILED: ${row.failed}` : `${fmt(row.perSecond)} events/s`);
  }

  if (ROUNDS > 0) console.log(`interleaved rounds (${ROUNDS} × ${ROUND_S} s a target):`);
  const interleaved = ROUNDS > 0 ? await interleavedRounds() : undefined;
  const soakResults = SOAK_S > 0 ? await soaks(SOAK_S) : undefined;

  const results = ratios(rows);
  console.log('');
  console.log(table(rows));
  console.log('');
  console.log('ratios (same run):');
  for (const r of results) {
    console.log(`  ${verdictOf(r)}  ${r.name} = ${fmt(r.value, 2)}× (target ${r.target})`);
  }
  if (interleaved) {
    console.log('');
    console.log(
      `ratios (interleaved: ${interleaved.rounds} rounds of ${interleaved.seconds} s, the order moving each round; median of the rounds' ratios):`,
    );
    for (const r of interleaved.ratios) {
      const rounds = r.perRound.map((v) => fmt(v, 2)).join(', ');
      console.log(
        `  ${verdictOf(r)}  ${r.name} = ${fmt(r.value, 2)}× (target ${r.target}; rounds ${rounds})`,
      );
    }
  }
  for (const [id, soak] of Object.entries(soakResults ?? {})) {
    console.log('');
    console.log(
      `memory soak ${id}: ${soak.seconds} s of blocking echo tasks (${fmt(soak.tasks)}), RSS ${fmt(soak.rssAtQuarterMb, 1)} MB at 1/4 → ` +
        `${fmt(soak.rssAtEndMb, 1)} MB at the end (peak ${fmt(soak.peakRssMb, 1)} MB), ` +
        `second half ${fmt(soak.secondHalfMb.min, 1)}–${fmt(soak.secondHalfMb.max, 1)} MB, ` +
        `slope ${fmt(soak.slopeMbPerMin, 2)} MB/min`,
    );
  }
  const report = {
    startedAt,
    machine,
    settings: { durationS: DURATION_S, warmupS: WARMUP_S, connections: CONNECTIONS },
    rows,
    ratios: results,
    ...(interleaved ? { interleaved } : {}),
    ...(soakResults ? { soaks: soakResults } : {}),
  };
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  fs.writeFileSync(path.join(dir, `bench-${startedAt.replace(/[:.]/g, '-')}.json`), json);
  fs.writeFileSync(path.join(dir, 'bench-latest.json'), json);
  console.log(`\nwritten: bench/results/bench-latest.json`);
  if (rows.some((r) => r.failed)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
