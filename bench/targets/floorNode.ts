/**
 * floor-node: bare node:http that reads a JSON body and answers a task-sized JSON envelope.
 * No framework, no validation, no storage: the HTTP + JSON floor any Node server pays.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { portArg, readJson, ready, send, taskEnvelope } from './shared';

const port = portArg();
const server = http.createServer((req, res) => {
  readJson(req).then(
    (request) =>
      send(res, 200, taskEnvelope(request, `task-${randomUUID()}`, new Date().toISOString())),
    () => send(res, 400, { error: 'bad json' }),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => ready(port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
