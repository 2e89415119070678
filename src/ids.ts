/**
 * Ids: a readable prefix (`task-`, `sub-`, `msg-`, …) and a time-ordered UUIDv7, so ids sort
 * by creation and index well. Ids are not secrets (tokens and webhook secrets are made
 * elsewhere, from their own random bytes).
 *
 * uuid's own v7 draws 16 bytes from `crypto.getRandomValues` for every id, which was ~10% of
 * an echo task's CPU (a dozen ids each); here the random bytes come from a pool refilled
 * 4 KiB at a time, and the millisecond + sequence state is kept the way uuid keeps it, so ids
 * made in one millisecond still sort in the order they were made.
 */
import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

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
  return uuidv7({ random, msecs: lastMs, seq });
}

export function newId(prefix: string): string {
  return `${prefix}-${uuidV7()}`;
}
