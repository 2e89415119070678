/**
 * Where arcd's time goes. For each workload (task.create under autocannon; the echo end-to-end
 * closed loop), two runs of the compiled server, each in a fresh database:
 *   1. under `node --cpu-prof`: the top self-time modules and functions of the .cpuprofile,
 *      startup left out (bench/profileSummary.ts);
 *   2. with bench/sqlTrace.ts preloaded: every SQL statement's calls per task and time per call
 *      (BEGIN/COMMIT included), and the server's CPU per task without the profiler.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && npx tsx bench/profile.ts
 *   env: BENCH_PROFILE_S (10), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (32),
 *   BENCH_PROFILE_ONLY (comma-separated workloads: create-only, create-only-deployed, task.create,
 *   echo-e2e, echo-wait)
 *
 * Profiles are kept in bench/results/profiles/ (open them in Chrome DevTools or speedscope).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadResult } from './lib/load';
import { WORKLOADS, type Workload } from './lib/workloads';
import { cpuMicros, freePort, ROOT, startArcd } from './lib/proc';
import { printSummary, summarize, type CpuProfile } from './profileSummary';

const SECONDS = Number(process.env.BENCH_PROFILE_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const OUT = path.join(__dirname, 'results', 'profiles');
const SQL_TRACE = path.join(ROOT, 'dist', 'bench', 'sqlTrace.js');

const ONLY = process.env.BENCH_PROFILE_ONLY?.split(',');

interface SqlStat {
  sql: string;
  calls: number;
  ms: number;
}

/**
 * Runs one workload against a fresh arcd: a warm-up of WARMUP_S, then the measured load.
 * Returns the measured load's result, the server's CPU from the end of the warm-up to its exit,
 * and how far into the process the measured part began (for the profile).
 */
async function runOnce(
  name: string,
  nodeFlags: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
): Promise<{ result: LoadResult; cpuMs: number; measuredFromMs: number }> {
  const { flags, load } = WORKLOADS[name] as Workload;
  const server = await startArcd({
    port: await freePort(),
    db: path.join(dir, 'arcd.db'),
    extra: flags,
    nodeFlags,
    env,
  });
  const ready = performance.now();
  await load(server, WARMUP_S);
  const measuredFromMs = server.readyMs + (performance.now() - ready);
  const cpu0 = cpuMicros(server.pid);
  const result = await load(server, SECONDS);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // let queued turns finish
  const cpuMs = (cpuMicros(server.pid) - cpu0) / 1000;
  await server.stop(); // SIGTERM: arcd exits cleanly; node writes the profile / the trace
  return { result, cpuMs, measuredFromMs };
}

/** stats cover the whole process (warm-up included): per-task figures divide by all its tasks. */
function printSql(stats: SqlStat[], tasks: number, cpuUsPerTask: number) {
  const total = stats.reduce((sum, s) => sum + s.ms, 0);
  const sqlUsPerTask = (total * 1000) / tasks;
  console.log(
    `SQL (better-sqlite3 calls, timed in-process, BEGIN/COMMIT included): ${sqlUsPerTask.toFixed(0)} µs per task, of ${cpuUsPerTask.toFixed(0)} µs server CPU per task (${((100 * sqlUsPerTask) / cpuUsPerTask).toFixed(0)}%)`,
  );
  console.log('  calls/task   µs/call  µs/task  statement');
  for (const s of stats.slice(0, 15)) {
    console.log(
      `  ${(s.calls / tasks).toFixed(2).padStart(10)}  ${((s.ms * 1000) / s.calls).toFixed(0).padStart(8)}  ${((s.ms * 1000) / tasks).toFixed(0).padStart(7)}  ${s.sql.slice(0, 90)}`,
    );
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  for (const name of Object.keys(WORKLOADS).filter((n) => !ONLY || ONLY.includes(n))) {
    // 1. CPU profile.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-profile-'));
    const profDir = path.join(dir, 'prof');
    const profiled = await runOnce(name, ['--cpu-prof', '--cpu-prof-dir', profDir], {}, dir);
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written for ${name}`);
    const kept = path.join(OUT, `arcd-${name}.cpuprofile`);
    fs.copyFileSync(path.join(profDir, file), kept);
    fs.rmSync(dir, { recursive: true, force: true });

    // 2. SQL trace (no profiler).
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-sqltrace-'));
    const traceFile = path.join(dir2, 'trace.json');
    const traced = await runOnce(
      name,
      ['--require', SQL_TRACE],
      { BENCH_SQL_TRACE_OUT: traceFile },
      dir2,
    );
    const trace = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as { statements: SqlStat[] };
    fs.copyFileSync(traceFile, path.join(OUT, `arcd-${name}.sql.json`));
    fs.rmSync(dir2, { recursive: true, force: true });
    const tasks =
      trace.statements.find((s) => s.sql.startsWith('INSERT INTO tasks'))?.calls ??
      traced.result.count;

    console.log(
      `\n=== ${name}: profiled run ${Math.round(profiled.result.perSecond)}/s; traced run ${Math.round(traced.result.perSecond)}/s (${tasks} tasks in all, ${traced.result.errors} errors)`,
    );
    console.log(
      `profile: ${path.relative(process.cwd(), kept)} (first ${Math.round(profiled.measuredFromMs)} ms = startup and warm-up, left out)`,
    );
    const profile = JSON.parse(fs.readFileSync(kept, 'utf8')) as CpuProfile;
    printSummary(summarize(profile, profiled.measuredFromMs), 20);
    printSql(trace.statements, tasks, (traced.cpuMs * 1000) / traced.result.count);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
