/**
 * One HTTP attempt of one webhook: POST with got (no retries of its own, an explicit timeout,
 * redirects not followed), reading at most a capped part of the answer. Never throws: every
 * outcome, including connection errors, comes back as an AttemptResult with a stable code.
 */
import { performance } from 'node:perf_hooks';
import got from 'got';
import { webhookLookups } from './lookupGate';
import type { GuardedAgents } from './ssrf';

export interface AttemptResult {
  statusCode?: number;
  latencyMs: number;
  /**
   * `CODE: message` for transport failures (ERR_WEBHOOK_TIMEOUT, ERR_WEBHOOK_FORBIDDEN_ADDRESS,
   * …): stored, and shown to the subscription's owner. A refused address is not named in it.
   */
  error?: string;
  /** The failure as it was, for the server's log only (a refused address named). */
  detail?: string;
  responseBody?: string;
  retryAfter?: string;
}

export interface SendOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  /** The SSRF-guarded agents; omitted only for allowlisted host names. */
  agents?: GuardedAgents;
  userAgent: string;
}

/**
 * A failure as its owner is told it. A refusal of the guard names the address the receiver's
 * name resolved to: told back, it would let any caller map internal names (split-horizon DNS
 * included) by subscribing to them; the server's log keeps it.
 */
function describeError(error: Error & { code?: string }): string {
  if (/not allowed/i.test(error.message)) {
    return 'ERR_WEBHOOK_FORBIDDEN_ADDRESS: the receiver resolves to an address webhooks may not reach';
  }
  if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') {
    return `ERR_WEBHOOK_TIMEOUT: ${error.message}`;
  }
  return `${error.code ?? 'ERR_WEBHOOK_REQUEST'}: ${error.message}`;
}

export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: SendOptions,
): Promise<AttemptResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let statusCode: number | undefined;
    let retryAfter: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      const latencyMs = Math.round(performance.now() - started);
      const responseBody = Buffer.concat(chunks).toString('utf8');
      resolve({
        ...(statusCode !== undefined ? { statusCode } : {}),
        latencyMs,
        ...(error ? { error: describeError(error), detail: error.message } : {}),
        ...(responseBody ? { responseBody } : {}),
        ...(retryAfter ? { retryAfter } : {}),
      });
    };
    const stream = got.stream.post(url, {
      body,
      headers: { 'content-type': 'application/json', 'user-agent': options.userAgent, ...headers },
      timeout: { request: options.timeoutMs },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      dnsLookup: (options.agents?.lookup ?? webhookLookups.lookup) as never,
      ...(options.agents
        ? { agent: { http: options.agents.http, https: options.agents.https } }
        : {}),
    });
    stream.on('response', (response: { statusCode: number; headers: Record<string, unknown> }) => {
      statusCode = response.statusCode;
      const header = response.headers['retry-after'];
      if (typeof header === 'string') retryAfter = header;
    });
    stream.on('data', (chunk: Buffer) => {
      const room = options.maxResponseBytes - size;
      if (room > 0) {
        chunks.push(chunk.subarray(0, room));
        size += Math.min(room, chunk.length);
      }
      if (size >= options.maxResponseBytes) {
        finish();
        stream.destroy();
      }
    });
    stream.on('end', () => finish());
    stream.on('error', (error: Error) => finish(statusCode === undefined ? error : undefined));
  });
}
