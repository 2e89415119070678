/** Builds the authenticator the settings ask for, refusing settings that cannot work. */
import type { Config } from '../config';
import { ApiKeyTable, readApiKeys } from './apiKeys';
import { type Authenticator, createAuthenticator } from './authenticator';
import { createJwtVerifier } from './jwtVerifier';

export function createAuthenticatorFromConfig(config: Config): Authenticator {
  if (config.auth !== 'required' && config.auth !== 'off') {
    throw new Error(`ARCD_AUTH/--auth: expected "required" or "off", got "${config.auth}"`);
  }
  const apiKeys = new ApiKeyTable(readApiKeys(config.apiKeysFile));
  const verifyJwt = createJwtVerifier({
    ...(config.jwtJwksUrl ? { jwksUrl: config.jwtJwksUrl } : {}),
    ...(config.jwtSecret ? { secret: config.jwtSecret } : {}),
    ...(config.jwtPublicKeyFile ? { publicKeyFile: config.jwtPublicKeyFile } : {}),
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
    identityClaim: config.jwtIdentityClaim,
  });
  return createAuthenticator({
    required: config.auth === 'required',
    apiKeys,
    ...(verifyJwt ? { verifyJwt } : {}),
  });
}
