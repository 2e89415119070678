/**
 * Where one workload's allocations come from: the server runs with V8's sampling heap
 * profiler (objects collected by either GC included, so this is what was allocated, not what
 * stayed), started after the warm-up; then bytes a unit by allocating function, self and
 * inclusive. Fewer bytes a unit mean fewer scavenges (GC helper threads and the event loop).
 *
 *   npm run build && npx tsx bench/allocProfile.ts [workload]    (default create-only)
 *   env: BENCH_PROFILE_S (8), BENCH_WARMUP_S (2)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKLOADS, type Workload } from './lib/workloads';
import { freePort, startArcd } from './lib/proc';

const SECONDS = Number(process.env.BENCH_PROFILE_S ?? 8);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);

/** Preloaded into the server: samples from a file's appearance until SIGTERM, then writes. */
const PRELOAD = `
const inspector = require('node:inspector');
const fs = require('node:fs');
const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
const out = process.env.ARCD_ALLOC_OUT;
const timer = setInterval(() => {
  if (!fs.existsSync(out + '.start')) return;
  clearInterval(timer);
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}, 50);
timer.unref();
process.prependListener('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) fs.writeFileSync(out, JSON.stringify(result.profile));
  });
});
`;

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

function where(node: Node): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/** Bytes by function: self, and inclusive (a recursive frame counted once). */
function tally(root: Node) {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const walk = (node: Node, above: ReadonlySet<string>): number => {
    const key = where(node);
    self.set(key, (self.get(key) ?? 0) + node.selfSize);
    const inner = new Set(above).add(key);
    let total = node.selfSize;
    for (const child of node.children) total += walk(child, inner);
    if (!above.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + total);
    return total;
  };
  const total = walk(root, new Set());
  return { self, inclusive, total };
}

function printTop(title: string, bytes: Map<string, number>, units: number, count: number) {
  console.log(title);
  const top = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, count);
  for (const [key, value] of top)
    console.log(`  ${(value / units).toFixed(0).padStart(7)} B  ${key}`);
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'create-only';
  const { flags, load } = WORKLOADS[name] as Workload;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arcd-alloc-'));
  const preload = path.join(dir, 'preload.js');
  const out = path.join(dir, 'alloc.json');
  fs.writeFileSync(preload, PRELOAD);
  const server = await startArcd({
    port: await freePort(),
    db: path.join(dir, 'arcd.db'),
    extra: flags,
    nodeFlags: ['--require', preload],
    env: { ARCD_ALLOC_OUT: out },
  });
  await load(server, WARMUP_S);
  fs.writeFileSync(`${out}.start`, '');
  await new Promise((resolve) => setTimeout(resolve, 200)); // the sampler's poll
  const result = await load(server, SECONDS);
  await server.stop();
  const { self, inclusive, total } = tally(
    (JSON.parse(fs.readFileSync(out, 'utf8')) as { head: Node }).head,
  );
  const units = result.count;
  console.log(
    `${name}: ${units} units in ${SECONDS} s, ${(total / units / 1024).toFixed(1)} KB allocated a unit (sampled)`,
  );
  printTop('by function, self:', self, units, 25);
  printTop('by function, inclusive:', inclusive, units, 25);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
