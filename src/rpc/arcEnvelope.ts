/**
 * The ARC 1.0 envelope: checks a parsed body in the protocol's order (object and fields
 * -32600, version -45001), hands the call to the dispatcher, and writes the response envelope
 * with the id echoed as sent, both `result` and `error` keys, and `details` always an object.
 */
import type { AgentRegistry } from '../agents/registry';
import type { AuthOutcome } from '../auth/authenticator';
import type { Call, Dispatcher } from './dispatcher';
import type { SchemaRegistry } from './schemas';
import { type ArcError, InvalidRequestError, InvalidVersionError } from './errors';
import { SseResult, chatErrorEvents } from './sseResult';

export interface RpcDeps {
  dispatcher: Dispatcher;
  schemas: SchemaRegistry;
  agents: AgentRegistry;
  serverName: string;
}

export interface ArcResponse {
  arc: '1.0';
  id: string | number | null;
  responseAgent: string;
  targetAgent: string | null;
  result: unknown;
  error: { code: number; message: string; details: Record<string, unknown> } | null;
  traceId?: string;
}

/** What can be echoed from a request, however broken it is. */
interface Echo {
  id: string | number | null;
  requestAgent: string | null;
  targetAgent: string | null;
  traceId?: string;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function echoOf(body: unknown): Echo {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<
    string,
    unknown
  >;
  const id = typeof b.id === 'string' || typeof b.id === 'number' ? b.id : null;
  const traceId = str(b.traceId);
  const echo: Echo = { id, requestAgent: str(b.requestAgent), targetAgent: str(b.targetAgent) };
  if (traceId !== null) echo.traceId = traceId;
  return echo;
}

function responseAgent(echo: Echo, deps: RpcDeps): string {
  return echo.targetAgent !== null && deps.agents.has(echo.targetAgent)
    ? echo.targetAgent
    : deps.serverName;
}

function envelope(echo: Echo, deps: RpcDeps, result: unknown, error: ArcError | null): ArcResponse {
  const response: ArcResponse = {
    arc: '1.0',
    id: echo.id,
    responseAgent: responseAgent(echo, deps),
    targetAgent: echo.requestAgent,
    result: error ? null : result,
    error: error
      ? { code: error.code, message: error.message, details: { ...error.details } }
      : null,
  };
  // Last, where it has always been; set rather than spread in (a spread slows the literal).
  if (echo.traceId !== undefined) response.traceId = echo.traceId;
  return response;
}

function arcErrorResponse(error: ArcError, body: unknown, deps: RpcDeps): ArcResponse {
  return envelope(echoOf(body), deps, null, error);
}

/** An error for an ARC body: as SSE events when the call asked for a stream, else enveloped. */
export function arcErrorAnswer(
  error: ArcError,
  body: unknown,
  deps: RpcDeps,
): ArcResponse | SseResult {
  const stream = wantsStream(body);
  return stream ? streamedError(stream.chatId, error) : arcErrorResponse(error, body, deps);
}

function streamedError(chatId: string | null, error: ArcError): SseResult {
  return new SseResult(
    (async function* () {
      yield* chatErrorEvents(chatId, error);
    })(),
  );
}

/** A chat call asking for `stream: true` must get even its errors as SSE. */
function wantsStream(body: unknown): { chatId: string | null } | undefined {
  const b = body as { method?: unknown; params?: { stream?: unknown; chatId?: unknown } } | null;
  if (typeof b?.method !== 'string' || !b.method.startsWith('chat.') || b.params?.stream !== true) {
    return undefined;
  }
  return { chatId: typeof b.params.chatId === 'string' ? b.params.chatId : null };
}

function checkEnvelope(body: unknown, deps: RpcDeps): ArcError | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return new InvalidRequestError('The request must be a JSON object');
  }
  const problems = deps.schemas.check('arc:envelope', body);
  if (problems.length > 0) {
    const first = problems[0];
    return new InvalidRequestError(`Invalid request: ${first?.field} ${first?.message}`, {
      errors: problems,
    });
  }
  const version = (body as { arc?: unknown }).arc;
  return version === '1.0' ? undefined : new InvalidVersionError(version);
}

export async function handleArcRequest(
  body: unknown,
  deps: RpcDeps,
  auth: AuthOutcome,
): Promise<ArcResponse | SseResult> {
  const echo = echoOf(body);
  const stream = wantsStream(body);
  const answer = (result: unknown, error: ArcError | null): ArcResponse | SseResult => {
    if (error && stream) return streamedError(stream.chatId, error);
    return result instanceof SseResult ? result : envelope(echo, deps, result, error);
  };
  const invalid = checkEnvelope(body, deps);
  if (invalid) return answer(null, invalid);
  const request = body as Record<string, unknown>;
  const call: Call = {
    method: request.method as string,
    params: request.params,
    requestAgent: request.requestAgent as string,
    targetAgent: request.targetAgent as string,
    auth,
  };
  if (echo.traceId !== undefined) call.traceId = echo.traceId;
  const outcome = await deps.dispatcher.dispatch(call);
  return answer(outcome.result, outcome.error ?? null);
}
