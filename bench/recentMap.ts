/**
 * What keeping "the newest N task ids" costs a create, at the sizes arcd keeps: a Set that
 * evicts its oldest key one at a time (`delete(values().next().value)`, what UnwatchedTasks,
 * the recorder's stale marks and RecentTaskLogs did) against src/recentMap.ts, which drops
 * its older generation whole. Each op adds one new task id and evicts as needed, as a create
 * does once the limit is reached. In-process and single-threaded: steady figures.
 *
 *   npm run build && npx tsx bench/recentMap.ts
 */
import { randomUUID } from 'node:crypto';
import { compiled } from './lib/proc';

interface Recent {
  set(key: string, value: true): unknown;
}
const { RecentMap } = compiled<{ RecentMap: new (limit: number) => Recent }>('recentMap.js');

/** The old way: a Set of at most `limit` keys, its oldest evicted on each add past it. */
function oneByOne(limit: number): Recent {
  const keys = new Set<string>();
  return {
    set(key) {
      keys.add(key);
      if (keys.size > limit) keys.delete(keys.values().next().value as string);
    },
  };
}

/** µs per op over `ops` adds of fresh ids, after filling to 3 × limit (past any warm-up). */
function measure(recent: Recent, limit: number, ops: number): number {
  const ids = Array.from({ length: 3 * limit + ops }, () => `task-${randomUUID()}`);
  for (let i = 0; i < 3 * limit; i += 1) recent.set(ids[i] as string, true);
  const start = process.hrtime.bigint();
  for (let i = 3 * limit; i < ids.length; i += 1) recent.set(ids[i] as string, true);
  return Number(process.hrtime.bigint() - start) / ops / 1000;
}

const OPS = 200_000;
console.log('limit      one-by-one µs/op   RecentMap µs/op   ratio');
for (const limit of [256, 4096, 50_000, 100_000]) {
  const old = measure(oneByOne(limit), limit, OPS);
  const recent = measure(new RecentMap(limit), limit, OPS);
  console.log(
    `${String(limit).padEnd(9)}  ${old.toFixed(3).padStart(16)}  ${recent.toFixed(3).padStart(16)}  ${(old / recent).toFixed(1).padStart(6)}×`,
  );
}
