/**
 * The express app: the ARC route, discovery, and plain JSON 404/500 for everything else. No
 * business logic lives here; only http/ knows express.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { type ArcRouteOptions, arcRouter } from './arcRoute';
import { type DiscoveryOptions, discoveryRouter } from './discovery';
import { type TriggerRouteOptions, triggerRouter } from './triggerRoute';

export interface AppOptions {
  arc: ArcRouteOptions;
  discovery: DiscoveryOptions;
  triggers: TriggerRouteOptions;
  logger: Logger;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet());
  app.set('etag', false);
  app.use(discoveryRouter(options.discovery));
  app.use(triggerRouter(options.triggers));
  app.use(arcRouter(options.arc));
  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}`, arc: '/arc' });
  });
  const lastResort: ErrorRequestHandler = (error: { status?: unknown }, _req, res, _next) => {
    // The caller's own fault (a path that does not decode, a body that does not): its 4xx.
    const status = typeof error.status === 'number' ? error.status : 500;
    if (status >= 400 && status < 500) {
      options.logger.debug({ err: error }, 'bad HTTP request');
      if (!res.headersSent) res.status(status).json({ error: 'bad request' });
      return;
    }
    options.logger.error({ err: error }, 'unhandled HTTP error');
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  };
  app.use(lastResort);
  return app;
}

/** A route served on plain node:http: false when the request is not one it takes. */
export type PlainRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * What the HTTP server runs: the hot routes on plain node:http first (POST /arc, task event
 * streams), the express app for the rest.
 */
export function createRequestListener(app: Express, plain: PlainRoute[]): RequestListener {
  return (req, res) => {
    for (const route of plain) if (route(req, res)) return;
    app(req, res);
  };
}
