/**
 * Preloaded into a server (`node --require dist/bench/sqlTrace.js …`) by bench/profile.ts: counts
 * and times every better-sqlite3 prepare and statement execution (BEGIN and COMMIT included),
 * by SQL text, and writes the totals to $BENCH_SQL_TRACE_OUT as JSON when the process exits.
 * Timing adds a little overhead of its own; use it for counts and relative cost, not for rates.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';

interface Stat {
  calls: number;
  ns: number;
}

const out = process.env.BENCH_SQL_TRACE_OUT;
const statements = new Map<string, Stat>();
const prepares = new Map<string, Stat>();

const key = (sql: string) => sql.replace(/\s+/g, ' ').trim();
function add(map: Map<string, Stat>, sql: string, ns: bigint) {
  const k = key(sql);
  const stat = map.get(k) ?? { calls: 0, ns: 0 };
  stat.calls += 1;
  stat.ns += Number(ns);
  map.set(k, stat);
}

type Method = (this: Database.Statement, ...args: unknown[]) => unknown;
let patched = false;

function patchStatement(statement: Database.Statement) {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(statement) as Record<string, Method>;
  for (const name of ['run', 'get', 'all', 'iterate']) {
    const original = proto[name] as Method;
    proto[name] = function (this: Database.Statement, ...args: unknown[]) {
      const t0 = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        add(statements, this.source, process.hrtime.bigint() - t0);
      }
    };
  }
}

const proto = Database.prototype as unknown as { prepare: (sql: string) => Database.Statement };
const prepare = proto.prepare;
proto.prepare = function (this: Database.Database, sql: string) {
  const t0 = process.hrtime.bigint();
  const statement = prepare.call(this, sql);
  add(prepares, sql, process.hrtime.bigint() - t0);
  patchStatement(statement);
  return statement;
};
// BEGIN/COMMIT are prepared by better-sqlite3 internally; with the prototype patched on the
// first prepare they are timed like every other statement.

if (out) {
  process.on('exit', () => {
    const dump = (map: Map<string, Stat>) =>
      [...map]
        .map(([sql, s]) => ({ sql, calls: s.calls, ms: s.ns / 1e6 }))
        .sort((a, b) => b.ms - a.ms);
    fs.writeFileSync(
      out,
      JSON.stringify({ statements: dump(statements), prepares: dump(prepares) }),
    );
  });
}
