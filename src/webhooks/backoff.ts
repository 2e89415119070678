/**
 * When to try a failed delivery again: a pure function of the attempts made, on a schedule
 * like Standard Webhooks' (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), each wait
 * jittered within its upper half so that receivers coming back are not hit by a thundering
 * herd, yet no long wait collapses to nothing.
 */

export const DEFAULT_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/**
 * The wait before the next attempt after `attemptsMade` attempts (≥ 1), or undefined when the
 * budget (`maxAttempts`, by default the schedule's length) is spent.
 */
export function nextRetryDelayMs(
  attemptsMade: number,
  schedule: readonly number[],
  maxAttempts: number = schedule.length,
  random: () => number = Math.random,
): number | undefined {
  if (attemptsMade >= maxAttempts) return undefined;
  const base = schedule[Math.min(attemptsMade, schedule.length - 1)] ?? 0;
  return Math.round(base * (0.5 + 0.5 * random()));
}

/**
 * A Retry-After header (delta seconds or an HTTP date) as milliseconds from `now`, capped;
 * undefined when absent or unreadable.
 */
export function parseRetryAfterMs(
  value: string | undefined,
  now: Date,
  capMs: number,
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // An HTTP-date names its weekday and month; anything else (e.g. "-5") is unreadable.
    if (!/[a-z]{3}/i.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now.getTime();
  }
  return Math.min(Math.max(ms, 0), capMs);
}
