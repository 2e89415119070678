/**
 * jsonStringBytes counts what JSON.stringify writes, in UTF-8 bytes, for any string: escapes,
 * multi-byte characters and lone surrogates included.
 */
import fc from 'fast-check';
import { jsonStringBytes, jsonTextBytes } from '../../src/store/jsonBytes';

const written = (value: string) => Buffer.byteLength(JSON.stringify(value), 'utf8');

test('a string takes the bytes JSON.stringify writes for it', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
      expect(jsonStringBytes(text)).toBe(written(text));
    }),
    { numRuns: 2_000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 64 }), (text) => {
      expect(jsonStringBytes(text)).toBe(written(text));
    }),
  );
});

test('the cases that differ most from a count of characters', () => {
  for (const text of [
    '',
    'plain',
    'é',
    '€',
    '😀',
    '\u0001',
    '\n',
    '"\\',
    '\ud800',
    'a\udc00b',
    '\ud83d\ude00\ud83d',
  ]) {
    expect(jsonStringBytes(text)).toBe(written(text));
  }
  expect(jsonStringBytes('é'.repeat(1000))).toBe(2002);
  expect(jsonStringBytes('\u0001'.repeat(1000))).toBe(6002);
});

test('stored JSON text counts its UTF-8 bytes', () => {
  expect(jsonTextBytes('{"a":"é"}')).toBe(10);
  expect(jsonTextBytes(null)).toBe(0);
});
