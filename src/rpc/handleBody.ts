/**
 * One POSTed body → one HTTP answer. Parses the raw bytes as JSON whatever the Content-Type,
 * then picks the envelope: an array or a `jsonrpc` member means JSON-RPC 2.0, anything else is
 * ARC 1.0. ARC errors always travel with HTTP 200; only "nothing to say" is 204.
 */
import { type ArcError, ParseError } from './errors';
import { type RpcDeps, arcErrorResponse, handleArcRequest } from './arcEnvelope';
import { handleJsonRpc, isJsonRpcBody, jsonRpcError } from './jsonRpc';

export const ARC_CONTENT_TYPE = 'application/arc+json';
export const JSON_RPC_CONTENT_TYPE = 'application/json';

export interface HttpAnswer {
  status: 200 | 204;
  contentType: string;
  body?: unknown;
}

export interface BodyLimits {
  maxBatch: number;
}

function looksLikeJsonRpc(text: string): boolean {
  return /"jsonrpc"\s*:/.test(text.slice(0, 4096));
}

/** An error found before any envelope could be read (unparsable, too large). */
export function answerEarlyError(error: ArcError, rawText: string, deps: RpcDeps): HttpAnswer {
  if (looksLikeJsonRpc(rawText)) {
    return { status: 200, contentType: JSON_RPC_CONTENT_TYPE, body: jsonRpcError(null, error) };
  }
  return { status: 200, contentType: ARC_CONTENT_TYPE, body: arcErrorResponse(error, {}, deps) };
}

export async function handleBody(
  raw: Buffer,
  deps: RpcDeps,
  limits: BodyLimits,
): Promise<HttpAnswer> {
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return answerEarlyError(new ParseError((error as Error).message), text, deps);
  }
  if (isJsonRpcBody(body)) {
    const response = await handleJsonRpc(body, deps, limits.maxBatch);
    return response === undefined
      ? { status: 204, contentType: JSON_RPC_CONTENT_TYPE }
      : { status: 200, contentType: JSON_RPC_CONTENT_TYPE, body: response };
  }
  return { status: 200, contentType: ARC_CONTENT_TYPE, body: await handleArcRequest(body, deps) };
}
