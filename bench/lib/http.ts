/** Minimal node:http client helpers over keep-alive agents (no fetch: its pool is opaque). */
import { randomUUID } from 'node:crypto';
import http from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export function request(
  url: string,
  options: {
    method?: string;
    body?: string;
    headers?: http.OutgoingHttpHeaders;
    agent?: http.Agent;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(options.body);
    }
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.end(options.body);
  });
}

let nextId = 0;

/** One ARC call; throws on a transport failure or an ARC error envelope. */
export async function arcCall<T = Record<string, unknown>>(
  base: string,
  method: string,
  targetAgent: string,
  params: object,
  agent?: http.Agent,
  headers?: http.OutgoingHttpHeaders,
): Promise<T> {
  const reply = await request(`${base}/arc`, {
    method: 'POST',
    body: arcBody(method, targetAgent, params, `setup-${++nextId}`),
    ...(agent ? { agent } : {}),
    ...(headers ? { headers } : {}),
  });
  if (reply.status !== 200) throw new Error(`${method}: HTTP ${reply.status} ${reply.body}`);
  const parsed = JSON.parse(reply.body) as { result: T; error: unknown };
  if (parsed.error) throw new Error(`${method}: ${JSON.stringify(parsed.error)}`);
  return parsed.result;
}

/** One ARC 1.0 request body from the bench's caller, with a fresh id unless given one. */
export function arcBody(
  method: string,
  targetAgent: string,
  params: object,
  id: string = randomUUID(),
): string {
  return JSON.stringify({ arc: '1.0', id, method, requestAgent: 'bench', targetAgent, params });
}

export const textMessage = (text: string) => ({
  role: 'user',
  parts: [{ type: 'TextPart', content: text }],
});

/** A blocking echo task: task.create with `wait`, a fresh text each time. */
export const echoWaitBody = () =>
  arcBody('task.create', 'echo', {
    initialMessage: textMessage(`hello ${randomUUID()}`),
    wait: 30_000,
  });

/** A one-step `slow` task, which stays queued while the engine's one slot is held. */
export const queuedTaskBody = () =>
  arcBody('task.create', 'slow', { initialMessage: textMessage(`steps=1 ${randomUUID()}`) });
