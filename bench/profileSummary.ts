/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per module
 * (an npm package, an arcd source file, a node: internal, or V8's own (garbage collector) /
 * (program) buckets), as a share of the busy (non-idle) time.
 *
 *   npx tsx bench/profileSummary.ts <file.cpuprofile> [top N] [skip first ms]
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Entry {
  name: string;
  ms: number;
  pct: number;
}

export interface Summary {
  totalMs: number;
  busyMs: number;
  functions: Entry[];
  modules: Entry[];
  /** Modules grouped by what they do in arcd (see AREAS). */
  areas: Entry[];
}

/** First match wins; anything else is "other". */
const AREAS: Array<[string, RegExp]> = [
  ['store + SQLite (src/store, better-sqlite3)', /^src\/store\/|^better-sqlite3$/],
  [
    'HTTP (node:http, streams, express, router, body parsing, helmet)',
    /^node:(_http|net|events$|internal\/(streams|stream_base|http))|^(express|router|body-parser|raw-body|helmet|finalhandler|on-finished|type-is|content-type|parseurl|qs|iconv-lite|express-rate-limit)$/,
  ],
  ['engine + tasks + agents', /^src\/(engine|tasks|agents)\/|^agents\//],
  ['rpc + methods + routes', /^src\/(rpc|methods|http)\//],
  ['validation (ajv)', /^ajv/],
  ['ids (uuid, crypto)', /^uuid$|^node:internal\/crypto|^src\/ids\.js$/],
  ['(garbage collector)', /^\(garbage collector\)$/],
];

function areaOf(module: string): string {
  return AREAS.find(([, pattern]) => pattern.test(module))?.[0] ?? 'other';
}

const ROOT = path.resolve(__dirname, '..');

/** Which module a frame belongs to. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/V8 builtins)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
  }
  if (file.startsWith('node:')) return file;
  if (file.startsWith(ROOT)) return path.relative(ROOT, file).replace(/^dist\//, '');
  return file;
}

/** skipMs leaves out the first milliseconds of the profile (startup, warm-up). */
export function summarize(profile: CpuProfile, skipMs = 0): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: charge it to sample i.
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsed += delta;
    if (elapsed >= skipMs * 1000) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, micros] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    total += micros;
    if (frame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const mod = moduleOf(frame.url, frame.functionName);
    const fn = frame.url
      ? `${frame.functionName || '(anonymous)'} ${mod}:${frame.lineNumber + 1}`
      : frame.functionName || '(anonymous)';
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
    modules.set(mod, (modules.get(mod) ?? 0) + micros);
  }
  const busy = total - idle;
  const rank = (map: Map<string, number>): Entry[] =>
    [...map]
      .map(([name, micros]) => ({ name, ms: micros / 1000, pct: (100 * micros) / busy }))
      .sort((a, b) => b.ms - a.ms);
  const areas = new Map<string, number>();
  for (const [mod, micros] of modules)
    areas.set(areaOf(mod), (areas.get(areaOf(mod)) ?? 0) + micros);
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    functions: rank(functions),
    modules: rank(modules),
    areas: rank(areas),
  };
}

export function printSummary(summary: Summary, top = 25): void {
  console.log(
    `busy ${(summary.busyMs / 1000).toFixed(2)} s of ${(summary.totalMs / 1000).toFixed(2)} s profiled; % of busy time, self:`,
  );
  const show = (title: string, entries: Entry[]) => {
    console.log(`  ${title}`);
    for (const e of entries.slice(0, top)) {
      console.log(
        `    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`,
      );
    }
  };
  show('by area', summary.areas);
  show('top modules', summary.modules);
  show('top functions', summary.functions);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: profileSummary <file.cpuprofile> [top N] [skip first ms]');
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  printSummary(summarize(profile, Number(process.argv[4] ?? 0)), Number(process.argv[3] ?? 25));
}
