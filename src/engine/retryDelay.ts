/**
 * How long a failed turn waits before its next attempt: the task's first delay, doubled per
 * further attempt, capped, and jittered within its upper half. Pure; unit-tested on its own.
 */

export const DEFAULT_RETRY_DELAY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 3_600_000;

export function turnRetryDelayMs(
  failedAttempt: number,
  firstDelayMs: number = DEFAULT_RETRY_DELAY_MS,
  random: () => number = Math.random,
): number {
  const base = Math.min(firstDelayMs * 2 ** Math.max(0, failedAttempt - 1), MAX_RETRY_DELAY_MS);
  return Math.round(base * (0.5 + 0.5 * random()));
}
