/**
 * ArcClient, the TypeScript SDK for arcd (and any ARC 1.0 endpoint): typed calls over got with
 * explicit timeouts, retries only for read-only methods, typed errors per ARC code, chat
 * streams and task event streams as async iterators that resume after a dropped connection.
 */
import got, { type Got } from 'got';
import type { Message, Priority, Task } from '../types';
import { ArcClientError, ArcTransportError, toArcClientError } from './errors';
import { readSse } from './sse';

export interface ArcClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 (the ARC route is `<endpoint>/arc`). */
  endpoint: string;
  token?: string;
  /** Who is calling: the envelope's requestAgent. */
  requestAgent: string;
  timeoutMs?: number;
  /**
   * Streams (task.watch, chat replies) have no total time limit, only this one for silence:
   * no byte for this long (the server's heartbeats count) and a watch reconnects, a chat
   * stream fails (default 2 minutes).
   */
  streamIdleMs?: number;
  /** Attempts of read-only calls after a network failure or a 502/503/504 (default 2). */
  retries?: number;
  /**
   * A call refused for the caller's rate limit (-44007) was not run, whatever its method: it
   * is made again once the wait the server names has passed, this many times (default 2), when
   * that wait is at most `maxRateLimitWaitMs` (default 60 s); a watch waits so before it
   * reconnects, up to 20 refusals in a row (as many as network failures). 0 throws
   * RateLimitError at once.
   */
  rateLimitRetries?: number;
  maxRateLimitWaitMs?: number;
  /**
   * The largest answer a call reads (default 500 MiB, within the longest string V8 makes):
   * past it the call fails with ArcTransportError instead of holding whatever a server sends.
   * Calls ask for answers uncompressed. Event streams are bounded by event instead (256 Mi
   * characters).
   */
  maxResponseBytes?: number;
}

/** ArcClientOptions.maxResponseBytes's default. */
export const MAX_RESPONSE_BYTES = 500 * 1024 * 1024;

/** What a refused stream's answer is read of, for the ARC error in it: its first 1 MiB. */
const MAX_REFUSAL_BYTES = 1024 * 1024;

/** The wait a rate-limit refusal names (`details.retryAfterSeconds`), in ms; else undefined. */
function rateLimitWait(error: unknown): number | undefined {
  if (!(error instanceof ArcClientError) || error.code !== -44007) return undefined;
  const seconds = Number(error.details.retryAfterSeconds);
  // At least a quarter second: a gateway's `0` would have a watch refused twenty times at once.
  return Number.isFinite(seconds) ? Math.max(250, seconds * 1000) : 1000;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Failures in a row (network, or refusals for the rate limit) a watch tries again after. */
const WATCH_TRIES = 20;
/** A task's final statuses: its event stream ends after the event that reaches one. */
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELED']);
/** The header a task event stream ending with nothing more to send names its status in. */
const TASK_STATUS_HEADER = 'x-arc-task-status';
/** A stream open this long before a clean end was a working one, cut (not a failing server). */
const QUIET_STREAM_MS = 10_000;
/** Empty ends in a row, with no status said, after which a watch past `after` is over. */
const ENDS_TAKEN_AS_FINISHED = 3;

export interface TaskEvent {
  taskId: string;
  sequence: number;
  event: string;
  timestamp: string;
  data: { status: string; message: string; [key: string]: unknown };
}

export interface ChatChunk {
  chatId: string;
  delta: string;
}

const SAFE_METHODS = new Set([
  'task.info',
  'task.get',
  'task.runs',
  'task.events',
  'subscription.list',
  'delivery.list',
]);

function toMessage(message: string | Message): Message {
  return typeof message === 'string'
    ? { role: 'user', parts: [{ type: 'TextPart', content: message }] }
    : message;
}

interface ArcErrorBody {
  code: number;
  message: string;
  details?: Record<string, unknown>;
}

/** JSON text parsed, or undefined when it is not JSON. */
function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The ARC error a parsed body carries (`{error: {code, message}}`), if it carries one. */
function arcErrorIn(body: unknown): ArcErrorBody | undefined {
  const error = (body as { error?: Partial<ArcErrorBody> } | null | undefined)?.error;
  return typeof error?.code === 'number' && typeof error.message === 'string'
    ? (error as ArcErrorBody)
    : undefined;
}

/**
 * The ARC response to call `id` a body holds: `arc` 1.0, and a result for that id or an error
 * (for that id, or for none: a server that could not read the id answers `id: null`).
 */
function arcAnswerOf(
  text: string,
  id: number,
): { result?: unknown; error: ArcErrorBody | null } | undefined {
  const body = parsedOrUndefined(text) as Record<string, unknown> | null | undefined;
  if (typeof body !== 'object' || body === null || body.arc !== '1.0') return undefined;
  const error = body.error === null || body.error === undefined ? null : arcErrorIn(body);
  if (error === undefined) return undefined; // an error that is none of ARC's
  if (error) return body.id === id || body.id === null ? { error } : undefined;
  return body.id === id && 'result' in body ? { result: body.result, error } : undefined;
}

/**
 * An error event of a chat stream: ARC gives each the code -43005; arcd puts the error's own
 * code in `details.code`, whose class it is thrown as (ChatClosedError for a closed chat).
 */
function streamError(error: ArcErrorBody): ArcClientError {
  const own = error.details?.code;
  if (error.code !== -43005 || typeof own !== 'number') return toArcClientError(error);
  return toArcClientError({ code: own, message: error.message, details: error.details });
}

/**
 * The error of a stream the server refused (not 200): its ARC error when the body carries one;
 * a 502/503/504 without one (a proxy while the server restarts) as a network failure, which a
 * watch retries; else (an HTML page, express's `{error: "…"}`) -32603 naming the HTTP status.
 */
function refusalError(status: number, body: string): Error {
  const arc = arcErrorIn(parsedOrUndefined(body));
  if (arc) return toArcClientError(arc);
  if (status === 502 || status === 503 || status === 504) {
    return Object.assign(new Error(`HTTP ${status}`), { code: `EHTTP${status}` });
  }
  return toArcClientError({ code: -32603, message: `HTTP ${status}` });
}

/**
 * Resolves once a stream's answer is known: undefined for an event stream (or a network
 * failure, which its reader meets), else the refusal's error (refusalError): anything but a 200
 * `text/event-stream` (an error page, a web app's fallback page) is a refusal.
 */
function refusalOf(stream: ReturnType<Got['stream']>) {
  return new Promise<Error | undefined>((resolve) => {
    stream.once(
      'response',
      (response: { statusCode: number; headers: Record<string, unknown> }) => {
        const type = String(response.headers['content-type'] ?? '');
        if (response.statusCode === 200 && type.startsWith('text/event-stream')) {
          return resolve(undefined);
        }
        const chunks: Buffer[] = [];
        let length = 0;
        const refused = () => {
          const body = Buffer.concat(chunks).toString();
          resolve(refusalError(response.statusCode, body));
        };
        stream.on('data', (chunk: Buffer) => {
          if (length >= MAX_REFUSAL_BYTES) return;
          chunks.push(chunk);
          length += chunk.length;
          if (length >= MAX_REFUSAL_BYTES) {
            stream.destroy(); // enough to know it is a refusal; the rest is not read
            refused();
          }
        });
        stream.on('end', refused);
      },
    );
    stream.once('error', () => resolve(undefined));
  });
}

/**
 * A stream's SSE messages, or its refusal's error (refusalOf): also when reading it failed
 * because the refusal was read to its cap and the stream closed. The stream is destroyed once
 * read, however its reading ends: got leaves one that ended well undestroyed, its listener on
 * the caller's signal kept.
 */
async function* messagesOf(stream: ReturnType<Got['stream']>) {
  const refusal = refusalOf(stream);
  try {
    try {
      yield* readSse(stream);
    } catch (error) {
      throw (await refusal) ?? error;
    }
    const refused = await refusal;
    if (refused) throw refused;
  } finally {
    stream.destroy();
  }
}

/** An event stream's data as its event: data that is none (a proxy's page) is a transport error. */
function eventOf(data: string, taskId: string): TaskEvent {
  try {
    return JSON.parse(data) as TaskEvent;
  } catch (error) {
    throw new ArcTransportError(`watch ${taskId}: an event that is not JSON`, { cause: error });
  }
}

export class ArcClient {
  private readonly http: Got;
  /** For streams: no total time limit (a watch may wait for hours), only one for silence. */
  private readonly streams: Got;
  private nextId = 1;

  constructor(private readonly options: ArcClientOptions) {
    const headers = options.token ? { authorization: `Bearer ${options.token}` } : {};
    this.http = got.extend({
      headers,
      timeout: { request: options.timeoutMs ?? 30_000 },
      throwHttpErrors: false,
      // Answers as sent: got stops telling a compressed answer's progress once the inflated
      // bytes pass the compressed length, which would leave maxResponseBytes unchecked.
      decompress: false,
    });
    this.streams = got.extend({
      headers,
      timeout: { socket: options.streamIdleMs ?? 120_000 },
      throwHttpErrors: false,
    });
  }

  private get base(): string {
    return this.options.endpoint.replace(/\/$/, '');
  }

  private get arcUrl(): string {
    return `${this.base}/arc`;
  }

  private envelope(method: string, targetAgent: string, params: object) {
    return {
      arc: '1.0',
      id: this.nextId++,
      method,
      requestAgent: this.options.requestAgent,
      targetAgent,
      params,
    };
  }

  /**
   * A rate-limit refusal's wait when another try is due (see rateLimitRetries), else undefined;
   * `allowed`: tries after refusals in a row (a watch's are its network failures' 20).
   */
  private rateLimitRetry(
    error: unknown,
    tried: number,
    allowed = this.options.rateLimitRetries ?? 2,
  ): number | undefined {
    const wait = rateLimitWait(error);
    if (wait === undefined || tried >= allowed) return undefined;
    return wait <= (this.options.maxRateLimitWaitMs ?? 60_000) ? wait : undefined;
  }

  /** One ARC call; resolves to its result or throws the ARC error's class. */
  async call<T = unknown>(method: string, targetAgent: string, params: object): Promise<T> {
    for (let tried = 0; ; tried += 1) {
      try {
        return await this.callOnce<T>(method, targetAgent, params);
      } catch (error) {
        const wait = this.rateLimitRetry(error, tried);
        if (wait === undefined) throw error;
        await sleep(wait);
      }
    }
  }

  private async callOnce<T>(method: string, targetAgent: string, params: object): Promise<T> {
    const safe = SAFE_METHODS.has(method);
    const request = this.envelope(method, targetAgent, params);
    const max = this.options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    const pending = this.http.post(this.arcUrl, {
      json: request,
      headers: { 'content-type': 'application/arc+json' },
      retry: safe
        ? { limit: this.options.retries ?? 2, methods: ['POST'], statusCodes: [502, 503, 504] }
        : { limit: 0 },
    });
    let tooLarge = false;
    pending.on('downloadProgress', ({ transferred, total }) => {
      if (tooLarge || (transferred <= max && (total ?? 0) <= max)) return;
      tooLarge = true; // declared or sent: what is not read yet is not read
      pending.cancel();
    });
    let response;
    try {
      response = await pending;
    } catch (error) {
      const why = tooLarge
        ? `the answer is larger than maxResponseBytes (${max} bytes)`
        : (error as Error).message;
      throw new ArcTransportError(`${method}: ${why}`, { cause: error });
    }
    if (response.statusCode !== 200) {
      // An ARC error under another status (a gateway in front of the server): its own class.
      const refused = arcErrorIn(parsedOrUndefined(response.body));
      if (refused) throw toArcClientError(refused);
      throw new ArcTransportError(`${method}: HTTP ${response.statusCode}`, {
        status: response.statusCode,
      });
    }
    const body = arcAnswerOf(response.body, request.id);
    if (!body) {
      // A 200 that is no answer to this call (a web app's page, a proxy's JSON): not a result.
      throw new ArcTransportError(`${method}: the answer is not an ARC response to this call`, {
        status: response.statusCode,
      });
    }
    if (body.error) throw toArcClientError(body.error);
    return body.result as T;
  }

  readonly task = {
    create: async (
      agent: string,
      message: string | Message,
      options: {
        priority?: Priority;
        metadata?: object;
        settings?: object;
        deadline?: string;
        dependencies?: string[];
      } = {},
    ): Promise<Task> =>
      (
        await this.call<{ task: Task }>('task.create', agent, {
          initialMessage: toMessage(message),
          ...options,
        })
      ).task,
    send: (agent: string, taskId: string, message: string | Message) =>
      this.call<{ success: boolean }>('task.send', agent, { taskId, message: toMessage(message) }),
    info: async (
      agent: string,
      taskId: string,
      options: {
        includeMessages?: boolean;
        includeArtifacts?: boolean;
        includeRuns?: boolean;
      } = {},
    ): Promise<Task> =>
      (await this.call<{ task: Task }>('task.info', agent, { taskId, ...options })).task,
    cancel: async (agent: string, taskId: string, reason?: string): Promise<Task> =>
      (
        await this.call<{ task: Task }>('task.cancel', agent, {
          taskId,
          ...(reason ? { reason } : {}),
        })
      ).task,
    subscribe: async (
      agent: string,
      taskId: string,
      callbackUrl: string,
      options: { events?: string[]; secret?: string; replay?: boolean } = {},
    ) =>
      (
        await this.call<{ subscription: { subscriptionId: string; secret: string } }>(
          'task.subscribe',
          agent,
          {
            taskId,
            callbackUrl,
            ...options,
          },
        )
      ).subscription,
    /** The caller's tasks, newest first; pass `nextCursor` back as `cursor` for the next page. */
    list: (agent: string, filter: Record<string, unknown> = {}) =>
      this.call<{ tasks: Task[]; nextCursor?: string }>('task.list', agent, filter),
    update: async (
      agent: string,
      taskId: string,
      changes: {
        priority?: Priority;
        metadata?: object;
        settings?: object;
        deadline?: string | null;
      },
    ): Promise<Task> =>
      (await this.call<{ task: Task }>('task.update', agent, { taskId, ...changes })).task,
    /** `deadline`: the new run's (null: none); without it the task keeps its own. */
    retry: async (agent: string, taskId: string, deadline?: string | null): Promise<Task> =>
      (
        await this.call<{ task: Task }>(
          'task.retry',
          agent,
          deadline === undefined ? { taskId } : { taskId, deadline },
        )
      ).task,
    /** `force` drops webhook deliveries and a `stopped` hook still owed for the task (else -42006). */
    delete: async (agent: string, taskId: string, options: { force?: boolean } = {}) => {
      await this.call('task.delete', agent, options.force ? { taskId, force: true } : { taskId });
    },
    runs: async (agent: string, taskId: string) =>
      (await this.call<{ runs: unknown[] }>('task.runs', agent, { taskId })).runs,
    /** One page of the task's stored events after `after` (see eventPage for the rest). */
    events: async (agent: string, taskId: string, after = 0) =>
      (await this.call<{ events: unknown[] }>('task.events', agent, { taskId, after })).events,
    /** A page of stored events, and whether more follow it (ask again after its last). */
    eventPage: async (
      agent: string,
      taskId: string,
      options: { after?: number; limit?: number } = {},
    ): Promise<{ events: unknown[]; more: boolean }> => {
      const page = await this.call<{ events: unknown[]; more?: boolean }>('task.events', agent, {
        taskId,
        ...options,
      });
      return { events: page.events, more: page.more === true };
    },
    /** The task's events, stored then live; reconnects after a drop and resumes after the last seen. */
    watch: (taskId: string, options: { after?: number; signal?: AbortSignal } = {}) =>
      this.watchEvents(taskId, options),
    /**
     * Resolves with the task once it reaches COMPLETED, FAILED or CANCELED; rejects with the
     * signal's reason once it is aborted first.
     */
    wait: async (
      agent: string,
      taskId: string,
      options: { signal?: AbortSignal } = {},
    ): Promise<Task> => {
      for await (const event of this.watchEvents(taskId, options)) void event;
      options.signal?.throwIfAborted();
      return this.task.info(agent, taskId);
    },
  };

  readonly chat = {
    start: async (
      agent: string,
      message: string | Message,
      options: { chatId?: string; metadata?: object } = {},
    ) =>
      (
        await this.call<{ chat: { chatId: string; message?: Message } }>('chat.start', agent, {
          initialMessage: toMessage(message),
          ...options,
        })
      ).chat,
    message: async (agent: string, chatId: string, message: string | Message) =>
      (
        await this.call<{ chat: { chatId: string; message?: Message } }>('chat.message', agent, {
          chatId,
          message: toMessage(message),
        })
      ).chat,
    end: async (agent: string, chatId: string, reason?: string) =>
      (
        await this.call<{ chat: { chatId: string; status: string } }>('chat.end', agent, {
          chatId,
          ...(reason ? { reason } : {}),
        })
      ).chat,
    /** chat.start with streaming: the reply's chunks as they come. */
    startStream: (agent: string, message: string | Message, options: { chatId?: string } = {}) =>
      this.chatStream('chat.start', agent, { initialMessage: toMessage(message), ...options }),
    /** chat.message with streaming: the reply's chunks as they come. */
    messageStream: (agent: string, chatId: string, message: string | Message) =>
      this.chatStream('chat.message', agent, { chatId, message: toMessage(message) }),
  };

  /**
   * A streamed chat call. Refused for the rate limit before anything came (the call was not
   * run), it is made again as call() makes any call again (rateLimitRetries).
   */
  private async *chatStream(
    method: string,
    agent: string,
    params: object,
  ): AsyncIterable<ChatChunk> {
    for (let tried = 0; ; tried += 1) {
      let yielded = false;
      try {
        for await (const chunk of this.chatStreamOnce(method, agent, params)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (error) {
        const wait = yielded ? undefined : this.rateLimitRetry(error, tried);
        if (wait === undefined) throw error;
        await sleep(wait);
      }
    }
  }

  private async *chatStreamOnce(
    method: string,
    agent: string,
    params: object,
  ): AsyncIterable<ChatChunk> {
    const stream = this.streams.stream.post(this.arcUrl, {
      json: this.envelope(method, agent, { ...params, stream: true }),
      headers: { 'content-type': 'application/arc+json' },
      retry: { limit: 0 },
    });
    try {
      // Not a stream (an error page, a proxy's answer): its error, not a reply that never comes.
      for await (const message of messagesOf(stream)) {
        const data = JSON.parse(message.data) as {
          chatId: string;
          message?: Message;
          error?: { code: number; message: string; details?: Record<string, unknown> };
        };
        if (message.event === 'stream') {
          const part = data.message?.parts[0];
          yield { chatId: data.chatId, delta: String(part?.content ?? '') };
        } else if (message.event === 'error' && data.error) throw streamError(data.error);
        else if (message.event === 'done') return;
      }
    } catch (error) {
      // As call() does: the ARC errors as their classes, every other failure (refused, reset,
      // timed out, a gateway's 502, data that is no JSON) as an ArcTransportError.
      if (error instanceof ArcClientError || error instanceof ArcTransportError) throw error;
      throw new ArcTransportError(`${method}: ${(error as Error).message}`, { cause: error });
    }
    throw new ArcTransportError(`${method}: the stream ended before its done event`);
  }

  private async *watchEvents(
    taskId: string,
    options: { after?: number; signal?: AbortSignal },
  ): AsyncIterable<TaskEvent> {
    let last = options.after ?? 0;
    let failures = 0;
    /** Rate-limit refusals in a row (see rateLimitRetries). */
    let limited = 0;
    // Whether the task's own last event seen finished it (a child's, in a parent's log, does not).
    let ended = false;
    const url = `${this.base}/arc/tasks/${encodeURIComponent(taskId)}/events?requestAgent=${encodeURIComponent(this.options.requestAgent)}`;
    for (;;) {
      if (options.signal?.aborted) return;
      const stream = this.streams.stream(url, {
        headers: { 'last-event-id': String(last) },
        retry: { limit: 0 },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const openedAt = Date.now();
      let statusAtEnd = '';
      stream.once('response', (response: { headers: Record<string, unknown> }) => {
        statusAtEnd = String(response.headers[TASK_STATUS_HEADER] ?? '');
      });
      let received = 0;
      try {
        for await (const message of messagesOf(stream)) {
          if (message.data === '') continue; // an `id:` line alone: no event
          const event = eventOf(message.data, taskId);
          last = event.sequence;
          received += 1;
          failures = 0;
          limited = 0;
          // As the server ends a stream: on the task's own STATUS_CHANGE to a final status
          // (its TASK_COMPLETED, say, comes just before it; a child's, in a parent's log, is
          // not the parent's end).
          if (event.data.childTaskId === undefined && event.event === 'STATUS_CHANGE') {
            ended = FINAL.has(event.data.status);
          }
          yield event;
        }
        limited = 0; // served: the refusals counted are those in a row
        // The server ends a stream after the event that finished the task, or, when there is
        // nothing more to send of a finished task, with its status in a header. Any other
        // clean end (a proxy's, a restart's) cut it: resume after the last event.
        if (ended || FINAL.has(statusAtEnd)) return;
        // A stream that stayed open a while was no failure (a proxy capping its length).
        const cutAtOnce = received === 0 && Date.now() - openedAt < QUIET_STREAM_MS;
        failures = cutAtOnce ? failures + 1 : 0;
        // A server that does not say so (an older arcd, a proxy dropping the header) ends a
        // stream resumed past a finished task's last event at once, every time: after a few
        // such ends in a row with nothing past `after`, that is taken as the task's end.
        const unsaid = !statusAtEnd && last > 0 && last === options.after;
        if (cutAtOnce && unsaid && failures >= ENDS_TAKEN_AS_FINISHED) return;
        if (failures > WATCH_TRIES) {
          throw new ArcTransportError(`watch ${taskId}: the stream keeps ending`);
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        // Refused for the rate limit (opening a stream counts as a call): opened again once
        // the wait named has passed.
        const allowed = this.options.rateLimitRetries === 0 ? 0 : WATCH_TRIES;
        const wait = this.rateLimitRetry(error, limited, allowed);
        if (wait !== undefined) {
          limited += 1;
          await sleep(wait, options.signal);
          continue;
        }
        if (
          !(error instanceof Error) ||
          'code' in error === false ||
          typeof (error as { code: unknown }).code === 'number'
        ) {
          throw error;
        }
        // A network failure (reset, refused, server restarting): resume after the last event.
        failures += received > 0 ? 0 : 1;
        if (failures > WATCH_TRIES)
          throw new ArcTransportError(`watch ${taskId}: ${error.message}`, { cause: error });
      }
      await sleep(Math.min(100 * 2 ** failures, 2_000), options.signal);
    }
  }
}
