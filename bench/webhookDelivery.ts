/**
 * Webhook delivery (loopback, bounded): the compiled arcd in its own process, one receiver in
 * another. Part of `npm run bench` (one row of its table); also runs alone with
 * `npx tsx bench/webhookDelivery.ts` (after `npm run build`), writing bench/results/webhooks.json.
 *
 *   backlog: N completed echo tasks, each then subscribed with replay (every stored event) →
 *            events/s from arcd's outbox to the receiver, and arcd's CPU µs per event
 *   live:    M slow tasks (steps=K, one progress message every 200 ms) subscribed to
 *            NEW_MESSAGE → latency from the event's timestamp to its arrival, p50/p99
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arcCall, textMessage } from './lib/http';
import { percentile } from './lib/load';
import { cpuMicros, freePort, memMb, startArcd } from './lib/proc';

export interface WebhookResult {
  backlog: {
    tasks: number;
    events: number;
    ms: number;
    eventsPerSecond: number;
    cpuUsPerEvent: number;
  };
  live: { events: number; expected: number; latencyMs: { p50: number; p99: number; max: number } };
  perHostConcurrency: number;
  peakRssMb: number;
}

interface Arrival {
  key: string;
  eventAt: number;
  at: number;
}

/** The receiver runs in its own process, so its work does not count against arcd's. */
const RECEIVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const body = JSON.parse(Buffer.concat(chunks).toString());
    process.stdout.write(body.taskId + '#' + body.sequence + ' ' + Date.parse(body.timestamp) + ' ' + at + '\\n');
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

async function startReceiver(arrivals: Arrival[]) {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffer = '';
  const port = await new Promise<number>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [key, eventAt, at] = line.split(' ');
        if (key === 'port') resolve(Number(eventAt));
        else arrivals.push({ key: key as string, eventAt: Number(eventAt), at: Number(at) });
      }
    });
  });
  return { close: () => child.kill(), url: `http://127.0.0.1:${port}/hook` };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function measureWebhooks(
  options: { backlogTasks?: number; liveTasks?: number; liveSteps?: number; perHost?: number } = {},
): Promise<WebhookResult> {
  const backlogTasks = options.backlogTasks ?? 300;
  const liveTasks = options.liveTasks ?? 40;
  const liveSteps = options.liveSteps ?? 10;
  const perHost = options.perHost ?? 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-bench-hooks-'));
  const arrivals: Arrival[] = [];
  const receiver = await startReceiver(arrivals);
  const arcd = await startArcd({
    port: await freePort(),
    db: path.join(dir, 'bench.db'),
    extra: [
      '--webhook-allowlist',
      '127.0.0.1',
      '--webhook-poll-ms',
      '100',
      '--concurrency',
      '64',
      '--webhook-per-host-concurrency',
      String(perHost),
    ],
  });
  try {
    const call = (method: string, agent: string, params: object) =>
      arcCall<{ task: { taskId: string; status: string } }>(arcd.url, method, agent, params);

    // Backlog: completed tasks first, then subscribe with replay and time the drain.
    const backlogIds: string[] = [];
    for (let i = 0; i < backlogTasks; i += 1) {
      backlogIds.push(
        (await call('task.create', 'echo', { initialMessage: textMessage(`b${i}`) })).task.taskId,
      );
    }
    let pending = [...backlogIds];
    await until('backlog tasks complete', async () => {
      const still: string[] = [];
      for (const taskId of pending) {
        const info = await call('task.info', 'echo', {
          taskId,
          includeMessages: false,
          includeArtifacts: false,
        });
        if (info.task.status !== 'COMPLETED') still.push(taskId);
      }
      pending = still;
      return pending.length === 0;
    });
    // Every stored event of a task is replayed; echo tasks all have the same number of them.
    const log = await arcCall<{ events: unknown[] }>(arcd.url, 'task.events', 'echo', {
      taskId: backlogIds[0],
      limit: 1000,
    });
    const backlogEvents = backlogTasks * log.events.length;
    const cpu0 = cpuMicros(arcd.pid);
    const drainStart = Date.now();
    for (const taskId of backlogIds) {
      await call('task.subscribe', 'echo', {
        taskId,
        callbackUrl: receiver.url,
        events: ['STATUS_CHANGE'],
        replay: true,
      });
    }
    await until('backlog drained', () => arrivals.length >= backlogEvents);
    const drainMs = Date.now() - drainStart;
    const cpuUsPerEvent = (cpuMicros(arcd.pid) - cpu0) / backlogEvents;
    arrivals.length = 0;

    // Live: slow tasks, subscribed to their progress messages while they run.
    for (let i = 0; i < liveTasks; i += 1) {
      const taskId = (
        await call('task.create', 'slow', { initialMessage: textMessage(`steps=${liveSteps}`) })
      ).task.taskId;
      await call('task.subscribe', 'slow', {
        taskId,
        callbackUrl: receiver.url,
        events: ['NEW_MESSAGE'],
      });
    }
    const liveExpected = liveTasks * (liveSteps + 1); // progress replies plus the final reply
    await until('live events', () => arrivals.length >= liveExpected);
    const latencies = arrivals.map((a) => a.at - a.eventAt).sort((a, b) => a - b);
    return {
      backlog: {
        tasks: backlogTasks,
        events: backlogEvents,
        ms: drainMs,
        eventsPerSecond: (backlogEvents / drainMs) * 1000,
        cpuUsPerEvent,
      },
      live: {
        events: arrivals.length,
        expected: liveExpected,
        latencyMs: {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: latencies.at(-1) ?? NaN,
        },
      },
      perHostConcurrency: perHost,
      peakRssMb: memMb(arcd.pid, 'VmHWM'),
    };
  } finally {
    await arcd.stop();
    receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const result = await measureWebhooks({
    backlogTasks: Number(process.env.BENCH_BACKLOG_TASKS ?? 300),
    liveTasks: Number(process.env.BENCH_LIVE_TASKS ?? 40),
    liveSteps: Number(process.env.BENCH_LIVE_STEPS ?? 10),
    perHost: Number(process.env.BENCH_PER_HOST ?? 4),
  });
  console.log(
    `webhook delivery (loopback, one receiver in its own process, ${result.perHostConcurrency} in flight per host)`,
  );
  console.log(
    `  backlog drain : ${result.backlog.events} events in ${result.backlog.ms} ms = ${Math.round(result.backlog.eventsPerSecond)} events/s, ${Math.round(result.backlog.cpuUsPerEvent)} µs arcd CPU per event`,
  );
  const { p50, p99, max } = result.live.latencyMs;
  console.log(
    `  live latency  : ${result.live.events} events, p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`,
  );
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, 'results', 'webhooks.json'),
    `${JSON.stringify({ ...result, machine: { cpus: os.cpus().length, node: process.version } }, null, 2)}\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
