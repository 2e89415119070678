/**
 * POST /arc (and POST /) on plain node:http, ahead of the express app: the raw body with its
 * size cap, the caller's token, the rate limit, helmet's headers, then rpc/. Express's router,
 * body parser and per-request setup were a fifth of a task's CPU. A gzip, deflate or br body
 * is inflated here too (so a body too large echoes its id as a plain one does); anything else
 * (another verb or path, an encoding not known here) is left to the express route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { AuthOutcome, Authenticator } from '../auth/authenticator';
import { MessageTooLargeError, ParseError } from '../rpc/errors';
import type { RpcDeps } from '../rpc/arcEnvelope';
import {
  answerEarlyError,
  bodyText,
  byteOrderMarkLength,
  handleBody,
  readableText,
} from '../rpc/handleBody';
import { asArcError } from '../rpc/asArcError';
import { arrayElements, spaceEnd } from '../rpc/jsonScan';
import type { RateLimiter } from './rateLimiter';
import { type HeaderList, writeAnswer } from './writeAnswer';

export interface ArcHandlerOptions {
  deps: RpcDeps;
  maxBodyBytes: number;
  maxBatch: number;
  authenticator: Authenticator;
  limiter: RateLimiter;
  securityHeaders: HeaderList;
  logger: Logger;
}

/** The request's path is /arc or / (a trailing slash and a query string allowed). */
function isArcPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?', 1)[0];
  return path === '/arc' || path === '/' || path === '/arc/';
}

/**
 * How the body is read: as sent (null), or inflated (gzip, deflate, br) with the size cap on
 * the inflated bytes as on the plain ones; undefined for an encoding this path does not take
 * (express answers).
 */
function inflaterFor(req: IncomingMessage): (() => Transform) | null | undefined {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  return encoding === 'identity' ? null : INFLATE[encoding];
}

const INFLATE: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

const ignore = () => undefined;

/** Of a body too large to take, this much is kept: enough for an envelope's id and agents. */
const CUT_PREFIX_BYTES = 8 * 1024;
/** How long a body declared too large may take to show its first bytes. */
const DECLARED_GRACE_MS = 50;

/** A body past the size cap: its first bytes (at most CUT_PREFIX_BYTES), the rest unread. */
interface TooLarge {
  prefix: Buffer;
}

/**
 * The whole body, or, once it passes `max` bytes, its first bytes: the error's answer echoes
 * the id and agents found there. A body declared larger than `max` is not waited for: what its
 * first chunk holds (within DECLARED_GRACE_MS) is all that is read.
 */
function readBody(req: Readable, max: number, declared: number): Promise<Buffer | TooLarge> {
  return new Promise((resolve, reject) => {
    if (req.destroyed) return reject(new Error('the request was aborted mid-body'));
    const chunks: Buffer[] = [];
    let length = 0;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const cut = () => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      req.pause();
      resolve({ prefix: Buffer.concat(chunks, Math.min(length, CUT_PREFIX_BYTES)) });
    };
    if (declared > max) timer = setTimeout(cut, DECLARED_GRACE_MS);
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      chunks.push(chunk);
      if (length > max || declared > max) cut();
    });
    req.once('end', () => {
      ended = true;
      if (declared > max) return cut(); // declared more than it sent
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
    });
    req.once('error', reject);
    req.once('close', () => {
      clearTimeout(timer);
      if (!ended && length <= max) reject(new Error('the request was aborted mid-body'));
    });
  });
}

/** Of a body answered before it was read whole, this much more is read (and dropped)… */
const LINGER_BYTES = 16 * 1024 * 1024;
/** …for this long at most, before the connection is closed. */
const LINGER_MS = 2_000;

/**
 * The rest of a body answered early (too large, its caller's token refused) is read and
 * dropped, up to LINGER_BYTES or for LINGER_MS, and the connection closed past them. Closed at
 * once, with the body's bytes unread, the socket would be reset: most clients send a body
 * whole before they read the answer, and would see the reset, not the answer (-45004, the
 * token's error). A body that ends in time leaves the connection open for the next request.
 */
function lingerThenClose(req: IncomingMessage): void {
  // Read whole already (a compressed body, its inflating cut short): nothing to wait for, and
  // a timer would close the connection under the next request on it.
  if (req.complete || req.readableEnded) return;
  let dropped = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) close();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * How many calls a body makes, for the rate limit: a JSON-RPC batch one per element (at most
 * `maxBatch`: a longer one is refused whole), anything else one.
 */
function callsIn(raw: Buffer, maxBatch: number): number {
  // Past a byte order mark, as the body is read (bodyText): else a batch behind one is one call.
  let i = byteOrderMarkLength(raw);
  while (
    i < raw.length &&
    (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09)
  )
    i += 1;
  if (raw[i] !== 0x5b) return 1; // not '['
  const text = raw.toString('utf8', i);
  const calls = arrayElements(text, spaceEnd(text, 0)).length;
  // A batch over --max-batch is refused whole without running any of its calls: one call.
  return calls > maxBatch ? 1 : Math.max(1, calls);
}

/**
 * Whether the body was sent as SSE (its Content-Type): the SDK's streaming calls are; its
 * others accept SSE as well as JSON, and read JSON.
 */
function sentAsSse(req: IncomingMessage): boolean {
  return /text\/event-stream/i.test(req.headers['content-type'] ?? '');
}

/** `headers` and the rate limit's own (what is left of the caller's budget), if it gave any. */
function withRateHeaders(headers: HeaderList, rate: { headers: HeaderList }): HeaderList {
  return rate.headers.length > 0 ? [...headers, ...rate.headers] : headers;
}

/**
 * A body read and a caller known → the answer written: the caller's rate budget first, then
 * rpc/. Both ways into the route (this one and express's) end here.
 */
export async function answerBody(
  options: Pick<ArcHandlerOptions, 'deps' | 'maxBatch' | 'limiter' | 'logger'>,
  res: ServerResponse,
  raw: Buffer,
  auth: AuthOutcome,
  req: IncomingMessage,
  headers: HeaderList,
): Promise<void> {
  const { deps, maxBatch, limiter } = options;
  try {
    const rate = await limiter.check(auth, req, callsIn(raw, maxBatch));
    const reply = rate.error
      ? answerEarlyError(rate.error, bodyText(raw) ?? '', deps)
      : await handleBody(raw, deps, { maxBatch }, auth, sentAsSse(req));
    await writeAnswer(res, reply, withRateHeaders(headers, rate));
  } catch (error) {
    answerFailure(options, res, error, readableText(raw), headers);
  }
}

/**
 * A failure outside the dispatcher (an answer that does not serialize, say): logged under an
 * error id and answered -32603 at HTTP 200 in the caller's envelope, its id echoed, when
 * nothing has gone out yet; a stream under way is ended.
 */
function answerFailure(
  options: Pick<ArcHandlerOptions, 'deps' | 'logger'>,
  res: ServerResponse,
  error: unknown,
  rawText: string,
  headers: HeaderList,
): void {
  const failure = asArcError(error, options.logger, {}, 'internal error while answering a call');
  if (res.destroyed) return;
  if (res.headersSent) {
    res.end();
    return;
  }
  writeAnswer(res, answerEarlyError(failure, rawText, options.deps), headers).catch(() =>
    res.destroy(),
  );
}

/** Returns false for requests it does not take; the caller hands those to express. */
export function createArcHandler(options: ArcHandlerOptions) {
  const { deps, maxBodyBytes, authenticator, securityHeaders } = options;

  async function answer(
    req: IncomingMessage,
    inflater: (() => Transform) | null,
    res: ServerResponse,
  ): Promise<void> {
    // The token first: a caller it refuses is not worth a whole body (nor the memory to hold
    // one): what its first bytes say (the id to echo) is read, and the rest dropped.
    // Nothing reads the body meanwhile (it waits in the socket); an error of the request then
    // is met by readBody, which sees it destroyed.
    req.on('error', ignore);
    const auth = await authenticator.authenticate(req.headers.authorization);
    if (req.destroyed) return; // the caller hung up while its token was checked
    // Piped only now: an inflater failing while the token was checked had no listener.
    const body: Readable = inflater ? req.pipe(inflater()) : req;
    const max = auth.mode === 'failed' ? Math.min(CUT_PREFIX_BYTES, maxBodyBytes) : maxBodyBytes;
    // A declared length is the compressed one when the body is inflated: not the one capped.
    const declared = body === req ? Number(req.headers['content-length']) : NaN;
    let raw: Buffer | TooLarge;
    try {
      raw = await readBody(body, max, declared);
    } catch (error) {
      if (body === req) throw error;
      // A compressed body that does not inflate (or is cut short): the caller's parse error,
      // a call of its budget like any other (past it, the rate limit's answer instead).
      // The rest of it is left unread, so the connection cannot carry another request.
      res.setHeader('Connection', 'close');
      const rate = await options.limiter.check(auth, req, 1);
      const reason = `the ${req.headers['content-encoding']} body does not inflate: ${(error as Error).message}`;
      const answer = answerEarlyError(rate.error ?? new ParseError(reason), '', deps);
      await writeAnswer(res, answer, withRateHeaders(securityHeaders, rate));
      return;
    }
    if (!Buffer.isBuffer(raw)) {
      // A refused caller's guesses count against its address's budget, however long the body.
      const rate = auth.mode === 'failed' ? await options.limiter.check(auth, req, 1) : undefined;
      const error =
        rate?.error ??
        (auth.mode === 'failed' ? auth.error : new MessageTooLargeError(maxBodyBytes));
      const sseRequest = sentAsSse(req);
      const answer = answerEarlyError(error, readableText(raw.prefix), deps, { sseRequest });
      const headers = rate ? withRateHeaders(securityHeaders, rate) : securityHeaders;
      if (body !== req) {
        req.unpipe(); // the inflater: what is left is dropped as it comes
        body.destroy();
      }
      lingerThenClose(req);
      await writeAnswer(res, answer, headers);
      return;
    }
    await answerBody(options, res, raw, auth, req, securityHeaders);
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || !isArcPath(req.url)) return false;
    const inflater = inflaterFor(req);
    if (inflater === undefined) return false;
    answer(req, inflater, res).catch((error: unknown) => {
      if (res.destroyed) return; // the caller hung up mid-body
      answerFailure(options, res, error, '', securityHeaders);
    });
    return true;
  };
}
