/**
 * JWT bearer tokens, verified with jose against a JWKS URL, a shared secret (HS256) or a
 * public key file. Scopes come from `scope` (space-separated), else `scp`, else
 * `permissions`; the identity from `sub` or a configured claim.
 */
import fs from 'node:fs';
import {
  createRemoteJWKSet,
  importSPKI,
  jwtVerify,
  type JWTPayload,
  errors as joseErrors,
} from 'jose';
import { AuthenticationError, TokenExpiredError } from '../rpc/errors';
import { type Principal, toPrincipal } from './principal';

export interface JwtOptions {
  jwksUrl?: string;
  secret?: string;
  publicKeyFile?: string;
  issuer?: string;
  audience?: string;
  identityClaim: string;
}

type Key = Parameters<typeof jwtVerify>[1];

function scopesOf(payload: JWTPayload): string[] {
  const claim = payload.scope ?? payload.scp ?? payload.permissions;
  if (typeof claim === 'string') return claim.split(' ').filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return [];
}

async function loadKey(options: JwtOptions): Promise<Key> {
  if (options.jwksUrl) return createRemoteJWKSet(new URL(options.jwksUrl));
  if (options.secret) return new TextEncoder().encode(options.secret);
  const pem = fs.readFileSync(options.publicKeyFile as string, 'utf8');
  return importSPKI(pem, /BEGIN PUBLIC KEY/.test(pem) && !/EC/.test(pem) ? 'RS256' : 'ES256');
}

/** A verifier when any JWT key source is configured; undefined otherwise. */
export function createJwtVerifier(
  options: JwtOptions,
): ((token: string) => Promise<Principal>) | undefined {
  if (!options.jwksUrl && !options.secret && !options.publicKeyFile) return undefined;
  let key: Promise<Key> | undefined;
  return async (token: string) => {
    key ??= loadKey(options);
    try {
      const { payload } = await jwtVerify(token, (await key) as never, {
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      });
      const identity = payload[options.identityClaim];
      if (typeof identity !== 'string' || identity === '') {
        throw new AuthenticationError(`the token has no ${options.identityClaim} claim`);
      }
      return toPrincipal(identity, scopesOf(payload));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenExpiredError();
      if (error instanceof AuthenticationError) throw error;
      throw new AuthenticationError('invalid token');
    }
  };
}
