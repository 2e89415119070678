/**
 * POST /arc (and POST /) through express: the fallback for what the plain node:http path
 * (arcHandler.ts) leaves alone, a Content-Encoding it does not know (body-parser then refuses
 * it too, as a parse error), and the 405 for other verbs. Reads the raw body with a size cap,
 * whatever its Content-Type, and hands the bytes to rpc/. Body-reading failures become ARC
 * errors with HTTP 200, too.
 */
import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { AuthOutcome, Authenticator } from '../auth/authenticator';
import { MessageTooLargeError, ParseError } from '../rpc/errors';
import type { RpcDeps } from '../rpc/arcEnvelope';
import { answerEarlyError } from '../rpc/handleBody';
import { answerBody } from './arcHandler';
import type { RateLimiter } from './rateLimiter';
import { writeAnswer } from './writeAnswer';

export interface ArcRouteOptions {
  deps: RpcDeps;
  maxBodyBytes: number;
  maxBatch: number;
  authenticator: Authenticator;
  /** Shared with the plain path: one budget per caller. */
  limiter: RateLimiter;
  logger: Logger;
}

interface Locals {
  auth?: AuthOutcome;
}

export function arcRouter(options: ArcRouteOptions): Router {
  // Paths as the plain path takes them, case and all: /ARC is no ARC route (404), not one
  // served here with its body read before its token is looked at.
  const router = express.Router({ caseSensitive: true });
  const rawParser = express.raw({ type: () => true, limit: options.maxBodyBytes });

  /**
   * The raw body, and every failure to read it answered here as an ARC error with HTTP 200:
   * too large (MessageTooLargeError), or anything else that stops the body
   * being read (an unknown Content-Encoding, a gzip, deflate or brotli body that does not
   * inflate, a broken charset, a body cut short) as a parse error.
   */
  const readBody: RequestHandler = (req, res, next) => {
    rawParser(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      const type = (error as { type?: unknown }).type;
      if (type === 'entity.too.large') {
        // Close after answering: the rest of an oversize body is not worth reading.
        res.set('Connection', 'close');
        const tooLarge = new MessageTooLargeError(options.maxBodyBytes);
        void writeAnswer(res, answerEarlyError(tooLarge, '', options.deps));
        return;
      }
      const reason = typeof type === 'string' ? type : (error as Error).message;
      void writeAnswer(res, answerEarlyError(new ParseError(reason), '', options.deps));
    });
  };

  const rawBody = (req: express.Request) =>
    Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

  const authenticate: RequestHandler = async (req, res, next) => {
    (res.locals as Locals).auth = await options.authenticator.authenticate(
      req.headers.authorization,
    );
    next();
  };

  const handle: RequestHandler = async (req, res) => {
    const auth = (res.locals as Locals).auth ?? { mode: 'open' };
    // helmet's headers are on `res` already (the app's middleware).
    await answerBody(options, res, rawBody(req), auth, req, []);
  };

  for (const path of ['/arc', '/']) {
    router.post(path, readBody, authenticate, handle);
    router.all(path, (req, res) => {
      res
        .set('Allow', 'POST')
        .status(405)
        .json({ error: `use POST ${path}` });
    });
  }
  return router;
}
