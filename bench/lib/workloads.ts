/**
 * arcd workloads shared by bench/profile.ts and bench/ab.ts, named as their rows in
 * bench/run.ts: the durable create path alone, task.create with its echo turns running, the
 * echo end to end over its event stream, and the blocking echo (task.create with `wait`).
 */
import { randomUUID } from 'node:crypto';
import { arcBody, arcCall, echoWaitBody, queuedTaskBody, textMessage } from './http';
import { arcdEchoLoop, cannon, type LoadResult } from './load';
import type { ServerProcess } from './proc';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

export interface Workload {
  /** `arcd serve` flags the workload runs with. */
  flags: string[];
  load(server: ServerProcess, seconds: number): Promise<LoadResult>;
}

const noError = (body: string) => (JSON.parse(body) as { error: unknown }).error === null;

const load = (server: ServerProcess, seconds: number, body: () => string) =>
  cannon({ url: `${server.url}/arc`, connections: CONNECTIONS, seconds, body, check: noError });

/** Servers whose one turn slot a long slow task holds already (create-only). */
const held = new Set<string>();

/** The echo rows compared with a2a-js lift arcd's turn limit above the load's connections. */
const UNLIMITED = ['--concurrency', String(2 * CONNECTIONS)];

export const WORKLOADS: Record<string, Workload> = {
  // One turn at a time, held by a long slow task: the tasks created stay queued.
  'create-only': {
    flags: ['--concurrency', '1'],
    load: async (server, seconds) => {
      if (!held.has(server.url)) {
        held.add(server.url);
        await arcCall(server.url, 'task.create', 'slow', {
          initialMessage: textMessage('steps=10000'),
        });
      }
      return load(server, seconds, queuedTaskBody);
    },
  },
  'task.create': {
    flags: [],
    load: (server, seconds) =>
      load(server, seconds, () =>
        arcBody('task.create', 'echo', { initialMessage: textMessage(`hello ${randomUUID()}`) }),
      ),
  },
  'echo-e2e': {
    flags: UNLIMITED,
    load: (server, seconds) => arcdEchoLoop({ url: server.url, connections: CONNECTIONS, seconds }),
  },
  'echo-wait': {
    flags: UNLIMITED,
    load: (server, seconds) => load(server, seconds, echoWaitBody),
  },
};
