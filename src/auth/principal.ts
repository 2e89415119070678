/**
 * Who is calling: the identity a token proves and the scopes it grants; and which scopes each
 * method needs (the ARC scopes, plus `arc.admin`, which may act for any requestAgent).
 */
import { InsufficientScopeError } from '../rpc/errors';

export interface Principal {
  identity: string;
  scopes: string[];
  /** Holds ADMIN_SCOPE: may name another requestAgent and see every caller's tasks. */
  admin: boolean;
}

export const ADMIN_SCOPE = 'arc.admin';

const TASK_CALLER = ['arc.task.controller', 'arc.agent.caller'];
const CHAT_CALLER = ['arc.chat.controller', 'arc.agent.caller'];
const NOTIFIER = ['arc.task.notify', 'arc.agent.receiver'];

/** Every scope a method may need (what an agent card lists when tokens are required). */
export const ARC_SCOPES = [...new Set([...TASK_CALLER, ...CHAT_CALLER, ...NOTIFIER])];

/** The scopes a method needs: chat.* the chat pair, task.notification the notify pair, the rest the task pair. */
export function requiredScopes(method: string): string[] {
  if (method === 'task.notification') return NOTIFIER;
  if (method.startsWith('chat.')) return CHAT_CALLER;
  return TASK_CALLER;
}

/** The refusal of a token whose scopes do not cover `method` (-44003); undefined if they do. */
export function scopeRefusal(
  principal: Principal,
  method: string,
): InsufficientScopeError | undefined {
  const required = requiredScopes(method);
  return required.every((scope) => principal.scopes.includes(scope))
    ? undefined
    : new InsufficientScopeError(required, principal.scopes);
}

export function toPrincipal(identity: string, scopes: string[]): Principal {
  return { identity, scopes, admin: scopes.includes(ADMIN_SCOPE) };
}
