/**
 * One POSTed body → one HTTP answer. Parses the raw bytes as JSON whatever the Content-Type,
 * then picks the envelope: an array or a `jsonrpc` member means JSON-RPC 2.0, anything else is
 * ARC 1.0. ARC errors always travel with HTTP 200; only "nothing to say" is 204.
 */
import { isUtf8 } from 'node:buffer';
import { type ArcError, ParseError } from './errors';
import { type ArcResponse, type RpcDeps, arcErrorAnswer, handleArcRequest } from './arcEnvelope';
import { handleJsonRpc, idOf, isJsonRpcBody, isNotification, jsonRpcError } from './jsonRpc';
import { SseResult } from './sseResult';
import { type ExactIds, keepExactIds } from './exactIds';
import { prefixBody } from './jsonScan';
import { extended } from '../extended';
import type { AuthOutcome } from '../auth/authenticator';

export const ARC_CONTENT_TYPE = 'application/arc+json';
export const JSON_RPC_CONTENT_TYPE = 'application/json';

export interface HttpAnswer {
  status: 200 | 204;
  contentType: string;
  body?: unknown;
  /** Set for a streamed answer (chat with `stream: true`): written as SSE. */
  stream?: SseResult;
  /** Ids JSON.parse could not keep exactly, to be written back as sent (exactIds.ts). */
  exactIds?: ExactIds;
}

function withExactIds(answer: HttpAnswer, exactIds: ExactIds | undefined): HttpAnswer {
  if (exactIds) answer.exactIds = exactIds;
  return answer;
}

export interface BodyLimits {
  maxBatch: number;
}

/**
 * Whether an unparsable body was meant as JSON-RPC: a batch (ARC has none, and a parsed array
 * is JSON-RPC too), or a `jsonrpc` member of its own, whole before the fault (one inside its
 * params, a DataPart's say, does not count).
 */
function looksLikeJsonRpc(text: string): boolean {
  return /^\s*\[/.test(text) || prefixBody(text)?.jsonrpc !== undefined;
}

/**
 * A body's bytes as text: without a leading byte order mark (RFC 8259 §8.1 lets a parser
 * ignore one; JSON.parse does not), undefined when they are not UTF-8 (JSON's only encoding:
 * decoded anyway, a caller's text would be stored altered, U+FFFD in place of its bytes).
 */
export function bodyText(raw: Buffer): string | undefined {
  if (!isUtf8(raw)) return undefined;
  return raw.toString('utf8', byteOrderMarkLength(raw));
}

/** How many bytes a leading UTF-8 byte order mark takes of `raw`: 3, or 0 without one. */
export function byteOrderMarkLength(raw: Buffer): number {
  return raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
}

/**
 * What an early error answer reads a body as, to echo what it can of it: its text (bodyText),
 * or, for bytes that are not UTF-8, those bytes decoded all the same.
 */
export function readableText(raw: Buffer): string {
  return bodyText(raw) ?? raw.toString('utf8');
}

function parseQuietly(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * An error found before the call could be dispatched (unparsable, too large, rate limited):
 * answered in the caller's envelope, echoing what can be read of it (of a body too large, its
 * first bytes, `cut`). A body that parses picks
 * its envelope as a dispatched call would (a stream-asking chat call gets its error as SSE);
 * only an unparsable one is judged by its text.
 */
export function answerEarlyError(
  error: ArcError,
  rawText: string,
  deps: RpcDeps,
  cut?: { sseRequest: boolean },
): HttpAnswer {
  // `cut`: the first bytes of a body too large to take; its envelope members, where whole.
  const body = cut ? streamAskedOf(prefixBody(rawText), cut.sseRequest) : parseQuietly(rawText);
  const exactIds = body === undefined ? undefined : keepExactIds(body, rawText);
  if (body === undefined ? looksLikeJsonRpc(rawText) : isJsonRpcBody(body)) {
    const contentType = JSON_RPC_CONTENT_TYPE;
    if (!cut && (Array.isArray(body) ? body.length > 0 : isNotification(body))) {
      // A whole batch (rate limited, say): an array, one error per call that has an id, as
      // if each had been refused; notifications get none, and a body of only those, nothing.
      const calls = Array.isArray(body) ? body.filter((call) => !isNotification(call)) : [];
      if (calls.length === 0) return { status: 204, contentType };
      const errors = calls.map((call) => jsonRpcError(idOf(call), error));
      return withExactIds({ status: 200, contentType, body: errors }, exactIds);
    }
    const answer: HttpAnswer = {
      status: 200,
      contentType,
      body: jsonRpcError(idOf(body), error),
    };
    return withExactIds(answer, exactIds);
  }
  return withExactIds(arcAnswer(arcErrorAnswer(error, body ?? {}, deps)), exactIds);
}

/**
 * A cut chat call's `params.stream` usually lies past the cut (clients write it after the
 * message, which made the body too large): a request sent as SSE (its Content-Type) is then
 * taken to have asked for a stream, so that its error comes as SSE, as its client reads.
 */
function streamAskedOf(
  body: Record<string, unknown> | undefined,
  sseRequest: boolean,
): Record<string, unknown> | undefined {
  const params = body?.params as Record<string, unknown> | undefined;
  if (!sseRequest || typeof body?.method !== 'string' || !body.method.startsWith('chat.')) {
    return body;
  }
  if (params?.stream !== undefined) return body;
  return extended(body, { params: extended(params ?? {}, { stream: true }) });
}

function arcAnswer(answer: ArcResponse | SseResult): HttpAnswer {
  if (answer instanceof SseResult) {
    return { status: 200, contentType: 'text/event-stream', stream: answer };
  }
  return { status: 200, contentType: ARC_CONTENT_TYPE, body: answer };
}

/**
 * `sseRequest`: the body was sent as SSE (its Content-Type), as the SDK sends its streaming
 * calls: an unparsable one is answered as the cut body of one too large is (see streamAskedOf).
 */
export async function handleBody(
  raw: Buffer,
  deps: RpcDeps,
  limits: BodyLimits,
  auth: AuthOutcome,
  sseRequest = false,
): Promise<HttpAnswer> {
  const text = bodyText(raw);
  const unparsable = (why: string, readable: string) =>
    answerEarlyError(new ParseError(why), readable, deps, sseRequest ? { sseRequest } : undefined);
  if (text === undefined) return unparsable('the body is not UTF-8', readableText(raw));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return unparsable((error as Error).message, text);
  }
  const exactIds = keepExactIds(body, text);
  if (isJsonRpcBody(body)) {
    const response = await handleJsonRpc(body, deps, limits.maxBatch, auth);
    return response === undefined
      ? { status: 204, contentType: JSON_RPC_CONTENT_TYPE }
      : withExactIds({ status: 200, contentType: JSON_RPC_CONTENT_TYPE, body: response }, exactIds);
  }
  return withExactIds(arcAnswer(await handleArcRequest(body, deps, auth)), exactIds);
}
