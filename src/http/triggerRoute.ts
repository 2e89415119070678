/**
 * POST /triggers/<token>: an inbound call (a webhook from another system, a cron job, a
 * script) that creates a task through a trigger. Plain HTTP answers: 202 with the task id,
 * 200 for a redelivery of a request key already seen, 4xx/5xx with `{ error }` otherwise.
 */
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { TriggerService } from '../triggers/triggerService';

export interface TriggerRouteOptions {
  triggers: TriggerService;
  maxBodyBytes: number;
}

export function triggerRouter(options: TriggerRouteOptions): Router {
  const router = express.Router();
  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });
  router.post('/triggers/:token', readBody, async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await options.triggers.fire(String(req.params.token), body, req.headers);
    res.status(answer.status).json(answer.body);
  });
  router.all('/triggers/:token', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ error: 'use POST' });
  });
  const bodyErrors: ErrorRequestHandler = (error: { type?: string }, _req, res, next) => {
    if (error.type === 'entity.too.large') {
      res.set('Connection', 'close').status(413).json({ error: 'the body is too large' });
      return;
    }
    next(error);
  };
  router.use('/triggers', bodyErrors);
  return router;
}
