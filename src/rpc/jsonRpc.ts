/**
 * Plain JSON-RPC 2.0 on the same route, to the letter of the spec: batches (one response per
 * non-notification, in an array even for one element; `[]` → one -32600), notifications get
 * no response, errors carry `data` instead of `details`. arcd's routing fields
 * (`targetAgent`, `requestAgent`, `traceId`) travel as extra members of each request.
 */
import type { ArcError } from './errors';
import { InvalidParamsError, InvalidRequestError } from './errors';
import type { RpcDeps } from './arcEnvelope';
import type { Call } from './dispatcher';
import type { AuthOutcome } from '../auth/authenticator';

type Id = string | number | null;

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: Id;
  result?: unknown;
  error?: { code: number; message: string; data: Record<string, unknown> };
}

export function jsonRpcError(id: Id, error: ArcError): JsonRpcResponse {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: error.code, message: error.message, data: { ...error.details } },
  };
}

function withoutStream(params: unknown): unknown {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return params;
  const rest = { ...(params as Record<string, unknown>) };
  delete rest.stream;
  return rest;
}

/** The id a response to `value` echoes: its own, when it is a string or number (else null). */
export function idOf(value: unknown): Id {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** A notification: an object without an `id` member (answered with nothing). */
export function isNotification(value: unknown): boolean {
  return !!value && typeof value === 'object' && !Array.isArray(value) && !('id' in value);
}

/** One request object → its response, or undefined for a valid notification. */
async function handleOne(
  value: unknown,
  deps: RpcDeps,
  auth: AuthOutcome,
): Promise<JsonRpcResponse | undefined> {
  const id = idOf(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return jsonRpcError(null, new InvalidRequestError('A request must be a JSON object'));
  }
  const problems = deps.schemas.check('arc:jsonrpc-request', value);
  if (problems.length > 0) {
    // A notification by JSON-RPC's own rules (version, a method, no id) is never answered,
    // whatever arcd's members it lacks; only a body that is no JSON-RPC request at all is.
    const request = value as Record<string, unknown>;
    if (isNotification(value) && request.jsonrpc === '2.0' && typeof request.method === 'string') {
      return undefined;
    }
    const first = problems[0];
    return jsonRpcError(
      id,
      new InvalidRequestError(`Invalid request: ${first?.field} ${first?.message}`, {
        errors: problems,
      }),
    );
  }
  const request = value as Record<string, unknown>;
  if (Array.isArray(request.params)) {
    const error = new InvalidParamsError([
      { field: 'params', message: 'must be an object (by-name parameters)' },
    ]);
    return isNotification(value) ? undefined : jsonRpcError(id, error);
  }
  const call: Call = {
    method: request.method as string,
    // JSON-RPC answers are JSON: a chat's `stream` flag is ignored here.
    params: withoutStream(request.params ?? {}),
    requestAgent: request.requestAgent as string,
    targetAgent: request.targetAgent as string,
    auth,
  };
  if (typeof request.traceId === 'string') call.traceId = request.traceId;
  const outcome = await deps.dispatcher.dispatch(call);
  if (isNotification(value)) return undefined;
  return outcome.error
    ? jsonRpcError(id, outcome.error)
    : { jsonrpc: '2.0', id, result: outcome.result };
}

/** The whole body → the response body, or undefined when nothing is to be answered (204). */
export async function handleJsonRpc(
  body: unknown,
  deps: RpcDeps,
  maxBatch: number,
  auth: AuthOutcome,
): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  if (!Array.isArray(body)) return handleOne(body, deps, auth);
  if (body.length === 0) {
    return jsonRpcError(null, new InvalidRequestError('An empty batch is not a request'));
  }
  if (body.length > maxBatch) {
    return jsonRpcError(
      null,
      new InvalidRequestError(`A batch may hold at most ${maxBatch} requests`, {
        maxBatch,
        received: body.length,
      }),
    );
  }
  const responses: JsonRpcResponse[] = [];
  for (const item of body) {
    const response = await handleOne(item, deps, auth);
    if (response) responses.push(response);
  }
  return responses.length > 0 ? responses : undefined;
}

/** Is this parsed body meant as JSON-RPC 2.0 rather than an ARC envelope? */
export function isJsonRpcBody(body: unknown): boolean {
  if (Array.isArray(body)) return true;
  return !!body && typeof body === 'object' && 'jsonrpc' in body;
}
