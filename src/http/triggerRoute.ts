/**
 * POST /triggers/<token>: an inbound call (a webhook from another system, a cron job, a
 * script) that creates a task through a trigger. Plain HTTP answers: 202 with the task id,
 * 200 for a redelivery of a request key already seen, 4xx/5xx with `{ error }` otherwise.
 */
import express, {
  type ErrorRequestHandler,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { TriggerRecord } from '../store/triggerRows';
import type { TriggerService } from '../triggers/triggerService';
import type { RateLimiter, RateVerdict } from './rateLimiter';

export interface TriggerRouteOptions {
  triggers: TriggerService;
  maxBodyBytes: number;
  limiter: RateLimiter;
}

const tooLarge = (res: Response) =>
  void res.set('Connection', 'close').status(413).json({ error: 'the body is too large' });

/** Sets the verdict's headers; answers 429 (true) when it refuses. */
function answeredWithin(verdict: RateVerdict, res: Response): boolean {
  for (const [name, value] of verdict.headers) res.set(name, value);
  if (!verdict.error) return false;
  const { retryAfterSeconds } = verdict.error.details as { retryAfterSeconds: number };
  res
    .set('Retry-After', String(retryAfterSeconds))
    .status(429)
    .json({ error: verdict.error.message, retryAfterSeconds });
  return true;
}

export function triggerRouter(options: TriggerRouteOptions): Router {
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });
  // Counted before the body is read or the token looked up: guesses and floods cost little.
  const limited: RequestHandler = async (req, res, next) => {
    if (answeredWithin(await options.limiter.checkTrigger(req), res)) return;
    next();
  };
  // A body declared too large is refused before any of it is read (the body parser would
  // read it all to its end before its own refusal).
  const declaredTooLarge: RequestHandler = (req, res, next) => {
    if (Number(req.headers['content-length']) > options.maxBodyBytes) return tooLarge(res);
    next();
  };
  // An unknown token is answered before its body is read, or inflated (a guess costs little).
  const known: RequestHandler = async (req, res, next) => {
    const trigger = await options.triggers.find(String(req.params.token));
    if (!trigger) {
      res.set('Connection', 'close').status(404).json({ error: 'no such trigger' });
      return;
    }
    // Its own budget too: sent from many addresses, one trigger makes no more than one may.
    if (answeredWithin(await options.limiter.checkFiring(trigger.triggerId), res)) return;
    res.locals.trigger = trigger; // fired with the request's body once it is read
    next();
  };
  router.post('/triggers/:token', limited, known, declaredTooLarge, readBody, async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const trigger = res.locals.trigger as TriggerRecord;
    const answer = await options.triggers.fire(trigger, body, req.headers);
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.set(name, value);
    res.status(answer.status).json(answer.body);
  });
  router.all('/triggers/:token', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'use POST' });
  });
  const bodyErrors: ErrorRequestHandler = (error: { type?: string }, _req, res, next) => {
    if (error.type === 'entity.too.large') return tooLarge(res);
    next(error);
  };
  router.use('/triggers', bodyErrors);
  return router;
}
