/**
 * The arcd (and floor) loads, defined once for bench/run.ts, bench/profile.ts and bench/ab.ts,
 * named as in profile.ts: the durable create path alone, task.create with its echo turns
 * running, the echo end to end over its event stream, and the blocking echo (task.create with
 * `wait`). Each answer is checked for the status the workload expects, not only for `error`.
 */
import { randomUUID } from 'node:crypto';
import { arcBody, arcCall, echoWaitBody, queuedTaskBody, textMessage } from './http';
import { arcdEchoLoop, cannon, type LoadResult } from './load';
import type { ServerProcess } from './proc';

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

export interface Workload {
  /** `arcd serve` flags the workload runs with. */
  flags: string[];
  load(server: ServerProcess, seconds: number): Promise<LoadResult>;
}

/** A task.create for the echo agent with a fresh text: floor-node and floor-sqlite answer it too. */
export const createEchoBody = () =>
  arcBody('task.create', 'echo', { initialMessage: textMessage(`hello ${randomUUID()}`) });

/** The answer carries no error and a task in `status`. */
export const answeredWith = (status: string) => (body: string) => {
  const reply = JSON.parse(body) as { error: unknown; result?: { task?: { status?: string } } };
  return reply.error === null && reply.result?.task?.status === status;
};

/** autocannon on /arc with the bench's connections, one fresh body per request. */
export const arcLoad = (
  server: ServerProcess,
  seconds: number,
  body: () => string,
  check: (body: string) => boolean,
) => cannon({ url: `${server.url}/arc`, connections: CONNECTIONS, seconds, body, check });

/** Servers whose one turn slot a long slow task holds already (create-only). */
const held = new Set<string>();

/** Starts the long slow task that holds a create-only server's one turn slot (once a server). */
export async function holdTheTurnSlot(server: ServerProcess) {
  if (held.has(server.url)) return;
  const holder = await arcCall<{ task: { taskId: string } }>(server.url, 'task.create', 'slow', {
    initialMessage: textMessage('steps=10000'),
  });
  if (!holder.task.taskId.startsWith('task-')) throw new Error('slot holder not created');
  held.add(server.url);
}

/** The echo rows compared with a2a-js lift arcd's turn limit above the load's connections. */
export const UNLIMITED = ['--concurrency', String(2 * CONNECTIONS)];

export const WORKLOADS: Record<string, Workload> = {
  // One turn at a time, held by a long slow task: the tasks created stay queued (the runner,
  // full, does not even look), so the figure is the durable create path alone.
  'create-only': {
    flags: ['--concurrency', '1'],
    load: async (server, seconds) => {
      await holdTheTurnSlot(server);
      return arcLoad(server, seconds, queuedTaskBody, answeredWith('SUBMITTED'));
    },
  },
  'task.create': {
    flags: [],
    load: (server, seconds) => arcLoad(server, seconds, createEchoBody, answeredWith('SUBMITTED')),
  },
  'echo-e2e': {
    flags: UNLIMITED,
    load: (server, seconds) => arcdEchoLoop({ url: server.url, connections: CONNECTIONS, seconds }),
  },
  'echo-wait': {
    flags: UNLIMITED,
    load: (server, seconds) => arcLoad(server, seconds, echoWaitBody, answeredWith('COMPLETED')),
  },
};
