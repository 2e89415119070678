/**
 * The arcd (and floor) loads, defined once for bench/run.ts, bench/profile.ts and bench/ab.ts,
 * named as in profile.ts: the durable create path alone, task.create with its echo turns
 * running, the echo end to end over its event stream, and the blocking echo (task.create with
 * `wait`). Each answer is checked for the status the workload expects, not only for `error`.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
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
  headers?: Record<string, string>,
) =>
  cannon({
    url: `${server.url}/arc`,
    connections: CONNECTIONS,
    seconds,
    body,
    check,
    ...(headers ? { headers } : {}),
  });

/** The HS256 secret `create-only-deployed` servers verify the bench's bearer JWT with. */
const JWT_SECRET = 'the bench secret, long enough for HS256 signatures';
let bearer: Promise<Record<string, string>> | undefined;

/** The bench caller's Authorization header: a JWT for `bench` with the task scopes. */
export function benchAuth(): Promise<Record<string, string>> {
  bearer ??= new SignJWT({ sub: 'bench', scope: 'arc.task.controller arc.agent.caller' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(JWT_SECRET))
    .then((token) => ({ authorization: `Bearer ${token}` }));
  return bearer;
}

/** Servers whose one turn slot a long slow task holds already (create-only). */
const held = new Set<string>();

/** Starts the long slow task that holds a create-only server's one turn slot (once a server). */
export async function holdTheTurnSlot(server: ServerProcess, headers?: Record<string, string>) {
  if (held.has(server.url)) return;
  const holder = await arcCall<{ task: { taskId: string } }>(
    server.url,
    'task.create',
    'slow',
    { initialMessage: textMessage('steps=10000') },
    undefined,
    headers,
  );
  if (!holder.task.taskId.startsWith('task-')) throw new Error('slot holder not created');
  held.add(server.url);
}

/** The echo rows compared with a2a-js lift arcd's turn limit above the load's connections. */
export const UNLIMITED = ['--concurrency', String(2 * CONNECTIONS)];

/** One turn at a time: the create-only loads hold that one slot with a long slow task. */
const ONE_SLOT = ['--concurrency', '1'];

export const WORKLOADS: Record<string, Workload> = {
  // One turn at a time, held by a long slow task: the tasks created stay queued (the runner,
  // full, does not even look), so the figure is the durable create path alone.
  'create-only': {
    flags: ONE_SLOT,
    load: async (server, seconds) => {
      await holdTheTurnSlot(server);
      return arcLoad(server, seconds, queuedTaskBody, answeredWith('SUBMITTED'));
    },
  },
  // The same as deployed: a bearer JWT on every call (verified, then remembered) and the rate
  // limit on (per identity; set high enough never to refuse the bench).
  'create-only-deployed': {
    flags: [
      ...ONE_SLOT,
      '--auth',
      'required',
      '--jwt-secret',
      JWT_SECRET,
      '--rate-limit-per-minute',
      '1000000000',
    ],
    load: async (server, seconds) => {
      const auth = await benchAuth();
      await holdTheTurnSlot(server, auth);
      return arcLoad(server, seconds, queuedTaskBody, answeredWith('SUBMITTED'), auth);
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
