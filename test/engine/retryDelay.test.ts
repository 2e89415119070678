import { MAX_RETRY_DELAY_MS, turnRetryDelayMs } from '../../src/engine/retryDelay';

describe('turn retry delay', () => {
  test('doubles from the first delay, jittered within its upper half', () => {
    expect([1, 2, 3, 4].map((n) => turnRetryDelayMs(n, 100, () => 1))).toEqual([
      100, 200, 400, 800,
    ]);
    expect([1, 2, 3, 4].map((n) => turnRetryDelayMs(n, 100, () => 0))).toEqual([50, 100, 200, 400]);
  });

  test('is capped at an hour', () => {
    expect(turnRetryDelayMs(40, 1_000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
  });

  test('defaults to one second first', () => {
    expect(turnRetryDelayMs(1, undefined, () => 1)).toBe(1_000);
  });
});
