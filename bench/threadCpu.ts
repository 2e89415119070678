/**
 * CPU by thread of one arcd under one workload: `/proc/<pid>/task/<tid>/stat` read before and
 * after a measured window, printed per thread name (main, the SQLite writer, V8 helpers...)
 * as µs a unit and cores. Which thread a workload's CPU goes to, beside the table's total.
 *
 *   npm run build && npx tsx bench/threadCpu.ts [workload]    (default create-only)
 *   env: BENCH_PROFILE_S (8), BENCH_WARMUP_S (3)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKLOADS, type Workload } from './lib/workloads';
import { freePort, startArcd, statCpu } from './lib/proc';

const SECONDS = Number(process.env.BENCH_PROFILE_S ?? 8);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);

/** CPU µs so far of each thread of a process, by thread id, with its name. */
function threadCpu(pid: number): Map<string, { name: string; micros: number }> {
  const threads = new Map<string, { name: string; micros: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    threads.set(tid, statCpu(`/proc/${pid}/task/${tid}/stat`));
  }
  return threads;
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'create-only';
  const { flags, load } = WORKLOADS[name] as Workload;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-threads-'));
  const server = await startArcd({
    port: await freePort(),
    db: path.join(dir, 'arcd.db'),
    extra: flags,
  });
  try {
    await load(server, WARMUP_S);
    const before = threadCpu(server.pid);
    const result = await load(server, SECONDS);
    const after = threadCpu(server.pid);
    const units = result.count;
    console.log(`${name}: ${Math.round(result.perSecond)}/s over ${SECONDS} s`);
    const byName = new Map<string, number>();
    for (const [tid, { name: thread, micros }] of after) {
      const spent = micros - (before.get(tid)?.micros ?? 0);
      const key = tid === String(server.pid) ? 'main (event loop)' : `${thread} ${tid}`;
      byName.set(key, (byName.get(key) ?? 0) + spent);
    }
    let total = 0;
    for (const [thread, micros] of [...byName].sort((a, b) => b[1] - a[1])) {
      total += micros;
      if (micros === 0) continue;
      const cores = micros / 1e6 / SECONDS;
      console.log(
        `  ${thread.padEnd(20)} ${(micros / units).toFixed(1).padStart(7)} µs a unit  ${cores.toFixed(2)} cores`,
      );
    }
    console.log(`  ${'total'.padEnd(20)} ${(total / units).toFixed(1).padStart(7)} µs a unit`);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
