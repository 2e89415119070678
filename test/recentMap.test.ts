/**
 * RecentMap: of the `limit` keys set last, those not deleted since are there with their last
 * values; a deleted key never is; it never holds `2 × limit` keys or more.
 */
import fc from 'fast-check';
import { RecentMap } from '../src/recentMap';

test('keeps the newest keys, forgets the older generation whole', () => {
  const map = new RecentMap<string, number>(2);
  map.set('a', 1).set('b', 2); // a turnover: {a, b} become the older generation
  map.set('c', 3);
  expect([map.get('a'), map.get('b'), map.get('c'), map.size]).toEqual([1, 2, 3, 3]);
  map.set('d', 4); // the next: {c, d} kept, {a, b} gone
  expect([map.has('a'), map.has('b'), map.get('c'), map.get('d'), map.size]).toEqual([
    false,
    false,
    3,
    4,
    2,
  ]);
});

test('a key set again counts as new; a deleted one is gone, and says whether it was there', () => {
  const map = new RecentMap<string, number>(2);
  map.set('a', 1).set('b', 2).set('a', 10); // a moves into the newer generation
  map.set('c', 3); // turnover: {a, c} kept, b gone
  expect([map.get('a'), map.has('b'), map.get('c')]).toEqual([10, false, 3]);
  expect([map.delete('a'), map.delete('a'), map.delete('never')]).toEqual([true, false, false]);
  expect([map.has('a'), map.size]).toEqual([false, 1]);
});

test('a limit must be a positive integer', () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) {
    expect(() => new RecentMap(limit)).toThrow(RangeError);
  }
});

test('against a model: of the `limit` keys set last, those not deleted are there with their values; never 2 × limit keys', () => {
  const op = fc.oneof(
    fc.record({ set: fc.integer({ min: 0, max: 9 }), value: fc.integer() }),
    fc.record({ del: fc.integer({ min: 0, max: 9 }) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(op, { maxLength: 100, size: 'large' }),
      (limit, ops) => {
        const map = new RecentMap<number, number>(limit);
        // What an unbounded map would hold, and every key ever set, the most recent last.
        const model = new Map<number, number>();
        const recency = new Set<number>();
        for (const step of ops) {
          if ('set' in step) {
            model.set(step.set, step.value);
            recency.delete(step.set);
            recency.add(step.set);
            map.set(step.set, step.value);
          } else {
            const had = map.has(step.del);
            expect(map.delete(step.del)).toBe(had);
            expect(map.has(step.del)).toBe(false);
            model.delete(step.del);
          }
          expect(map.size).toBeLessThan(2 * limit);
          const newest = [...recency].slice(-limit).filter((key) => model.has(key));
          for (const key of newest) expect(map.get(key)).toBe(model.get(key));
          for (let key = 0; key <= 9; key += 1) {
            if (!model.has(key)) expect(map.has(key)).toBe(false);
            if (map.has(key)) expect(map.get(key)).toBe(model.get(key));
          }
        }
      },
    ),
  );
});
