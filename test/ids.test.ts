/**
 * Ids: prefixed UUIDv7s from pooled random bytes, still unique and in creation order.
 */
import fc from 'fast-check';
import { v7, validate, version } from 'uuid';
import { formatV7, newId, uuidV7 } from '../src/ids';

describe('ids', () => {
  test('a prefixed, valid version-7 UUID', () => {
    const id = newId('task');
    expect(id).toMatch(/^task-/);
    const uuid = id.slice('task-'.length);
    expect(validate(uuid)).toBe(true);
    expect(version(uuid)).toBe(7);
  });

  test('each prefix is written whole, whatever the id before had (and a long one still works)', () => {
    const long = 'x'.repeat(40);
    const ids = ['subscription', 'evt', long, 'a', 'task'].map((prefix) => [prefix, newId(prefix)]);
    for (const [prefix, id] of ids) {
      expect(id).toMatch(
        new RegExp(
          `^${prefix}-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
        ),
      );
    }
    // One clock and sequence for both forms: made one after the other, they sort in order.
    const uuids = [newId('evt').slice(4), uuidV7(), newId('task').slice(5), uuidV7()];
    expect([...uuids].sort()).toEqual(uuids);
  });

  test('ids made in one millisecond sort in the order they were made, across pool refills', () => {
    const ids = Array.from({ length: 1000 }, () => uuidV7(2_000_000_000_000)); // 16 KB: 4 refills
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  test('a later millisecond sorts after, and its timestamp is encoded', () => {
    const a = uuidV7(2_100_000_000_000);
    const b = uuidV7(2_100_000_000_001);
    expect(b > a).toBe(true);
    expect(parseInt(b.replace(/-/g, '').slice(0, 12), 16)).toBe(2_100_000_000_001);
  });

  test('random bits differ between ids (the pool is not reused)', () => {
    const tails = new Set(Array.from({ length: 600 }, () => uuidV7(2_200_000_000_000).slice(-12)));
    expect(tails.size).toBe(600);
  });

  test('the formatter writes the bytes uuid v7 would for the same time, sequence and random bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 40 }),
        (msecs, seq, random, before) => {
          // The random bytes as uuidV7 passes them: 16 at an offset in its pool.
          const pool = Uint8Array.from([...before, ...random, 7, 7]);
          const id = formatV7(msecs, seq | 0, pool, before.length);
          expect(id).toBe(v7({ msecs, seq: seq | 0, random }));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
