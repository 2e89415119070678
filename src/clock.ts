/** Time is injected everywhere (`now()`), so tests can drive deadlines and backoff. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** setTimeout's and setInterval's longest delay (Node takes a longer one as 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

let cachedMs = NaN;
let cachedIso = '';

/**
 * The ISO 8601 text of a millisecond, made once per millisecond: `toISOString` costs ~0.7 µs
 * and a task's writes ask for the same millisecond several times.
 */
export function isoAt(ms: number): string {
  if (ms !== cachedMs) {
    cachedIso = new Date(ms).toISOString();
    cachedMs = ms;
  }
  return cachedIso;
}

export function isoNow(clock: Clock): string {
  return clock === systemClock ? isoAt(Date.now()) : clock().toISOString();
}
