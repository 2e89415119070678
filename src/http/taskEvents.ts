/**
 * GET /arc/tasks/<taskId>/events: a task's stored events, then new ones live, as Server-Sent
 * Events with `id: <sequence>`. `Last-Event-ID` (or `?after=`) resumes exactly after that
 * event; heartbeat comments keep idle connections open; the stream ends after the event that
 * made the task terminal. Same auth and visibility as task.info; errors are plain HTTP here.
 * Served on plain node:http ahead of express, like POST /arc (a stream per followed task).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuthOutcome, Authenticator } from '../auth/authenticator';
import type { RateLimiter } from './rateLimiter';
import type { OpenStreams } from './openStreams';
import { scopeRefusal } from '../auth/principal';
import type { EventRecord } from '../store/records';
import type { Store } from '../store/store';
import type { EventFeed } from '../tasks/eventFeed';
import type { RecentTaskLogs } from '../tasks/recentTaskLogs';
import { formatSse } from '../rpc/sseResult';
import { isTerminal } from '../tasks/states';
import type { TaskStatus } from '../types';
import { type HeaderList, drained, setHeaders, writeJson } from './writeAnswer';

export interface TaskEventsOptions {
  store: Store;
  feed: EventFeed;
  logs: RecentTaskLogs;
  authenticator: Authenticator;
  /** Opening a stream is a call: counted in its caller's budget, as POST /arc's calls are. */
  limiter: RateLimiter;
  /** Streams each caller (as the limiter counts callers) holds open: bounded. */
  openStreams: OpenStreams;
  heartbeatMs: number;
  securityHeaders: HeaderList;
  logger: Logger;
}

/** Seconds a caller at its open-stream limit is told to wait before it opens another. */
const FULL_RETRY_AFTER_S = 5;

const SSE_HEADERS: HeaderList = [
  ['Content-Type', 'text/event-stream'],
  ['Cache-Control', 'no-cache'],
  ['Connection', 'keep-alive'],
  ['X-Accel-Buffering', 'no'],
];

/**
 * A live stream whose reader lets more than this wait unsent is cut (what waits is dropped):
 * its client resumes after the last event it did get (Last-Event-ID), instead of the server
 * holding every later event of the task, or a stalled reader's backlog, for it.
 */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/**
 * A stored replay is read and written a page at a time: a task's log can hold many large
 * files, more than fits in memory at once, or in one string (V8 caps a string at ~512 MB).
 * With more than REPLAY_UNSENT_BYTES unsent, the next page waits until the reader has taken
 * it all.
 */
const REPLAY_PAGE = { events: 256, bytes: 4 * 1024 * 1024 };
const REPLAY_UNSENT_BYTES = 1024 * 1024;

const ROUTE = /^\/arc\/tasks\/([^/]+)\/events\/?$/;

/** The task id of a GET /arc/tasks/<taskId>/events request, or undefined for any other. */
function routedTaskId(req: IncomingMessage): string | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  const match = ROUTE.exec((req.url ?? '').split('?', 1)[0] ?? '');
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return undefined; // a malformed escape: not this route (express answers 404)
  }
}

function frame(event: EventRecord): string {
  return formatSse({
    id: event.seq,
    event: event.type,
    data: {
      taskId: event.taskId,
      sequence: event.seq,
      event: event.type,
      timestamp: event.createdAt,
      data: event.data,
    },
  });
}

/** The task's own terminal status change (not a child's, mirrored into a parent's log). */
/** Sent on a stream that ends without a final event of its own: the finished task's status. */
export const TASK_STATUS_HEADER = 'X-ARC-Task-Status';

function endsStream(event: EventRecord): boolean {
  const status = event.data.status as TaskStatus | undefined;
  return (
    event.type === 'STATUS_CHANGE' &&
    status !== undefined &&
    isTerminal(status) &&
    event.data.childTaskId === undefined
  );
}

/**
 * Whether the events replayed after `after` and those reported since (`pending`, in any
 * order, overlapping the replay or not) make one run without a hole.
 */
export function followsOn(after: number, replayed: EventRecord[], pending: EventRecord[]): boolean {
  let next = after + 1;
  for (const event of replayed) if (event.seq === next) next += 1;
  if (pending.length === 0) return true;
  const reported = pending.map((event) => event.seq).sort((a, b) => a - b);
  for (const seq of reported) {
    if (seq > next) return false;
    if (seq === next) next += 1;
  }
  return true;
}

/** Whether the token a stream was opened with still lets its caller read it (auth off: yes). */
async function stillAllowed(
  authenticator: Authenticator,
  opened: AuthOutcome,
  req: IncomingMessage,
): Promise<boolean> {
  if (opened.mode !== 'authenticated') return true;
  const now = await authenticator.authenticate(req.headers.authorization);
  return (
    now.mode === 'authenticated' &&
    now.principal.identity === opened.principal.identity &&
    !scopeRefusal(now.principal, 'task.events')
  );
}

/** Returns false for requests it does not take; the caller hands those to express. */
export function createTaskEventsHandler(options: TaskEventsOptions) {
  const fail = (
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    details: Record<string, unknown> = {},
  ) => writeJson(res, status, { error: { code, message, details } }, options.securityHeaders);

  /** 429, with the wait its details name as Retry-After. */
  const tooMany = (
    res: ServerResponse,
    code: number,
    message: string,
    details: Record<string, unknown>,
  ) => {
    const { retryAfterSeconds } = details as { retryAfterSeconds?: number };
    if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
    fail(res, 429, code, message, details);
  };

  const notFound = (res: ServerResponse, taskId: string) =>
    fail(res, 404, -42001, `Task not found: ${taskId}`, { taskId });

  async function stream(req: IncomingMessage, res: ServerResponse, taskId: string) {
    const auth = await options.authenticator.authenticate(req.headers.authorization);
    const rate = await options.limiter.check(auth, req, 1);
    for (const [name, value] of rate.headers) res.setHeader(name, value);
    if (rate.error) {
      tooMany(res, rate.error.code, rate.error.message, rate.error.details);
      return;
    }
    if (auth.mode === 'failed') {
      fail(res, 401, auth.error.code, auth.error.message, auth.error.details);
      return;
    }
    // The scopes task.events asks for: this stream is the same reading.
    const refused = auth.mode === 'authenticated' && scopeRefusal(auth.principal, 'task.events');
    if (refused) {
      fail(res, 403, refused.code, refused.message, refused.details);
      return;
    }
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const caller =
      auth.mode === 'authenticated'
        ? auth.principal.identity
        : (query.get('requestAgent') ?? header('x-arc-request-agent') ?? '');
    const admin = auth.mode === 'authenticated' && auth.principal.admin;
    // Who may see a task never changes: a log kept here answers that without a read.
    const task = options.logs.peek(taskId) ?? (await options.store.getTask(taskId));
    if (!task || !(admin || caller === task.requestAgent || caller === task.assignedAgent)) {
      notFound(res, taskId);
      return;
    }
    const from = header('last-event-id') ?? query.get('after') ?? '0';
    let after = Number(from);
    if (!Number.isInteger(after) || after < 0) {
      fail(res, 400, -32602, 'Last-Event-ID / after must be a sequence number', { after: from });
      return;
    }
    if (after > task.lastSeq) {
      // Past the task's last event (another task's id, a reset database): the caller has seen
      // everything there is, so the stream follows on from the last event. Skipping every
      // sequence up to `after` would skip the terminal one too, and never end.
      const stored = await options.store.getTask(taskId);
      after = Math.min(after, stored?.lastSeq ?? after);
    }

    const release = options.openStreams.take(options.limiter.callerKey(auth, req));
    if (!release) {
      const { limit } = options.openStreams;
      const message = `Too many open event streams: ${limit} at once for this caller`;
      tooMany(res, -44007, message, { limit, retryAfterSeconds: FULL_RETRY_AFTER_S });
      return;
    }
    res.once('close', release); // whatever ends the stream, a failure setting it up included

    // Headers are set, not written: they go out with the first frames (or the flush below),
    // so a stream that is whole at once can still be given a length.
    res.statusCode = 200;
    setHeaders(res, options.securityHeaders);
    setHeaders(res, SSE_HEADERS);
    let sent = after;
    /** Whether the newest of the task's own events sent is its end (a terminal status change). */
    let atEnd = false;
    let closed = false;
    const pending: EventRecord[] = [];
    let replaying = true;
    /** Whether reports are kept while replaying: not while a replay waits for its reader. */
    let keeping = true;
    const stop = () => {
      closed = true;
      watch.stop();
      clearInterval(heartbeat);
      release();
    };
    const finish = (last?: string) => {
      if (closed) return;
      stop();
      // A stream known whole before anything went out (a finished task replayed): headers and
      // frames in one write with a length, instead of chunks and a terminating chunk.
      if (!res.headersSent) res.setHeader('Content-Length', Buffer.byteLength(last ?? ''));
      res.end(last);
    };
    /** Frames of the events not yet sent, noting them as sent. */
    const framed = (events: EventRecord[]): string => {
      let text = '';
      for (const event of events) {
        if (event.seq <= sent) continue;
        text += frame(event);
        sent = event.seq;
        // A parent's children's events, copied into its log, may follow its end; a retried
        // task's end is followed by more of its own.
        if (event.data.childTaskId === undefined) atEnd = endsStream(event);
      }
      return text;
    };
    /**
     * Writes `held` and the events not yet sent as one write (one chunk); ends the stream once
     * the task's newest own event sent is its end.
     */
    const deliver = (events: EventRecord[], held = '') => {
      if (closed) return;
      if (res.writableLength > MAX_UNSENT_BYTES) {
        // Its reader has not taken what it was sent before: cut, not queued behind that.
        stop();
        res.destroy();
        return;
      }
      const batch = held + framed(events);
      if (atEnd) finish(batch);
      else if (batch) res.write(batch);
    };
    /**
     * Resolves at once while no more than REPLAY_UNSENT_BYTES wait unsent, else once the reader
     * has taken them all ('drain') or the stream is gone.
     */
    const replayDrained = () =>
      closed || res.writableLength <= REPLAY_UNSENT_BYTES ? Promise.resolve() : drained(res);
    /** Ends the replay: what it holds and what was reported meanwhile go out, in order. */
    const endReplay = (held: string) => {
      replaying = false;
      deliver(
        pending.sort((a, b) => a.seq - b.seq),
        held,
      );
      pending.length = 0;
      watch.caughtUp(sent); // the next commit's events follow on from the replay, without a read
    };
    /**
     * The stored events after `sent`, a page at a time, each page written once the reader has
     * taken the one before; the last page goes out with what was reported meanwhile (and a
     * finished task's whole replay as one write with a length, when it fits one page).
     */
    const replayStored = async (): Promise<void> => {
      for (;;) {
        // Everything reported so far was committed before this read begins: it reads them.
        pending.length = 0;
        keeping = true;
        const page = await options.store.eventPage(taskId, sent, REPLAY_PAGE);
        if (closed) return;
        const text = framed(page.events);
        // Read again while more was there, or while what was reported since the read began
        // (each report after its commit) does not follow on from it: another process wrote
        // in between. The next read begins afresh, so a hole the database cannot fill (the
        // task deleted) is not looked for twice.
        if (!page.more && followsOn(sent, [], pending)) return endReplay(text);
        if (text) res.write(text);
        keeping = false; // what is reported while the reader catches up, the next read has
        await replayDrained();
        if (closed) return;
      }
    };
    // Watch first, then replay: nothing committed in between can fall through the gap.
    const watch = options.feed.watchReplaying(taskId, (events) => {
      if (!replaying) deliver(events);
      else if (keeping) pending.push(...events);
    });
    // Each heartbeat checks the caller's token again: a stream ends (the client reopens it with
    // a fresh token) once its token has expired, its key was taken out, or lost the scopes.
    const beat = async () => {
      if (!(await stillAllowed(options.authenticator, auth, req))) return finish();
      if (!closed) res.write(': heartbeat\n\n');
    };
    const heartbeat = setInterval(() => {
      beat().catch((error: unknown) => {
        options.logger.warn({ err: error, taskId }, 'a stream could not check its token again');
      });
    }, options.heartbeatMs);
    req.on('close', finish);
    // Gone while the caller was authenticated or the task read: 'close' has been and gone.
    if (res.destroyed) return finish();
    try {
      // A task created here lately replays from memory, while the database says it is still as
      // its log has it (taken after the watch began: later commits reach `pending`). The
      // commits reported meanwhile follow on from that, unless another process wrote in
      // between: then the database has what lies between (and everything reported so far,
      // each report coming after its commit).
      const log = await options.logs.current(taskId);
      const remembered = log?.events.filter((event) => event.seq > after);
      if (remembered && followsOn(after, remembered, pending)) endReplay(framed(remembered));
      else await replayStored();
      // Resuming after the very last event of a finished task: nothing more will come.
      if (closed) return;
      const now = log ? log.task : await options.store.getTask(taskId);
      if (!now && !res.headersSent) {
        // Deleted while the stream opened (or before: the look above may have been a log's).
        stop();
        notFound(res, taskId);
      } else if (!now || (isTerminal(now.status) && sent >= now.lastSeq)) {
        // Ended with nothing (more) to send: the header tells a client that saw no final event
        // that the task is finished, not that a proxy cut the stream.
        if (now && !res.headersSent) res.setHeader(TASK_STATUS_HEADER, now.status);
        finish();
      } else res.flushHeaders(); // a live stream: the client learns it is open before any event
    } catch (error) {
      stop(); // the watch and the heartbeat go with the stream
      throw error;
    }
  }

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const taskId = routedTaskId(req);
    if (taskId === undefined) return false;
    stream(req, res, taskId).catch((error: unknown) => {
      options.logger.error({ err: error, taskId }, 'task event stream failed');
      if (!res.headersSent) fail(res, 500, -32603, 'internal error');
      else res.end();
    });
    return true;
  };
}
