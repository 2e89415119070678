/**
 * Webhook delivery benchmark (loopback only, bounded): events/s from arcd's outbox to a local
 * receiver, and event → receipt latency p50/p99 for events sent live. Prints a table and
 * writes bench/results/webhooks.json. Not part of `npm test`; run with `npm run bench`.
 *
 *   backlog: N completed echo tasks, each subscribed with replay → how fast the outbox drains
 *   live:    M slow tasks (steps=K, one progress message every 200 ms) subscribed to
 *            NEW_MESSAGE → latency from the event's timestamp to its arrival
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createServer } from '../src/server';

const BACKLOG_TASKS = Number(process.env.BENCH_BACKLOG_TASKS ?? 300);
const LIVE_TASKS = Number(process.env.BENCH_LIVE_TASKS ?? 40);
const LIVE_STEPS = Number(process.env.BENCH_LIVE_STEPS ?? 10);

interface Arrival {
  key: string;
  eventAt: number;
  at: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
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

async function call(url: string, method: string, targetAgent: string, params: object) {
  const response = await fetch(`${url}/arc`, {
    method: 'POST',
    body: JSON.stringify({ arc: '1.0', id: 1, method, requestAgent: 'bench', targetAgent, params }),
  });
  const body = (await response.json()) as { result: any; error: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function until(what: string, check: () => boolean, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const message = (text: string) => ({ role: 'user', parts: [{ type: 'TextPart', content: text }] });

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-bench-'));
  const config = loadConfig(
    {},
    {
      port: 0,
      db: path.join(dir, 'bench.db'),
      webhookAllowlist: '127.0.0.1',
      webhookPollMs: 100,
      concurrency: 64,
      webhookPerHostConcurrency: Number(process.env.BENCH_PER_HOST ?? 4),
    },
  );
  const arcd = createServer(config, { logger: pino({ level: 'silent' }) });
  const { url } = await arcd.listen();
  const arrivals: Arrival[] = [];
  const receiver = await startReceiver(arrivals);

  // Backlog: completed tasks first, then subscribe with replay and time the drain.
  const backlogIds: string[] = [];
  for (let i = 0; i < BACKLOG_TASKS; i += 1) {
    backlogIds.push(
      (await call(url, 'task.create', 'echo', { initialMessage: message(`b${i}`) })).task.taskId,
    );
  }
  await until('backlog tasks complete', () => arcd.runner.activeTurns === 0);
  for (const id of backlogIds) {
    const info = await call(url, 'task.info', 'echo', {
      taskId: id,
      includeMessages: false,
      includeArtifacts: false,
    });
    if (info.task.status !== 'COMPLETED') await until(`task ${id}`, () => false, 1);
  }
  const backlogEvents = BACKLOG_TASKS * 7;
  const drainStart = Date.now();
  for (const id of backlogIds) {
    await call(url, 'task.subscribe', 'echo', {
      taskId: id,
      callbackUrl: receiver.url,
      events: ['STATUS_CHANGE'],
      replay: true,
    });
  }
  await until('backlog drained', () => arrivals.length >= backlogEvents);
  const drainMs = Date.now() - drainStart;
  arrivals.length = 0;

  // Live: slow tasks, subscribed to their progress messages while they run.
  const liveIds: string[] = [];
  for (let i = 0; i < LIVE_TASKS; i += 1) {
    const id = (
      await call(url, 'task.create', 'slow', { initialMessage: message(`steps=${LIVE_STEPS}`) })
    ).task.taskId;
    await call(url, 'task.subscribe', 'slow', {
      taskId: id,
      callbackUrl: receiver.url,
      events: ['NEW_MESSAGE'],
    });
    liveIds.push(id);
  }
  const liveExpected = LIVE_TASKS * (LIVE_STEPS + 1); // progress replies plus the final reply
  await until('live events', () => arrivals.length >= liveExpected);
  const latencies = arrivals.map((a) => a.at - a.eventAt).sort((a, b) => a - b);

  const results = {
    backlog: {
      events: backlogEvents,
      ms: drainMs,
      eventsPerSecond: Math.round((backlogEvents / drainMs) * 1000),
    },
    live: {
      events: arrivals.length,
      latencyMs: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1),
      },
    },
    machine: { cpus: os.cpus().length, node: process.version },
  };
  console.log(
    `webhook delivery (loopback, one receiver in its own process, per-subscription ordered, ${config.webhookPerHostConcurrency} in flight per host)`,
  );
  console.log(
    `  backlog drain : ${results.backlog.events} events in ${drainMs} ms = ${results.backlog.eventsPerSecond} events/s`,
  );
  console.log(
    `  live latency  : ${results.live.events} events, p50 ${results.live.latencyMs.p50} ms, p99 ${results.live.latencyMs.p99} ms, max ${results.live.latencyMs.max} ms`,
  );
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, 'results', 'webhooks.json'),
    `${JSON.stringify(results, null, 2)}\n`,
  );

  await arcd.close();
  receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
