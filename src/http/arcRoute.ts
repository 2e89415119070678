/**
 * POST /arc (and POST /): reads the raw body with a size cap, whatever its Content-Type, and
 * hands the bytes to rpc/. Body-reading failures become ARC errors with HTTP 200, too.
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { AuthOutcome, Authenticator } from '../auth/authenticator';
import { MessageTooLargeError, ParseError, RateLimitError } from '../rpc/errors';
import type { RpcDeps } from '../rpc/arcEnvelope';
import { type HttpAnswer, answerEarlyError, handleBody } from '../rpc/handleBody';
import { formatSse } from '../rpc/sseResult';

export interface ArcRouteOptions {
  deps: RpcDeps;
  maxBodyBytes: number;
  maxBatch: number;
  authenticator: Authenticator;
  /** Calls per identity (per IP when open) per minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
}

interface Locals {
  auth?: AuthOutcome;
}

async function send(res: express.Response, answer: HttpAnswer): Promise<void> {
  if (answer.stream) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    for await (const event of answer.stream.events) {
      if (res.destroyed) break;
      res.write(formatSse(event));
    }
    res.end();
    return;
  }
  res.status(answer.status).type(answer.contentType);
  if (answer.body === undefined) res.end();
  else res.send(JSON.stringify(answer.body));
}

export function arcRouter(options: ArcRouteOptions): Router {
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });

  const rawBody = (req: express.Request) =>
    Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

  const authenticate: RequestHandler = async (req, res, next) => {
    (res.locals as Locals).auth = await options.authenticator.authenticate(
      req.headers.authorization,
    );
    next();
  };

  const windowMs = 60_000;
  const limiter = rateLimit({
    windowMs,
    limit: options.rateLimitPerMinute,
    skip: () => options.rateLimitPerMinute === 0,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const auth = (res.locals as Locals).auth;
      return auth?.mode === 'authenticated'
        ? `id:${auth.principal.identity}`
        : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    handler: (req, res) => {
      const retryAfter = Math.ceil(windowMs / 1000);
      const error = new RateLimitError(options.rateLimitPerMinute, windowMs, retryAfter);
      void send(res, answerEarlyError(error, rawBody(req).toString('utf8'), options.deps));
    },
  });

  const handle: RequestHandler = async (req, res) => {
    const auth = (res.locals as Locals).auth ?? { mode: 'open' };
    await send(
      res,
      await handleBody(rawBody(req), options.deps, { maxBatch: options.maxBatch }, auth),
    );
  };

  const bodyErrors: ErrorRequestHandler = (error: { type?: string }, req, res, next) => {
    if (error.type === 'entity.too.large') {
      // Close after answering: the rest of an oversize body is not worth reading.
      res.set('Connection', 'close');
      void send(
        res,
        answerEarlyError(new MessageTooLargeError(options.maxBodyBytes), '', options.deps),
      );
      return;
    }
    if (typeof error.type === 'string' && /encoding|charset|parse|stream/.test(error.type)) {
      void send(res, answerEarlyError(new ParseError(error.type), '', options.deps));
      return;
    }
    next(error);
  };

  for (const path of ['/arc', '/']) {
    router.post(path, readBody, authenticate, limiter, handle, bodyErrors);
    router.all(path, (req, res) => {
      res
        .set('Allow', 'POST')
        .status(405)
        .json({ error: `use POST ${path}` });
    });
  }
  return router;
}
