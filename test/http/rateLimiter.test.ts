/**
 * The rate limiter's budgets: one per identity, else one per client address with IPv6 counted
 * by its /56 (the key remembered per address, asked again on every call), trigger URLs apart,
 * and none at all when the limit is off.
 */
import type { AuthOutcome } from '../../src/auth/authenticator';
import { RateLimiter } from '../../src/http/rateLimiter';

const open: AuthOutcome = { mode: 'open' };
let limiter: RateLimiter;
afterEach(() => limiter.close());

/** How many of `calls` calls from `address` were let through. */
async function allowed(address: string, calls: number, trigger = false): Promise<number> {
  let through = 0;
  for (let i = 0; i < calls; i += 1) {
    const verdict = await (trigger ? limiter.checkTrigger(address) : limiter.check(open, address));
    if (!verdict.error) through += 1;
  }
  return through;
}

test('IPv6 addresses share a budget per /56, asked again and again; another /56 has its own', async () => {
  limiter = new RateLimiter(3);
  expect(await allowed('2001:db8:1:2::5', 2)).toBe(2);
  expect(await allowed('2001:db8:1:3::9', 2)).toBe(1); // the same /56: one call left
  expect(await allowed('2001:db8:1:2::5', 1)).toBe(0);
  expect(await allowed('2001:db8:2:1::5', 3)).toBe(3); // another /56
  expect(await allowed('::ffff:127.0.0.1', 4)).toBe(3);
});

test('trigger URLs count apart from /arc for the same address', async () => {
  limiter = new RateLimiter(2);
  expect(await allowed('127.0.0.1', 3)).toBe(2);
  expect(await allowed('127.0.0.1', 3, true)).toBe(2);
});

test('off, it counts nothing and sends no headers', async () => {
  limiter = new RateLimiter(0);
  expect(await allowed('2001:db8:1:2::5', 50)).toBe(50);
  expect(await limiter.check(open, '127.0.0.1')).toEqual({ headers: [] });
});

test("a refusal's Retry-After is the time left in the window, not the whole window", async () => {
  jest.useFakeTimers({ now: new Date('2026-12-06T10:00:00Z') });
  try {
    limiter = new RateLimiter(1);
    expect((await limiter.check(open, '10.0.0.1')).error).toBeUndefined();
    jest.setSystemTime(new Date('2026-12-06T10:00:45Z'));
    const refused = await limiter.check(open, '10.0.0.1');
    expect(refused.error?.details).toMatchObject({ retryAfterSeconds: 15 });
  } finally {
    jest.useRealTimers();
  }
});
