/**
 * POST /arc (and POST /): reads the raw body with a size cap, whatever its Content-Type, and
 * hands the bytes to rpc/. Body-reading failures become ARC errors with HTTP 200, too.
 */
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import { MessageTooLargeError, ParseError } from '../rpc/errors';
import type { RpcDeps } from '../rpc/arcEnvelope';
import { type HttpAnswer, answerEarlyError, handleBody } from '../rpc/handleBody';

export interface ArcRouteOptions {
  deps: RpcDeps;
  maxBodyBytes: number;
  maxBatch: number;
}

function send(res: express.Response, answer: HttpAnswer): void {
  res.status(answer.status).type(answer.contentType);
  if (answer.body === undefined) res.end();
  else res.send(JSON.stringify(answer.body));
}

export function arcRouter(options: ArcRouteOptions): Router {
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });

  const handle: RequestHandler = async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    send(res, await handleBody(raw, options.deps, { maxBatch: options.maxBatch }));
  };

  const bodyErrors: ErrorRequestHandler = (error: { type?: string }, req, res, next) => {
    if (error.type === 'entity.too.large') {
      // Close after answering: the rest of an oversize body is not worth reading.
      res.set('Connection', 'close');
      send(res, answerEarlyError(new MessageTooLargeError(options.maxBodyBytes), '', options.deps));
      return;
    }
    if (typeof error.type === 'string' && /encoding|charset|parse|stream/.test(error.type)) {
      send(res, answerEarlyError(new ParseError(error.type), '', options.deps));
      return;
    }
    next(error);
  };

  for (const path of ['/arc', '/']) {
    router.post(path, readBody, handle, bodyErrors);
    router.all(path, (req, res) => {
      res
        .set('Allow', 'POST')
        .status(405)
        .json({ error: `use POST ${path}` });
    });
  }
  return router;
}
