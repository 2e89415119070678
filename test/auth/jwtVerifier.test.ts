/**
 * Verified JWTs are remembered: a token once verified is taken again without a verification
 * until it expires, and for at most REUSE_MS; an expired token is refused even when
 * remembered; a token that failed is verified afresh each time. jose runs for real; the test
 * counts its calls and moves the verifier's clock.
 */
import { SignJWT, jwtVerify } from 'jose';
import { CLOCK_TOLERANCE_S, REUSE_MS, createJwtVerifier } from '../../src/auth/jwtVerifier';
import { AuthenticationError, TokenExpiredError } from '../../src/rpc/errors';

const SECRET = 'a shared secret that is long enough for HS256';
const T0 = Date.parse('2026-12-06T10:00:00.000Z');

function setup() {
  let now = T0;
  let verifications = 0;
  const verify = createJwtVerifier(
    { secret: SECRET, identityClaim: 'sub' },
    {
      verify: ((...args: Parameters<typeof jwtVerify>) => {
        verifications += 1;
        return jwtVerify(...args);
      }) as typeof jwtVerify,
      now: () => now,
    },
  );
  if (!verify) throw new Error('no verifier');
  return {
    verify,
    at: (ms: number) => (now = T0 + ms),
    verifications: () => verifications,
  };
}

/** A token for `sub` expiring `expiresInS` seconds after T0, signed with `secret`. */
function token(sub: string, expiresInS: number, secret = SECRET) {
  return new SignJWT({ sub, scope: 'arc.task.controller arc.agent.caller' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(T0 / 1000)
    .setExpirationTime(T0 / 1000 + expiresInS)
    .sign(new TextEncoder().encode(secret));
}

test('a verified token is taken again without a verification, for at most REUSE_MS', async () => {
  const { verify, at, verifications } = setup();
  const alice = await token('alice', 3600);
  expect((await verify(alice)).identity).toBe('alice');
  at(REUSE_MS - 1);
  expect((await verify(alice)).scopes).toEqual(['arc.task.controller', 'arc.agent.caller']);
  expect(verifications()).toBe(1);
  at(REUSE_MS);
  expect((await verify(alice)).identity).toBe('alice');
  expect(verifications()).toBe(2);
});

test('a remembered token is verified again at its expiry, and refused past the clock tolerance', async () => {
  const { verify, at, verifications } = setup();
  const bob = await token('bob', 10);
  await verify(bob);
  at(9_999);
  expect((await verify(bob)).identity).toBe('bob');
  expect(verifications()).toBe(1);
  at(10_000);
  expect((await verify(bob)).identity).toBe('bob'); // within the tolerance, checked afresh
  expect(verifications()).toBe(2);
  at(10_000 + CLOCK_TOLERANCE_S * 1000);
  await expect(verify(bob)).rejects.toBeInstanceOf(TokenExpiredError);
});

test('a token from an identity provider whose clock runs a little ahead is taken (nbf, iat)', async () => {
  const { verify, at } = setup();
  const ahead = (s: number) =>
    new SignJWT({ sub: 'erin', scope: 'arc.agent.caller' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(T0 / 1000 + s)
      .setNotBefore(T0 / 1000 + s)
      .setExpirationTime(T0 / 1000 + s + 300)
      .sign(new TextEncoder().encode(SECRET));
  at(0);
  expect((await verify(await ahead(5))).identity).toBe('erin');
  await expect(verify(await ahead(CLOCK_TOLERANCE_S + 5))).rejects.toBeInstanceOf(
    AuthenticationError,
  );
});

test('a token that failed is verified afresh each time', async () => {
  const { verify, verifications } = setup();
  const forged = await token('mallory', 3600, 'another secret, long enough for HS256 too');
  await expect(verify(forged)).rejects.toBeInstanceOf(AuthenticationError);
  await expect(verify(forged)).rejects.toBeInstanceOf(AuthenticationError);
  expect(verifications()).toBe(2);
});

test('with requireExp, a token without an expiry is refused by name; without it, accepted', async () => {
  const forever = await new SignJWT({ sub: 'carol' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(T0 / 1000)
    .sign(new TextEncoder().encode(SECRET));
  const strict = createJwtVerifier({ secret: SECRET, identityClaim: 'sub', requireExp: true });
  const lenient = createJwtVerifier({ secret: SECRET, identityClaim: 'sub' });
  await expect(strict!(forever)).rejects.toThrow(/no expiry \(exp claim\)/);
  expect((await lenient!(forever)).identity).toBe('carol');
  // One that has an expiry is taken by both.
  const dated = await new SignJWT({ sub: 'carol' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(SECRET));
  expect((await strict!(dated)).identity).toBe('carol');
});
