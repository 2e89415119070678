/**
 * Starts the real arcd app on port 0 with a fresh SQLite file, and talks to it over real HTTP.
 * Every server started here is closed after each test (a leak guard), so no test can leave one
 * running behind it.
 */
import pino from 'pino';
import type { AgentDefinition } from '../../src/agents/contract';
import type { Clock } from '../../src/clock';
import { type Config, loadConfig } from '../../src/config';
import { type ArcdServer, createServer } from '../../src/server';
import { tempDbFile } from './tempDb';

export interface Running {
  server: ArcdServer;
  url: string;
  db: string;
  close(): Promise<void>;
}

const open = new Set<Running>();

/**
 * JSON as it came off the wire: tests assert its shape key by key, so it is left untyped here
 * (the one `any` of the test suite).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WireJson = any;

export interface StartOptions {
  config?: Partial<Record<keyof Config, string | number>>;
  agents?: AgentDefinition[];
  /** Load the bundled agents folder (default true). */
  bundled?: boolean;
  db?: string;
  /** Time as the server sees it (schedules, deadlines, leases); the system clock by default. */
  clock?: Clock;
}

export async function startArcd(options: StartOptions = {}): Promise<Running> {
  const db = options.db ?? tempDbFile();
  const config = loadConfig({}, { port: 0, db, pollMs: 50, auth: 'off', ...options.config });
  const server = createServer(config, {
    agents: options.agents ?? [],
    loadAgentsDir: options.bundled !== false,
    logger: pino({ level: process.env.ARCD_TEST_LOG ?? 'silent' }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { url } = await server.listen();
  const running: Running = {
    server,
    url,
    db,
    close: async () => {
      open.delete(running);
      await server.close();
    },
  };
  open.add(running);
  return running;
}

afterEach(async () => {
  const left = [...open];
  await Promise.all(left.map((r) => r.close()));
});

export interface RawReply {
  status: number;
  contentType: string | null;
  body: WireJson;
  text: string;
}

/** POSTs raw bytes (or a JSON value) to a path of the server; parses JSON answers. */
export async function post(
  url: string,
  body: unknown,
  options: { path?: string; raw?: boolean; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  const response = await fetch(`${url}${options.path ?? '/arc'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/arc+json', ...options.headers },
    body: options.raw ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: parsed,
    text,
  };
}

let nextId = 1;

export interface CallOptions {
  targetAgent?: string;
  requestAgent?: string;
  id?: string | number;
  traceId?: string;
}

/** One ARC 1.0 call; returns the whole response envelope. */
export async function arcCall(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions = {},
): Promise<RawReply> {
  return post(url, {
    arc: '1.0',
    id: options.id ?? nextId++,
    method,
    requestAgent: options.requestAgent ?? 'tester',
    targetAgent: options.targetAgent ?? 'echo',
    params,
    ...(options.traceId ? { traceId: options.traceId } : {}),
  });
}

/** One ARC call that must succeed; returns its result. */
export async function arcResult(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: CallOptions = {},
): Promise<WireJson> {
  const reply = await arcCall(url, method, params, options);
  if (reply.status !== 200 || reply.body?.error) {
    throw new Error(`${method} failed: ${reply.status} ${reply.text}`);
  }
  return reply.body.result;
}

export function textMessage(text: string, role = 'user') {
  return { role, parts: [{ type: 'TextPart', content: text }] };
}

export async function createTask(
  url: string,
  agent: string,
  text: string,
  extra: Record<string, unknown> = {},
  options: CallOptions = {},
) {
  const result = await arcResult(
    url,
    'task.create',
    { initialMessage: textMessage(text), ...extra },
    { targetAgent: agent, ...options },
  );
  return result.task as { taskId: string; status: string };
}

export async function taskInfo(
  url: string,
  agent: string,
  taskId: string,
  options: CallOptions = {},
) {
  const result = await arcResult(url, 'task.info', { taskId }, { targetAgent: agent, ...options });
  return result.task as WireJson;
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function waitForStatus(
  url: string,
  agent: string,
  taskId: string,
  statuses: string[],
  options: CallOptions = {},
) {
  return waitFor(`task ${taskId} to reach ${statuses.join('|')}`, async () => {
    const task = await taskInfo(url, agent, taskId, options);
    return statuses.includes(task.status) ? task : undefined;
  });
}
