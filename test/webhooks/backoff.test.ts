import {
  DEFAULT_SCHEDULE_MS,
  nextRetryDelayMs,
  parseRetryAfterMs,
} from '../../src/webhooks/backoff';
import { planAfterAttempt } from '../../src/webhooks/deliveryWorker';
import type { DeliveryRecord } from '../../src/store/records';

describe('retry delays', () => {
  test('follow the schedule, jittered within the upper half of each wait', () => {
    const low = () => 0;
    const high = () => 1;
    expect(DEFAULT_SCHEDULE_MS).toHaveLength(8);
    expect(nextRetryDelayMs(1, DEFAULT_SCHEDULE_MS, 8, high)).toBe(5_000);
    expect(nextRetryDelayMs(1, DEFAULT_SCHEDULE_MS, 8, low)).toBe(2_500);
    expect(nextRetryDelayMs(2, DEFAULT_SCHEDULE_MS, 8, high)).toBe(300_000);
    expect(nextRetryDelayMs(7, DEFAULT_SCHEDULE_MS, 8, high)).toBe(36_000_000);
  });

  test('stop when the attempt budget is spent', () => {
    expect(nextRetryDelayMs(8, DEFAULT_SCHEDULE_MS)).toBeUndefined();
    expect(nextRetryDelayMs(3, [0, 10, 10], 3)).toBeUndefined();
    // A manual retry's budget may exceed the schedule: the last wait repeats.
    expect(nextRetryDelayMs(3, [0, 10, 20], 5, () => 1)).toBe(20);
  });

  test('every delay lies within its window for any random draw', () => {
    for (let attempt = 1; attempt < 8; attempt += 1) {
      for (const r of [0, 0.25, 0.5, 0.999]) {
        const delay = nextRetryDelayMs(attempt, DEFAULT_SCHEDULE_MS, 8, () => r) as number;
        const base = DEFAULT_SCHEDULE_MS[attempt] as number;
        expect(delay).toBeGreaterThanOrEqual(base / 2);
        expect(delay).toBeLessThanOrEqual(base);
      }
    }
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-11-22T10:00:00Z');
  test.each([
    ['120', 120_000],
    [' 5 ', 5_000],
    ['Sun, 22 Nov 2026 10:01:00 GMT', 60_000],
    ['Sun, 22 Nov 2026 09:00:00 GMT', 0],
    ['999999', 3_600_000],
  ])('%p → %p ms', (header, ms) => {
    expect(parseRetryAfterMs(header, now, 3_600_000)).toBe(ms);
  });

  test.each([undefined, '', 'soon', '-5'])('%p is ignored', (header) => {
    expect(parseRetryAfterMs(header, now, 3_600_000)).toBeUndefined();
  });
});

describe('after an attempt', () => {
  const now = new Date('2026-11-22T10:00:00.000Z');
  const delivery: DeliveryRecord = {
    deliveryId: 'dlv-1',
    subscriptionId: 'sub-1',
    taskId: 'task-1',
    eventSeq: 1,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now.toISOString(),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const options = { scheduleMs: [0, 1_000, 2_000], disableAfterMs: 60_000, random: () => 1 };

  test('2xx delivers and clears the failing streak', () => {
    expect(
      planAfterAttempt(
        { statusCode: 204, latencyMs: 3 },
        delivery,
        '2026-11-22T09:00:00Z',
        now,
        options,
      ),
    ).toEqual({
      delivery: { status: 'delivered', deliveredAt: now.toISOString() },
      failingSince: null,
    });
  });

  test('a failure schedules the next attempt and starts the streak', () => {
    expect(
      planAfterAttempt({ statusCode: 500, latencyMs: 3 }, delivery, undefined, now, options),
    ).toEqual({
      delivery: { status: 'pending', nextAttemptAt: '2026-11-22T10:00:01.000Z' },
      failingSince: now.toISOString(),
    });
  });

  test('the last attempt makes it dead', () => {
    const plan = planAfterAttempt(
      { error: 'ECONNREFUSED: x', latencyMs: 1 },
      { ...delivery, attempts: 2 },
      undefined,
      now,
      options,
    );
    expect(plan.delivery).toEqual({ status: 'dead' });
  });

  test('a manual retry has its own budget of one attempt', () => {
    const plan = planAfterAttempt(
      { statusCode: 500, latencyMs: 1 },
      { ...delivery, attempts: 3, maxAttempts: 4 },
      undefined,
      now,
      options,
    );
    expect(plan.delivery).toEqual({ status: 'dead' });
  });

  test('410 cancels and deactivates', () => {
    expect(
      planAfterAttempt({ statusCode: 410, latencyMs: 1 }, delivery, undefined, now, options),
    ).toEqual({
      delivery: { status: 'canceled' },
      deactivate: 'receiver answered 410 Gone',
    });
  });

  test('503 with Retry-After waits as told, not as scheduled', () => {
    const plan = planAfterAttempt(
      { statusCode: 503, latencyMs: 1, retryAfter: '30' },
      delivery,
      undefined,
      now,
      options,
    );
    expect(plan.delivery).toEqual({ status: 'pending', nextAttemptAt: '2026-11-22T10:00:30.000Z' });
  });

  test('a Retry-After shorter than the schedule waits as scheduled (the budget is not spent at once)', () => {
    const plan = planAfterAttempt(
      { statusCode: 429, latencyMs: 1, retryAfter: '0' },
      { ...delivery, attempts: 1 },
      undefined,
      now,
      options,
    );
    expect(plan.delivery).toEqual({ status: 'pending', nextAttemptAt: '2026-11-22T10:00:02.000Z' });
  });

  test('Retry-After on a 500 is not honoured', () => {
    const plan = planAfterAttempt(
      { statusCode: 500, latencyMs: 1, retryAfter: '30' },
      delivery,
      undefined,
      now,
      options,
    );
    expect(plan.delivery.nextAttemptAt).toBe('2026-11-22T10:00:01.000Z');
  });

  test('failing for longer than allowed disables the subscription', () => {
    const plan = planAfterAttempt(
      { statusCode: 500, latencyMs: 1 },
      delivery,
      '2026-11-22T09:58:59.000Z',
      now,
      options,
    );
    expect(plan.failingSince).toBe('2026-11-22T09:58:59.000Z');
    expect(plan.deactivate).toMatch(/failing since 2026-11-22T09:58:59.000Z/);
    const young = planAfterAttempt(
      { statusCode: 500, latencyMs: 1 },
      delivery,
      '2026-11-22T09:59:30.000Z',
      now,
      options,
    );
    expect(young.deactivate).toBeUndefined();
  });
});
