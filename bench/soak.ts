/**
 * Bounded soak (loopback): the compiled arcd in its own process under steady mixed load
 * (task.create, task.info, task.send, task.cancel, task.subscribe to a local receiver) for
 * BENCH_SOAK_SECONDS (default 60). Every interval prints throughput, p50/p99 and the worst
 * latency (a WAL checkpoint or GC stall shows up there), the server's RSS and the WAL size:
 * flat memory is the goal. Writes bench/results/soak.json. Run `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const CLIENTS = Number(process.env.BENCH_SOAK_CLIENTS ?? 16);
const INTERVAL_S = Number(process.env.BENCH_SOAK_INTERVAL ?? 10);

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

function pct(sorted: number[], p: number): number {
  return Number(
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(1),
  );
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-soak-'));
  const db = path.join(dir, 'soak.db');
  const receiver = http.createServer((req, res) =>
    req.resume().on('end', () => res.writeHead(204).end()),
  );
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const child = spawn(
    process.execPath,
    [
      path.join(__dirname, '..', 'dist', 'src', 'main.js'),
      '--auth',
      'off',
      '--port',
      '0',
      '--db',
      db,
    ],
    {
      env: { ...process.env, ARCD_WEBHOOK_ALLOWLIST: '127.0.0.1', ARCD_RATE_LIMIT_PER_MINUTE: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(buffer);
      if (match) resolve(match[1] as string);
    });
  });

  let id = 0;
  const taskIds: string[] = [];
  const call = async (method: string, targetAgent: string, params: object) => {
    const response = await fetch(`${url}/arc`, {
      method: 'POST',
      body: JSON.stringify({
        arc: '1.0',
        id: ++id,
        method,
        requestAgent: 'soak',
        targetAgent,
        params,
      }),
    });
    return (await response.json()) as { result?: { task?: { taskId: string } }; error?: unknown };
  };
  const msg = (text: string) => ({ role: 'user', parts: [{ type: 'text', content: text }] });

  let latencies: number[] = [];
  let errors = 0;
  const stopAt = Date.now() + SECONDS * 1000;
  const client = async () => {
    while (Date.now() < stopAt) {
      const r = Math.random();
      const known = taskIds[Math.floor(Math.random() * taskIds.length)];
      const t0 = performance.now();
      let reply;
      if (r < 0.5 || !known) {
        reply = await call('task.create', 'echo', { initialMessage: msg(`soak ${id}`) });
        if (reply.result?.task) taskIds.push(reply.result.task.taskId);
        if (taskIds.length > 10_000) taskIds.splice(0, 5_000);
      } else if (r < 0.8) reply = await call('task.info', 'echo', { taskId: known });
      else if (r < 0.9)
        reply = await call('task.send', 'echo', { taskId: known, message: msg('more') });
      else if (r < 0.95) reply = await call('task.cancel', 'echo', { taskId: known });
      else
        reply = await call('task.subscribe', 'echo', {
          taskId: known,
          callbackUrl: hook,
          events: ['STATUS_CHANGE'],
          replay: true,
        });
      latencies.push(performance.now() - t0);
      // task.send/cancel on a finished task are expected ARC errors; only transport failures count.
      if (!reply || (!('result' in reply) && !('error' in reply))) errors += 1;
    }
  };

  const rows: Array<Record<string, number>> = [];
  const sampler = setInterval(() => {
    const sorted = latencies.sort((a, b) => a - b);
    const wal = fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0;
    const row = {
      second: rows.length * INTERVAL_S + INTERVAL_S,
      reqPerSecond: Math.round(sorted.length / INTERVAL_S),
      p50Ms: pct(sorted, 50),
      p99Ms: pct(sorted, 99),
      worstMs: Number((sorted.at(-1) ?? NaN).toFixed(1)),
      rssMb: rssMb(child.pid as number),
      walMb: Number((wal / 1024 / 1024).toFixed(1)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    latencies = [];
  }, INTERVAL_S * 1000);

  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearInterval(sampler);
  console.log(`soak: ${SECONDS} s, ${CLIENTS} clients, ${errors} transport errors`);
  console.table(rows);
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(__dirname, 'results', 'soak.json'),
    `${JSON.stringify({ seconds: SECONDS, clients: CLIENTS, errors, rows }, null, 2)}\n`,
  );
  child.kill('SIGTERM');
  receiver.close();
  await new Promise((resolve) => child.on('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
