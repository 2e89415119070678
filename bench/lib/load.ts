/**
 * Load generators. `cannon` drives one request shape with autocannon (fixed connections, each
 * sending its next request when the last answer arrived) and builds every body itself, so each
 * request carries a fresh id; every answer is checked, and a non-2xx status or a body that fails
 * the check counts as an error. `arcdEchoLoop` is the closed-loop client for arcd's end-to-end
 * echo: see bench/README.md.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { arcBody, request, textMessage } from './http';
import { RawConnection } from './rawHttp';

export interface LoadResult {
  /** Units of work completed in the window (requests, or completed tasks). */
  count: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** What the errors were, for the report (first few distinct). */
  errorSamples: string[];
}

export interface CannonOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** The body of the next request: called once per request. */
  body: () => string;
  /** True when a 2xx answer's body is a correct, non-error answer. */
  check: (body: string) => boolean;
}

function noteError(samples: string[], what: string) {
  if (samples.length < 5 && !samples.includes(what)) samples.push(what);
}

export async function cannon(options: CannonOptions): Promise<LoadResult> {
  let bad = 0;
  const errorSamples: string[] = [];
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: options.seconds,
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: [
      {
        setupRequest: (req) => ({ ...req, method: 'POST', body: options.body() }),
        onResponse: (status: number, body: string) => {
          let ok = status >= 200 && status < 300;
          if (ok) {
            try {
              ok = options.check(body);
            } catch {
              ok = false;
            }
          }
          if (!ok) {
            bad += 1;
            noteError(errorSamples, `HTTP ${status} ${body.slice(0, 160)}`);
          }
        },
      },
    ],
  });
  const count = result.requests.total;
  const errors = bad + result.errors + result.timeouts;
  if (result.errors) noteError(errorSamples, `${result.errors} socket errors`);
  if (result.timeouts) noteError(errorSamples, `${result.timeouts} timeouts`);
  return {
    count,
    seconds: result.duration,
    perSecond: count / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors,
    errorSamples,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export interface SseFrame {
  event: string;
  data: string;
}

export function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) frames.push({ event, data: data.join('\n') });
  }
  return frames;
}

/** The last status a task's event stream reported (every arcd event carries data.status). */
export function finalStatus(sse: string): string | undefined {
  let status: string | undefined;
  for (const frame of parseSse(sse)) {
    const parsed = JSON.parse(frame.data) as { data?: { status?: string } };
    if (parsed.data?.status) status = parsed.data.status;
  }
  return status;
}

/** task.create for an echo task saying `text`. */
const echoCreateBody = (text: string) =>
  arcBody('task.create', 'echo', { initialMessage: textMessage(text) });

/** The id of the task a task.create answer (HTTP status and body) made, or what went wrong. */
function createdTaskId(status: number, body: string): { taskId: string } | { error: string } {
  if (status !== 200) return { error: `create HTTP ${status}` };
  const reply = JSON.parse(body) as { result?: { task: { taskId: string } }; error: unknown };
  if (reply.error || !reply.result) {
    return { error: `create ${JSON.stringify(reply.error).slice(0, 160)}` };
  }
  return { taskId: reply.result.task.taskId };
}

const eventsPath = (taskId: string) => `/arc/tasks/${taskId}/events?requestAgent=bench`;

/**
 * One echo task through arcd the way a client does it: task.create (POST /arc), then the task's
 * event stream (GET /arc/tasks/<id>/events), read until the server ends it after the terminal
 * event. Returns the task id and its final status.
 */
export async function arcdEchoTask(
  base: string,
  agent: http.Agent,
  text: string,
): Promise<{ taskId: string; status: string; error?: string }> {
  const answer = await request(`${base}/arc`, {
    method: 'POST',
    agent,
    body: echoCreateBody(text),
  });
  const created = createdTaskId(answer.status, answer.body);
  if ('error' in created) return { taskId: '', status: '', error: created.error };
  const { taskId } = created;
  const events = await request(`${base}${eventsPath(taskId)}`, { agent });
  if (events.status !== 200) return { taskId, status: '', error: `events HTTP ${events.status}` };
  return { taskId, status: finalStatus(events.body) ?? '' };
}

/** Whether an event stream ended on the task's COMPLETED status change (its last frame). */
export function endedCompleted(sse: string): boolean {
  const frames = parseSse(sse);
  const last = frames[frames.length - 1];
  if (!last || last.event !== 'STATUS_CHANGE') return false;
  return (JSON.parse(last.data) as { data?: { status?: string } }).data?.status === 'COMPLETED';
}

/**
 * One echo task as arcdEchoTask makes it, on a bare connection (rawHttp.ts): task.create, then
 * the task's event stream to its end. Only the create's answer and the stream's last frame are
 * parsed: the stream ends after the event that made the task terminal.
 */
async function rawEchoTask(connection: RawConnection, text: string): Promise<string | undefined> {
  const answer = await connection.send('POST', '/arc', echoCreateBody(text));
  const created = createdTaskId(answer.status, answer.body);
  if ('error' in created) return created.error;
  const events = await connection.send('GET', eventsPath(created.taskId));
  if (events.status !== 200) return `events HTTP ${events.status}`;
  return endedCompleted(events.body) ? undefined : `task ${created.taskId} did not end COMPLETED`;
}

/**
 * Closed loop: `connections` clients, each on its own keep-alive connection (rawHttp.ts), make
 * one echo task after another (create, then its event stream to the end) for `seconds`, then
 * finish the task in hand. A task counts when its stream ends on COMPLETED; latency is from
 * sending task.create to the end of the event stream. bench/run.ts checks one task with
 * arcdEchoTask (node:http, every frame parsed) before the loop starts.
 */
export async function arcdEchoLoop(options: {
  url: string;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const { hostname, port } = new URL(options.url);
  const started = performance.now();
  const stopAt = started + options.seconds * 1000;
  const client = async () => {
    let connection = new RawConnection(hostname, Number(port));
    try {
      while (performance.now() < stopAt) {
        const t0 = performance.now();
        try {
          const error = await rawEchoTask(connection, `echo ${randomUUID()}`);
          if (error === undefined) latencies.push(performance.now() - t0);
          else {
            errors += 1;
            noteError(errorSamples, error);
          }
        } catch (error) {
          errors += 1;
          noteError(errorSamples, String(error));
          connection.close();
          connection = new RawConnection(hostname, Number(port));
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    errorSamples,
  };
}
