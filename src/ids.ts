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
 * and written straight into the string: going through uuid's byte array and its stringify was
 * ~0.5 µs per id.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;
let lastMs = -Infinity;
let seq = 0;

function random16(): Uint8Array {
  if (used + 16 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = pool.subarray(used, used + 16);
  used += 16;
  return bytes;
}

/** The next UUIDv7: a new millisecond starts a random sequence, the same one counts up. */
export function uuidV7(now = Date.now()): string {
  const random = random16();
  if (now > lastMs) {
    lastMs = now;
    seq = (((random[6] ?? 0) & 0x7f) << 24) | ((random[7] ?? 0) << 16) | ((random[8] ?? 0) << 8);
    seq |= random[9] ?? 0;
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs += 1; // 2^32 ids in one millisecond: borrow the next one
  }
  return formatV7(lastMs, seq, random);
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const hex = (byte: number) => HEX[byte & 0xff] as string;

/**
 * The UUIDv7 of a millisecond (48 bits), a 32-bit sequence and random bytes 10–15: version 7,
 * then the sequence's top 12 bits, the variant, its next 14, then its last 6 bits beside 2
 * random bits and 40 random bits.
 */
export function formatV7(msecs: number, seq: number, random: Uint8Array): string {
  const high = Math.floor(msecs / 0x10000); // the first 32 of the 48 bits
  return (
    hex(high >>> 24) +
    hex(high >>> 16) +
    hex(high >>> 8) +
    hex(high) +
    '-' +
    hex(msecs >>> 8) +
    hex(msecs) +
    '-' +
    hex(0x70 | ((seq >>> 28) & 0x0f)) +
    hex(seq >>> 20) +
    '-' +
    hex(0x80 | ((seq >>> 14) & 0x3f)) +
    hex(seq >>> 6) +
    '-' +
    hex(((seq << 2) & 0xff) | ((random[10] ?? 0) & 0x03)) +
    hex(random[11] ?? 0) +
    hex(random[12] ?? 0) +
    hex(random[13] ?? 0) +
    hex(random[14] ?? 0) +
    hex(random[15] ?? 0)
  );
}

export function newId(prefix: string): string {
  return `${prefix}-${uuidV7()}`;
}
