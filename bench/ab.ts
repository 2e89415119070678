/**
 * Interleaved A/B of arcd builds: the same workload against each build in turn, round after
 * round (the order moving every round: lib/rounds.ts), each run a fresh server on a fresh database. On a
 * shared VM whose speed drifts within minutes, only alternating runs compare code; one run of
 * each says more about the minute than about the change.
 *
 *   AB_DIRS=/tmp/ab/A,/tmp/ab/B AB_WORK=echo-e2e npx tsx bench/ab.ts
 *   env: AB_DIRS (builds: each a directory holding dist/src/main.js, migrations/, agents/ …,
 *        and optionally a `node-flags` file: node flags for that build's servers, e.g. to
 *        compare `--single-threaded-gc` against none with two copies of one build),
 *        AB_WORK (echo-e2e | echo-wait | create-only | create-only-deployed | task.create), AB_ROUNDS (6),
 *        AB_S (4 measured seconds a run),
 *        AB_WARMUP_S (2), BENCH_CONNECTIONS (32)
 *
 * Prints every run, then per build the means over all rounds (tasks/s, server CPU µs a task)
 * and the median of its per-round ratios against the first build. Servers start as every
 * bench arcd does (lib/proc.ts startArcd, BENCH_ARCD_ARGS included).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMicros, freePort, startArcd } from './lib/proc';
import { median, roundOrder } from './lib/rounds';
import { WORKLOADS, type Workload } from './lib/workloads';

const DIRS = (process.env.AB_DIRS ?? '').split(',').filter(Boolean);
const WORK = process.env.AB_WORK ?? 'echo-e2e';
const ROUNDS = Number(process.env.AB_ROUNDS ?? 6);
const SECONDS = Number(process.env.AB_S ?? 4);
const WARMUP_S = Number(process.env.AB_WARMUP_S ?? 2);

interface Run {
  perSecond: number;
  cpuUsPerTask: number;
  errors: number;
}

/** The build's own node flags (its `node-flags` file, words split on whitespace), if any. */
function nodeFlagsOf(dir: string): string[] {
  const file = path.join(dir, 'node-flags');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean) : [];
}

async function runOnce(dir: string, workload: Workload): Promise<Run> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-ab-'));
  const server = await startArcd({
    port: await freePort(),
    db: path.join(tmp, 'arcd.db'),
    main: path.join(dir, 'dist', 'src', 'main.js'),
    extra: workload.flags,
    nodeFlags: nodeFlagsOf(dir),
  });
  try {
    await workload.load(server, WARMUP_S);
    const cpu0 = cpuMicros(server.pid);
    const result = await workload.load(server, SECONDS);
    const cpu = cpuMicros(server.pid) - cpu0;
    return {
      perSecond: result.perSecond,
      cpuUsPerTask: cpu / Math.max(1, result.count),
      errors: result.errors,
    };
  } finally {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const workload = WORKLOADS[WORK];
  if (DIRS.length < 2 || !workload) {
    throw new Error(
      `set AB_DIRS to two or more builds and AB_WORK to one of ${Object.keys(WORKLOADS).join(', ')}`,
    );
  }
  const runs = DIRS.map(() => [] as Run[]);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const i of roundOrder(
      DIRS.map((_, i) => i),
      round,
    )) {
      const run = await runOnce(DIRS[i] as string, workload);
      (runs[i] as Run[]).push(run);
      console.log(
        `round ${round + 1} ${path.basename(DIRS[i] as string)}: ${run.perSecond.toFixed(0)} tasks/s, ${run.cpuUsPerTask.toFixed(0)} µs CPU a task, ${run.errors} errors`,
      );
    }
  }
  const base = runs[0] as Run[];
  for (const [i, dir] of DIRS.entries()) {
    const mine = runs[i] as Run[];
    const rate = mine.reduce((sum, run) => sum + run.perSecond, 0) / mine.length;
    const cpu = mine.reduce((sum, run) => sum + run.cpuUsPerTask, 0) / mine.length;
    const rateRatio = median(mine.map((run, r) => run.perSecond / (base[r] as Run).perSecond));
    const cpuRatio = median(mine.map((run, r) => run.cpuUsPerTask / (base[r] as Run).cpuUsPerTask));
    console.log(
      `${path.basename(dir)}: mean ${rate.toFixed(0)} tasks/s, ${cpu.toFixed(0)} µs CPU a task; median pair ratio ${rateRatio.toFixed(3)}× tasks/s, ${cpuRatio.toFixed(3)}× CPU`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
