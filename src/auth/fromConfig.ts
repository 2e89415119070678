/** Builds the authenticator the settings ask for, refusing settings that cannot work. */
import type { Config } from '../config';
import { ApiKeyFile } from './apiKeyFile';
import { type Authenticator, createAuthenticator } from './authenticator';
import { createJwtVerifier } from './jwtVerifier';

/** The shortest HS256 secret taken: 256 bits, SHA-256's output. */
const MIN_SECRET_BYTES = 32;

export function createAuthenticatorFromConfig(
  config: Config,
  onKeysUnreadable: (error: Error) => void,
): Authenticator {
  if (config.auth !== 'required' && config.auth !== 'off') {
    throw new Error(`ARCD_AUTH/--auth: expected "required" or "off", got "${config.auth}"`);
  }
  if (config.jwtRequireExp !== 'on' && config.jwtRequireExp !== 'off') {
    throw new Error(
      `ARCD_JWT_REQUIRE_EXP/--jwt-require-exp: expected "on" or "off", got "${config.jwtRequireExp}"`,
    );
  }
  const keySources = [
    config.jwtJwksUrl && '--jwt-jwks-url',
    config.jwtSecret && '--jwt-secret',
    config.jwtPublicKeyFile && '--jwt-public-key-file',
  ].filter(Boolean);
  if (keySources.length > 1) {
    // Only one would be used: tokens signed for the others would all fail, silently.
    throw new Error(`JWT keys: set one of ${keySources.join(', ')}, not ${keySources.length}`);
  }
  if (config.jwtJwksUrl && (!config.jwtIssuer || !config.jwtAudience)) {
    // A JWKS is often an identity provider's for every tenant and app it signs for: without
    // both checks, a token it made for anyone else's app would be taken as one for arcd.
    throw new Error(
      '--jwt-jwks-url needs --jwt-issuer and --jwt-audience (whose tokens, for whom)',
    );
  }
  if (config.jwtSecret && Buffer.byteLength(config.jwtSecret) < MIN_SECRET_BYTES) {
    // RFC 7518 3.2: an HS256 key of at least the hash's size. A shorter one falls to an
    // offline guess from any one token.
    throw new Error(`--jwt-secret: at least ${MIN_SECRET_BYTES} bytes for HS256 (RFC 7518 3.2)`);
  }
  const apiKeys = new ApiKeyFile(config.apiKeysFile, onKeysUnreadable);
  const verifyJwt = createJwtVerifier({
    ...(config.jwtJwksUrl ? { jwksUrl: config.jwtJwksUrl } : {}),
    ...(config.jwtSecret ? { secret: config.jwtSecret } : {}),
    ...(config.jwtPublicKeyFile ? { publicKeyFile: config.jwtPublicKeyFile } : {}),
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
    identityClaim: config.jwtIdentityClaim,
    requireExp: config.jwtRequireExp === 'on',
  });
  return createAuthenticator({
    required: config.auth === 'required',
    apiKeys,
    ...(verifyJwt ? { verifyJwt } : {}),
  });
}
