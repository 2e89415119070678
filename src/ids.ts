/**
 * Ids: a readable prefix (`task-`, `sub-`, `msg-`, …) and a time-ordered UUIDv7, so ids sort
 * by creation and index well. Ids are not secrets (tokens and webhook secrets are made
 * elsewhere, from their own random bytes).
 *
 * uuid's own v7 draws 16 bytes from `crypto.getRandomValues` for every id, which was ~10% of
 * an echo task's CPU (a dozen ids each); here the random bytes come from a pool refilled
 * 4 KiB at a time, and the millisecond + sequence state is kept the way uuid keeps it, so ids
 * made in one millisecond still sort in the order they were made. The 16 bytes are laid out
 * as uuid's v7 lays them (its `{ random, msecs, seq }` form; test/ids.test.ts checks they agree)
 * and written straight into the id's text: going through uuid's byte array and its stringify
 * was ~0.5 µs per id.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;
let lastMs = -Infinity;
let seq = 0;

/** Where the next 16 random bytes begin in `pool` (refilled when used up). */
function random16(): number {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  used += 16;
  return used - 16;
}

/**
 * Advances the clock and sequence for the next id, a new millisecond starting a random
 * sequence and the same one counting up (the id's millisecond and sequence are then `lastMs`
 * and `seq`); returns where its random bytes are in `pool`.
 */
function nextV7(now: number): number {
  const at = random16();
  if (now > lastMs) {
    lastMs = now;
    seq = ((pool[at + 6] as number) & 0x7f) << 24;
    seq |= ((pool[at + 7] as number) << 16) | ((pool[at + 8] as number) << 8);
    seq |= pool[at + 9] as number;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs += 1; // 2^32 ids in one millisecond: borrow the next one
  }
  return at;
}

/** The next UUIDv7 (ids made in one millisecond sort in the order they were made). */
export function uuidV7(now = Date.now()): string {
  const at = nextV7(now);
  return formatV7(lastMs, seq, pool, at);
}

/** The two hex digits of every byte, as character codes: byte b's are at 2b and 2b + 1. */
const HEX_DIGITS = Uint8Array.from({ length: 512 }, (_, i) =>
  (i >> 1)
    .toString(16)
    .padStart(2, '0')
    .charCodeAt(i & 1),
);
/**
 * An id's characters are written here and read out as one string: adding its 16 hex pairs
 * up as strings made ~17 short-lived strings an id, ~10% of what an echo task allocated.
 */
const text = Buffer.alloc(64);
const DASH = 0x2d;

function put(at: number, byte: number): void {
  const digits = (byte & 0xff) << 1;
  text[at] = HEX_DIGITS[digits] as number;
  text[at + 1] = HEX_DIGITS[digits + 1] as number;
}

/** Writes the UUIDv7's 36 characters into `text` from `at` (see formatV7). */
function writeV7(at: number, msecs: number, seq: number, random: Uint8Array, offset: number) {
  const high = Math.floor(msecs / 0x10000); // the first 32 of the 48 bits
  put(at, high >>> 24);
  put(at + 2, high >>> 16);
  put(at + 4, high >>> 8);
  put(at + 6, high);
  text[at + 8] = DASH;
  put(at + 9, msecs >>> 8);
  put(at + 11, msecs);
  text[at + 13] = DASH;
  put(at + 14, 0x70 | ((seq >>> 28) & 0x0f));
  put(at + 16, seq >>> 20);
  text[at + 18] = DASH;
  put(at + 19, 0x80 | ((seq >>> 14) & 0x3f));
  put(at + 21, seq >>> 6);
  text[at + 23] = DASH;
  put(at + 24, ((seq << 2) & 0xff) | ((random[offset + 10] ?? 0) & 0x03));
  for (let i = 11; i < 16; i++) put(at + 2 * i + 4, random[offset + i] ?? 0);
}

/**
 * The UUIDv7 of a millisecond (48 bits), a 32-bit sequence and random bytes 10–15 (of the 16
 * from `offset` in `random`): version 7, then the sequence's top 12 bits, the variant, its
 * next 14, then its last 6 bits beside 2 random bits and 40 random bits.
 */
export function formatV7(msecs: number, seq: number, random: Uint8Array, offset = 0): string {
  writeV7(0, msecs, seq, random, offset);
  return text.toString('latin1', 0, 36);
}

/** `<prefix>-<UUIDv7>`, made as one string (prefixes are short ASCII words). */
export function newId(prefix: string): string {
  if (prefix.length > text.length - 37) return `${prefix}-${uuidV7()}`;
  const at = text.write(prefix, 0, 'latin1');
  text[at] = DASH;
  const random = nextV7(Date.now());
  writeV7(at + 1, lastMs, seq, pool, random);
  return text.toString('latin1', 0, at + 37);
}
