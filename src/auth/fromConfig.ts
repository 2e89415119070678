/** Builds the authenticator the settings ask for, refusing settings that cannot work. */
import type { Config } from '../config';
import { ApiKeyFile } from './apiKeyFile';
import { type Authenticator, createAuthenticator } from './authenticator';
import { createJwtVerifier } from './jwtVerifier';

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
