/**
 * extended(): the spread's result, made without a spread: a new object, the base untouched,
 * later fields winning, undefined values kept as keys (as a spread keeps them).
 */
import { extended } from '../src/extended';

test('a new object with the fields over the base, the base unchanged', () => {
  const base = { a: 1, b: 'x', c: undefined as number | undefined };
  const out = extended(base, { b: 'y', d: true });
  expect(out).toEqual({ ...base, b: 'y', d: true });
  expect(Object.keys(out)).toEqual(['a', 'b', 'c', 'd']);
  expect(base).toEqual({ a: 1, b: 'x', c: undefined });
  expect(out).not.toBe(base);
});
