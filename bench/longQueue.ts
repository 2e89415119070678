/**
 * The create path as the queue grows long: one arcd per build, each holding its one turn slot
 * (create-only, lib/workloads.ts), so every task it creates stays queued, loaded in windows
 * that alternate between the builds until each holds hundreds of thousands of live tasks.
 * Prints every window's rate and server CPU a create with the tasks created so far, then each
 * build's mean CPU a create below and above 100,000 live tasks: a cost that grows with what
 * the process keeps in memory per task shows as the second figure pulling away from the first.
 *
 *   npm run build && npx tsx bench/longQueue.ts
 *   env: LQ_DIRS (builds, each a directory holding dist/src/main.js …; default this checkout),
 *        LQ_WINDOWS (12 per build), LQ_S (5 s a window), BENCH_CONNECTIONS (32)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMicros, freePort, ROOT, startArcd, type ServerProcess } from './lib/proc';
import { WORKLOADS, type Workload } from './lib/workloads';

const DIRS = (process.env.LQ_DIRS ?? ROOT).split(',').filter(Boolean);
const WINDOWS = Number(process.env.LQ_WINDOWS ?? 12);
const SECONDS = Number(process.env.LQ_S ?? 5);
const LONG = 100_000;

interface Build {
  dir: string;
  server: ServerProcess;
  created: number;
  windows: Array<{ before: number; cpuPerCreate: number }>;
}

async function main(): Promise<void> {
  const { flags, load } = WORKLOADS['create-only'] as Workload;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-long-queue-'));
  const builds: Build[] = [];
  for (const [i, dir] of DIRS.entries()) {
    const server = await startArcd({
      port: await freePort(),
      db: path.join(scratch, `arcd-${i}.db`),
      main: path.join(dir, 'dist', 'src', 'main.js'),
      extra: flags,
    });
    builds.push({ dir, server, created: 0, windows: [] });
  }
  try {
    for (let w = 0; w < WINDOWS; w += 1) {
      // Alternate which build goes first, so neither always meets the VM's same minute.
      for (const build of w % 2 === 0 ? builds : [...builds].reverse()) {
        const cpu0 = cpuMicros(build.server.pid);
        const result = await load(build.server, SECONDS);
        const cpuPerCreate = (cpuMicros(build.server.pid) - cpu0) / result.count;
        build.windows.push({ before: build.created, cpuPerCreate });
        build.created += result.count;
        console.log(
          `window ${w + 1} ${build.dir}: ${Math.round(result.perSecond).toLocaleString('en')}/s, ` +
            `${cpuPerCreate.toFixed(1)} µs CPU a create, ${result.errors} errors, ` +
            `${build.created.toLocaleString('en')} queued`,
        );
      }
    }
  } finally {
    for (const build of builds) await build.server.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const build of builds) {
    const short = build.windows.filter((w) => w.before < LONG).map((w) => w.cpuPerCreate);
    const long = build.windows.filter((w) => w.before >= LONG).map((w) => w.cpuPerCreate);
    console.log(
      `${build.dir}: ${mean(short).toFixed(1)} µs CPU a create below ${LONG.toLocaleString('en')} ` +
        `queued (${short.length} windows), ${long.length ? mean(long).toFixed(1) : '-'} µs ` +
        `from there on (${long.length} windows)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
