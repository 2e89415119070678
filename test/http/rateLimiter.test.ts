/**
 * The rate limiter's budgets: one per identity, else one per client address with IPv6 counted
 * by its /56 (the key remembered per address, asked again on every call), trigger URLs apart,
 * and none at all when the limit is off.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthOutcome } from '../../src/auth/authenticator';
import { RateLimiter } from '../../src/http/rateLimiter';

const open: AuthOutcome = { mode: 'open' };
let limiter: RateLimiter;
afterEach(() => limiter.close());

/** A request from `address`, sent on through proxies as `forwardedFor` says, if given. */
function from(address: string, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  return { socket: { remoteAddress: address }, headers } as unknown as IncomingMessage;
}

/** How many of `calls` calls from `address` were let through. */
async function allowed(
  address: string,
  calls: number,
  trigger = false,
  forwardedFor?: string,
): Promise<number> {
  let through = 0;
  const req = from(address, forwardedFor);
  for (let i = 0; i < calls; i += 1) {
    const verdict = await (trigger ? limiter.checkTrigger(req) : limiter.check(open, req));
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
  expect(await limiter.check(open, from('127.0.0.1'))).toEqual({ headers: [] });
});

test("a refusal's Retry-After is the time left in the window, not the whole window", async () => {
  jest.useFakeTimers({ now: new Date('2026-12-06T10:00:00Z') });
  try {
    limiter = new RateLimiter(1);
    expect((await limiter.check(open, from('10.0.0.1'))).error).toBeUndefined();
    jest.setSystemTime(new Date('2026-12-06T10:00:45Z'));
    const refused = await limiter.check(open, from('10.0.0.1'));
    expect(refused.error?.details).toMatchObject({ retryAfterSeconds: 15 });
  } finally {
    jest.useRealTimers();
  }
});

test('behind a trusted proxy, each client named by X-Forwarded-For has its own budget', async () => {
  limiter = new RateLimiter(2, 'loopback, 10.1.0.0/16');
  expect(await allowed('127.0.0.1', 3, false, '203.0.113.5')).toBe(2);
  expect(await allowed('127.0.0.1', 3, false, '203.0.113.6')).toBe(2);
  // Through two trusted proxies: the first untrusted address is the client.
  expect(await allowed('127.0.0.1', 1, false, '203.0.113.6, 10.1.2.3')).toBe(0);
  // A client's own X-Forwarded-For (past the trusted hops) names nobody.
  expect(await allowed('127.0.0.1', 1, false, '198.51.100.1, 203.0.113.7')).toBe(1);
  expect(await allowed('127.0.0.1', 2, true, '203.0.113.5')).toBe(2); // triggers apart
});

test('without --trust-proxy, X-Forwarded-For is ignored: the connection is the client', async () => {
  limiter = new RateLimiter(2);
  expect(await allowed('127.0.0.1', 1, false, '203.0.113.5')).toBe(1);
  expect(await allowed('127.0.0.1', 2, false, '203.0.113.6')).toBe(1);
  // Sent from an untrusted address, the header is not believed either.
  limiter.close();
  limiter = new RateLimiter(2, 'loopback');
  expect(await allowed('192.0.2.9', 2, false, '203.0.113.5')).toBe(2);
  expect(await allowed('192.0.2.9', 1, false, '203.0.113.6')).toBe(0);
});

test('a trigger firing counts in its own budget, from whatever address', async () => {
  limiter = new RateLimiter(2);
  let through = 0;
  for (let i = 0; i < 3; i += 1) if (!(await limiter.checkFiring('trg-1')).error) through += 1;
  expect(through).toBe(2);
  expect((await limiter.checkFiring('trg-2')).error).toBeUndefined();
});

test('a --trust-proxy that does not parse stops the start', () => {
  expect(() => new RateLimiter(2, 'not-an-address')).toThrow(/--trust-proxy/);
});
