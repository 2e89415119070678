/**
 * Turns an Authorization header into a Principal, or the ARC error that says why not. With
 * auth off every caller is let in as the requestAgent it names (the quick start's open mode).
 */
import { ArcError, AuthenticationError } from '../rpc/errors';
import type { Principal } from './principal';

export type AuthOutcome =
  | { mode: 'open' }
  | { mode: 'authenticated'; principal: Principal }
  | { mode: 'failed'; error: ArcError };

export interface Authenticator {
  readonly required: boolean;
  authenticate(header: string | undefined): Promise<AuthOutcome>;
}

export function createAuthenticator(options: {
  required: boolean;
  apiKeys: { find(token: string): Principal | undefined | Promise<Principal | undefined> };
  verifyJwt?: (token: string) => Promise<Principal>;
}): Authenticator {
  return {
    required: options.required,
    async authenticate(header) {
      if (!options.required) return { mode: 'open' };
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
      if (!match) {
        return { mode: 'failed', error: new AuthenticationError('missing Bearer token') };
      }
      const token = match[1] as string;
      const found = options.apiKeys.find(token);
      // Kept synchronous while the keys are fresh (the common case: no extra tick).
      const key = found instanceof Promise ? await found : found;
      if (key) return { mode: 'authenticated', principal: key };
      if (options.verifyJwt && token.split('.').length === 3) {
        try {
          return { mode: 'authenticated', principal: await options.verifyJwt(token) };
        } catch (error) {
          if (error instanceof ArcError) return { mode: 'failed', error };
          throw error;
        }
      }
      return { mode: 'failed', error: new AuthenticationError('invalid token') };
    },
  };
}
