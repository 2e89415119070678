/**
 * End-to-end task throughput (loopback, bounded): closed-loop clients create echo tasks over
 * HTTP and wait for each to reach COMPLETED, at several concurrencies. Completion is observed
 * inside the server process from the store's commit hook, so no polling load distorts it.
 * Prints tasks/s and create → COMPLETED latency p50/p99; writes bench/results/tasks.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config';
import { createServer } from '../src/server';

const LEVELS = (process.env.BENCH_CONCURRENCY ?? '1,8,32').split(',').map(Number);
const TASKS_PER_LEVEL = Number(process.env.BENCH_TASKS ?? 1000);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-bench-'));
  const config = loadConfig(
    {},
    {
      port: 0,
      db: path.join(dir, 'bench.db'),
      concurrency: 64,
      pollMs: Number(process.env.BENCH_POLL_MS ?? 1000),
    },
  );
  const arcd = createServer(config, { logger: pino({ level: 'silent' }) });
  const { url } = await arcd.listen();
  const waiting = new Map<string, () => void>();
  arcd.store.onCommit((taskId) => {
    const done = waiting.get(taskId);
    if (!done) return;
    void arcd.store.getTask(taskId).then((task) => {
      if (task?.status === 'COMPLETED') {
        waiting.delete(taskId);
        done();
      }
    });
  });

  const body = (i: number) =>
    JSON.stringify({
      arc: '1.0',
      id: i,
      method: 'task.create',
      requestAgent: 'bench',
      targetAgent: 'echo',
      params: {
        initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: `task ${i}` }] },
      },
    });

  const rows = [];
  for (const level of LEVELS) {
    const latencies: number[] = [];
    let next = 0;
    const started = Date.now();
    const client = async () => {
      while (next < TASKS_PER_LEVEL) {
        const i = next++;
        const t0 = performance.now();
        const response = await fetch(`${url}/arc`, { method: 'POST', body: body(i) });
        const reply = (await response.json()) as { result: { task: { taskId: string } } };
        const taskId = reply.result.task.taskId;
        const task = await arcd.store.getTask(taskId);
        if (task?.status !== 'COMPLETED')
          await new Promise<void>((resolve) => waiting.set(taskId, resolve));
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: level }, client));
    const ms = Date.now() - started;
    latencies.sort((a, b) => a - b);
    rows.push({
      concurrency: level,
      tasks: TASKS_PER_LEVEL,
      tasksPerSecond: Math.round((TASKS_PER_LEVEL / ms) * 1000),
      p50Ms: Number(percentile(latencies, 50).toFixed(1)),
      p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    });
  }
  console.log('echo end to end: task.create over HTTP → COMPLETED (every event persisted)');
  console.table(rows);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, 'results', 'tasks.json'),
    `${JSON.stringify({ rows, cpus: os.cpus().length, node: process.version }, null, 2)}\n`,
  );
  await arcd.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
