/**
 * JWT bearer tokens, verified with jose against a JWKS URL, a shared secret (HS256) or a
 * public key file. Scopes come from `scope` (space-separated), else `scp`, else
 * `permissions`; the identity from `sub` or a configured claim. A verification costs ~80 µs
 * of CPU (about half a task.create), so a token once verified is taken as verified again,
 * until it expires and for at most REUSE_MS; a token that failed is checked afresh each time.
 */
import { createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, errors as joseErrors } from 'jose';
import { AuthenticationError, TokenExpiredError } from '../rpc/errors';
import { RecentMap } from '../recentMap';
import { type Principal, toPrincipal } from './principal';

/** How long a verified token counts without a new verification (a key taken off a JWKS
 * stops being honoured within this and jose's 10 minutes of keeping a JWKS fetched). */
export const REUSE_MS = 60_000;
/** How far a token's `exp`, `nbf` and `iat` may be off this clock: an identity provider's
 * clock a few seconds ahead must not make its fresh tokens "not yet valid". */
export const CLOCK_TOLERANCE_S = 30;
/** Verified tokens remembered, at least (RecentMap). */
const REMEMBERED = 4096;

export interface JwtOptions {
  jwksUrl?: string;
  secret?: string;
  publicKeyFile?: string;
  issuer?: string;
  audience?: string;
  identityClaim: string;
  /** Refuse a token without `exp` (else it is good for as long as its key is). */
  requireExp?: boolean;
}

type Key = Parameters<typeof jwtVerify>[1];

function scopesOf(payload: JWTPayload): string[] {
  const claim = payload.scope ?? payload.scp ?? payload.permissions;
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
}

/**
 * The key tokens are checked against. A public key file is read at once, whatever its kind
 * (RSA, EC, Ed25519, in PEM): jose then takes the algorithms that key's kind allows (RS*, PS*;
 * ES256 for a P-256 key; EdDSA), so one file need not name its algorithm, and a file that is
 * not a public key stops the start with its reason.
 */
function loadKey(options: JwtOptions): Key {
  // jose keeps a fetched JWKS 10 minutes (then fetches it again, and fails calls while it
  // cannot): an identity provider's short outage goes unnoticed.
  if (options.jwksUrl) return createRemoteJWKSet(new URL(options.jwksUrl));
  if (options.secret) return new TextEncoder().encode(options.secret);
  const file = options.publicKeyFile as string;
  try {
    return createPublicKey(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(
      `--jwt-public-key-file ${file}: not a PEM public key (${(error as Error).message})`,
    );
  }
}

/** What the verifier calls: jose's jwtVerify and the time (tests count the one, move the other). */
export interface JwtVerifierDeps {
  verify: typeof jwtVerify;
  now: () => number;
}

/** A verifier when any JWT key source is configured; undefined otherwise. */
export function createJwtVerifier(
  options: JwtOptions,
  deps: JwtVerifierDeps = { verify: jwtVerify, now: Date.now },
): ((token: string) => Promise<Principal>) | undefined {
  if (!options.jwksUrl && !options.secret && !options.publicKeyFile) return undefined;
  const key = loadKey(options);
  const verified = new RecentMap<string, { principal: Principal; until: number }>(REMEMBERED);
  return async (token: string) => {
    const now = deps.now();
    const known = verified.get(token);
    if (known && now < known.until) return known.principal;
    try {
      const { payload } = await deps.verify(token, key as never, {
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_S,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
        ...(options.requireExp ? { requiredClaims: ['exp'] } : {}),
      });
      const identity = payload[options.identityClaim];
      if (typeof identity !== 'string' || identity === '') {
        throw new AuthenticationError(`the token has no ${options.identityClaim} claim`);
      }
      const principal = toPrincipal(identity, scopesOf(payload));
      const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : Infinity;
      verified.set(token, { principal, until: Math.min(now + REUSE_MS, expires) });
      return principal;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenExpiredError();
      if (error instanceof AuthenticationError) throw error;
      const missing =
        error instanceof joseErrors.JWTClaimValidationFailed && error.reason === 'missing';
      if (missing && error.claim === 'exp') {
        throw new AuthenticationError(
          'the token has no expiry (exp claim): this server requires one',
        );
      }
      throw new AuthenticationError('invalid token');
    }
  };
}
