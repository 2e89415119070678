/**
 * Live task events over SSE, read with a raw HTTP client: replay then live, `id:` per event,
 * resume with Last-Event-ID without loss or repeats, heartbeats, the end after the terminal
 * event, one database read per new batch however many watch, and visibility.
 */
import fs from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  type WireJson,
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';
import { addApiKey } from '../../src/auth/apiKeys';
import { holdAgent, say } from '../helpers/heldTasks';
import { appendEventElsewhere } from '../helpers/otherProcess';
import type { EventRecord } from '../../src/store/records';
import { followsOn } from '../../src/http/taskEvents';
import { RecentTaskLogs } from '../../src/tasks/recentTaskLogs';

interface Frame {
  id?: number;
  event?: string;
  data?: { sequence: number; event: string; taskId: string };
  comment?: string;
}

interface Stream {
  status: number;
  frames: Frame[];
  ended: Promise<void>;
  close(): void;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const frames: Frame[] = [];
      let buffer = '';
      let carriageReturn = false;
      // LF only: a CR anywhere fails whoever awaits the stream's end (not a stray callback).
      const ended = new Promise<void>((done, fail) => {
        const finish = () =>
          carriageReturn ? fail(new Error('the stream held a CR (SSE here is LF only)')) : done();
        res.on('end', finish).on('close', finish);
      });
      ended.catch(() => undefined); // reported to the test that awaits it
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (chunk.includes('\r')) carriageReturn = true;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: Frame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
          }
          frames.push(frame);
        }
      });
      resolve({ status: res.statusCode ?? 0, frames, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

/** The stream's end, or a failure if it has not ended within `ms`. */
function endedWithin(stream: Stream, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the stream did not end within ${ms} ms`)), ms);
  });
  return Promise.race([stream.ended, tooLong]).finally(() => clearTimeout(timer));
}

const eventsUrl = (arcd: Running, taskId: string, query = 'requestAgent=tester') =>
  `${arcd.url}/arc/tasks/${taskId}/events?${query}`;
const events = (s: Stream) => s.frames.filter((f) => f.event);

/** A held task with `count` messages of 1 MiB each, and a stream on it not read yet. */
async function pausedOnLargeLog(count: number) {
  const hold = await startArcd({ agents: [holdAgent] });
  const task = await createTask(hold.url, 'hold', 'first');
  await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
  const { store } = hold.server;
  const big = 'y'.repeat(1024 * 1024);
  for (let i = 0; i < count; i += 1) await store.mutateTask(task.taskId, say(`${i}-${big}`));
  const pages = jest.spyOn(store, 'eventPage');
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(eventsUrl(hold, task.taskId), resolve).on('error', reject),
  );
  res.pause(); // a reader that has not read yet
  await waitFor('a page read', async () => (pages.mock.calls.length > 0 ? true : undefined));
  return { store, taskId: task.taskId as string, pages, res };
}

/** Reads a paused stream until it has given `lastSeq` events; their ids, in order. */
async function readUpTo(res: http.IncomingMessage, lastSeq: number): Promise<number[]> {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.resume();
  await waitFor('every event', async () =>
    (text.match(/^id: /gm)?.length ?? 0) >= lastSeq ? true : undefined,
  );
  res.destroy();
  return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
}

describe('task event streams', () => {
  let arcd: Running;
  beforeEach(async () => {
    arcd = await startArcd();
  });

  test('replays stored events, follows live ones, and ends after the terminal one', async () => {
    const task = await createTask(arcd.url, 'slow', 'steps=3');
    const stream = await openStream(eventsUrl(arcd, task.taskId));
    expect(stream.status).toBe(200);
    await stream.ended;
    const stored = await arcd.server.store.listEvents(task.taskId);
    expect(events(stream).map((f) => [f.id, f.event])).toEqual(stored.map((e) => [e.seq, e.type]));
    expect(events(stream).at(-1)).toMatchObject({
      event: 'STATUS_CHANGE',
      data: { taskId: task.taskId },
    });
    expect((await arcd.server.store.getTask(task.taskId))?.status).toBe('COMPLETED');
  });

  test('a watcher dropped mid-task resumes with Last-Event-ID and sees every event once', async () => {
    const task = await createTask(arcd.url, 'slow', 'steps=6');
    const first = await openStream(eventsUrl(arcd, task.taskId));
    await waitFor('a few events', async () => (events(first).length >= 5 ? true : undefined));
    first.close();
    const last = events(first).at(-1)!.id!;
    await new Promise((resolve) => setTimeout(resolve, 300)); // events keep coming meanwhile
    const second = await openStream(eventsUrl(arcd, task.taskId), {
      'Last-Event-ID': String(last),
    });
    await second.ended;
    const seen = [...events(first), ...events(second)].map((f) => f.id);
    const stored = (await arcd.server.store.listEvents(task.taskId)).map((e) => e.seq);
    expect(seen).toEqual(stored);
  });

  test('?after= resumes too; resuming after the last event of a finished task ends at once', async () => {
    const task = await createTask(arcd.url, 'echo', 'hi');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const tail = await openStream(eventsUrl(arcd, task.taskId, 'requestAgent=tester&after=5'));
    await tail.ended;
    expect(events(tail).map((f) => f.id)).toEqual([6, 7]);
    const none = await openStream(eventsUrl(arcd, task.taskId, 'requestAgent=tester&after=7'));
    await none.ended;
    expect(events(none)).toEqual([]);
  });

  test("a Last-Event-ID past a live task's last event follows on from its last event, to the end", async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const { store } = hold.server;
    const seq = (await store.getTask(task.taskId))!.lastSeq;
    const stream = await openStream(eventsUrl(hold, task.taskId), { 'Last-Event-ID': '999' });
    expect(stream.status).toBe(200);
    await store.mutateTask(task.taskId, say('live'));
    await arcResult(hold.url, 'task.cancel', { taskId: task.taskId }, { targetAgent: 'hold' });
    await stream.ended;
    const stored = (await store.listEvents(task.taskId)).filter((e) => e.seq > seq);
    expect(events(stream).map((f) => [f.id, f.event])).toEqual(stored.map((e) => [e.seq, e.type]));
    expect(events(stream).at(-1)).toMatchObject({ event: 'STATUS_CHANGE' });
  });

  test('a caller gone before its stream began leaves no watch behind', async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const { store, feed } = hold.server;
    const watched = (feed as unknown as { watched: Map<string, unknown> }).watched;
    let gone!: () => void;
    const callerGone = new Promise<void>((resolve) => (gone = resolve));
    const getTask = store.getTask.bind(store);
    const peek = jest.spyOn(RecentTaskLogs.prototype, 'peek').mockReturnValue(undefined);
    let streamRead: Promise<unknown> | undefined;
    const read = jest.spyOn(store, 'getTask').mockImplementation(async (taskId) => {
      if (!streamRead && new Error().stack?.includes('taskEvents')) {
        // The caller hangs up while the stream reads the task.
        streamRead = callerGone.then(() => getTask(taskId));
        return streamRead as ReturnType<typeof getTask>;
      }
      return getTask(taskId);
    });
    const req = http.get(eventsUrl(hold, task.taskId));
    req.on('error', () => undefined);
    await waitFor('the read', async () => (streamRead ? true : undefined));
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server hears the hang-up
    gone();
    await streamRead;
    // The stream's handler goes on from the read: a watch it made would be there by now.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    peek.mockRestore();
    read.mockRestore();
    expect(watched.has(task.taskId)).toBe(false);
  });

  test('a stream on a task this process created lately replays from memory, as stored', async () => {
    const task = await createTask(arcd.url, 'echo', 'hi');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const { store } = arcd.server;
    const reads = [jest.spyOn(store, 'listEvents'), jest.spyOn(store, 'getTask')];
    const stream = await openStream(eventsUrl(arcd, task.taskId));
    await stream.ended;
    const tail = await openStream(eventsUrl(arcd, task.taskId, 'requestAgent=tester&after=5'));
    await tail.ended;
    const readCalls = reads.map((spy) => spy.mock.calls.length);
    for (const spy of reads) spy.mockRestore();
    expect(readCalls).toEqual([0, 0]);
    const stored = await store.listEvents(task.taskId);
    expect(stored).toHaveLength(7);
    expect(events(stream).map((f) => [f.id, f.event, f.data])).toEqual(
      stored.map((e) => [
        e.seq,
        e.type,
        { taskId: e.taskId, sequence: e.seq, event: e.type, timestamp: e.createdAt, data: e.data },
      ]),
    );
    expect(events(tail).map((f) => f.id)).toEqual([6, 7]);
  });

  test('a task carrying a large file is not kept in memory: its stream reads it, as stored', async () => {
    const content = randomBytes(60_000).toString('base64'); // 80K characters: a blob
    const file = { type: 'FilePart', mimeType: 'application/octet-stream', content };
    const { task } = await arcResult(
      arcd.url,
      'task.create',
      { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'hi' }, file] } },
      { targetAgent: 'echo' },
    );
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const { store } = arcd.server;
    const reads = jest.spyOn(store, 'eventPage');
    const stream = await openStream(eventsUrl(arcd, task.taskId));
    await stream.ended;
    const readCalls = reads.mock.calls.length;
    reads.mockRestore();
    expect(readCalls).toBe(1);
    const stored = await store.listEvents(task.taskId);
    expect(JSON.stringify(stored)).toContain(content);
    expect(events(stream).map((f) => [f.id, f.data])).toEqual(
      stored.map((e) => [
        e.seq,
        { taskId: e.taskId, sequence: e.seq, event: e.type, timestamp: e.createdAt, data: e.data },
      ]),
    );
  });

  test('a task deleted since its log was kept is not found', async () => {
    const task = await createTask(arcd.url, 'echo', 'hi');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    await arcResult(arcd.url, 'task.delete', { taskId: task.taskId });
    const stream = await openStream(eventsUrl(arcd, task.taskId));
    await stream.ended;
    expect(stream.status).toBe(404);
    expect(events(stream)).toEqual([]);
  });

  test('an event another process appended to such a task is replayed: the stream reads the database', async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const other = new Database(hold.db);
    other.pragma('busy_timeout = 5000');
    const appended = appendEventElsewhere(other, task.taskId, 'TASK_UPDATED', {
      status: 'WORKING',
      progress: 50,
    });
    const seq = appended - 1;
    other.close();
    const stream = await openStream(eventsUrl(hold, task.taskId));
    await waitFor('the replay', async () => (events(stream).length > seq ? true : undefined));
    stream.close();
    expect(events(stream).at(-1)).toMatchObject({ id: seq + 1, event: 'TASK_UPDATED' });
  });

  test('a commit reported during the replay, after one made elsewhere: the stream reads what lies between', async () => {
    // No periodic look for other processes' commits: only the replay's reads are counted.
    const hold = await startArcd({ agents: [holdAgent], config: { pollMs: 3_600_000 } });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const other = new Database(hold.db);
    other.pragma('busy_timeout = 5000');
    // Written elsewhere first: the task's log here is not current, the stream replays the database.
    appendEventElsewhere(other, task.taskId, 'TASK_UPDATED', { status: 'WORKING', progress: 10 });
    const { store } = hold.server;
    const eventPage = store.eventPage.bind(store);
    const reads = jest
      .spyOn(store, 'eventPage')
      .mockImplementationOnce(async (taskId, afterSeq, budget) => {
        const replayed = await eventPage(taskId, afterSeq, budget);
        // While the stream replays: one event elsewhere, then one here, reported to the stream.
        appendEventElsewhere(other, task.taskId, 'TASK_UPDATED', {
          status: 'WORKING',
          progress: 60,
        });
        await store.mutateTask(task.taskId, say('here'));
        return replayed;
      });
    const stream = await openStream(eventsUrl(hold, task.taskId));
    const lastSeq = (await store.getTask(task.taskId))!.lastSeq;
    await waitFor('every event', async () => (events(stream).length >= lastSeq ? true : undefined));
    stream.close();
    other.close();
    expect(events(stream).map((f) => f.id)).toEqual(
      Array.from({ length: lastSeq }, (_, i) => i + 1),
    );
    expect(reads).toHaveBeenCalledTimes(2); // the replay, and the events between it and the report
    reads.mockRestore();
  });

  test('after its replay, a stream gets the next commit as the commit reported it, without a read', async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const { store, feed } = hold.server;
    const seq = (await store.getTask(task.taskId))!.lastSeq;
    const stream = await openStream(eventsUrl(hold, task.taskId));
    await waitFor('the replay', async () => (events(stream).length === seq ? true : undefined));
    const before = feed.reads;
    await store.mutateTask(task.taskId, say('live'));
    await waitFor('the live event', async () => (events(stream).length > seq ? true : undefined));
    stream.close();
    expect(events(stream).map((f) => f.id)).toEqual(
      Array.from({ length: seq + 1 }, (_, i) => i + 1),
    );
    expect(feed.reads).toBe(before);
  });

  test('many watchers cost one read per new batch, not one per watcher', async () => {
    const task = await createTask(arcd.url, 'document-analyzer', 'alpha beta');
    await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['INPUT_REQUIRED']);
    const watchers = await Promise.all(
      Array.from({ length: 8 }, () => openStream(eventsUrl(arcd, task.taskId))),
    );
    const before = arcd.server.feed.reads;
    // Changes committed to this task from now on (timestamps cannot tell two in one ms apart).
    let commits = 0;
    arcd.server.store.onCommit((taskId) => {
      if (taskId === task.taskId) commits += 1;
    });
    await arcResult(
      arcd.url,
      'task.send',
      {
        taskId: task.taskId,
        message: { role: 'user', parts: [{ type: 'text', content: 'beta' }] },
      },
      { targetAgent: 'document-analyzer' },
    );
    await Promise.all(watchers.map((w) => w.ended));
    expect(commits).toBeGreaterThan(1);
    expect(arcd.server.feed.reads - before).toBeLessThanOrEqual(commits + 1);
    const reference = events(watchers[0]!).map((f) => f.id);
    for (const w of watchers) expect(events(w).map((f) => f.id)).toEqual(reference);
  });

  test('a long log replays a page at a time, whole and in order, then follows live', async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const { store } = hold.server;
    for (let i = 0; i < 600; i += 1) await store.mutateTask(task.taskId, say(`n${i}`));
    const stored = (await store.getTask(task.taskId))!.lastSeq;
    const pages = jest.spyOn(store, 'eventPage');
    const stream = await openStream(eventsUrl(hold, task.taskId));
    await waitFor('the replay', async () => (events(stream).length >= stored ? true : undefined));
    await store.mutateTask(task.taskId, say('live'));
    await waitFor('the live event', async () =>
      events(stream).length > stored ? true : undefined,
    );
    stream.close();
    expect(pages.mock.calls.length).toBeGreaterThanOrEqual(3); // 600+ events, 256 a page
    pages.mockRestore();
    expect(events(stream).map((f) => f.id)).toEqual(
      Array.from({ length: stored + 1 }, (_, i) => i + 1),
    );
  });

  test('a replay of large events waits for its reader: the next page is read once it has taken the last', async () => {
    const { store, taskId, pages, res } = await pausedOnLargeLog(32);
    const lastSeq = (await store.getTask(taskId))!.lastSeq;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // 32 MiB of events, 4 MiB a page: what is read while nothing is taken is what the
    // sockets' buffers hold, not the whole log.
    const whilePaused = pages.mock.calls.length;
    expect(whilePaused).toBeLessThan(5);
    const ids = await readUpTo(res, lastSeq);
    expect(pages.mock.calls.length).toBeGreaterThan(whilePaused);
    pages.mockRestore();
    expect(ids).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
  });

  test('commits made while a replay waits for its reader are read back, not kept: none lost', async () => {
    const { store, taskId, pages, res } = await pausedOnLargeLog(24); // the replay stalls
    pages.mockRestore();
    for (let i = 0; i < 1100; i += 1) await store.mutateTask(taskId, say(`live ${i}`));
    const lastSeq = (await store.getTask(taskId))!.lastSeq;
    const ids = await readUpTo(res, lastSeq);
    expect(ids).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
  });

  test('a live stream whose reader falls behind by too much is cut, and resumes whole', async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const task = await createTask(hold.url, 'hold', 'first');
    await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const { store, feed } = hold.server;
    const watched = (feed as unknown as { watched: Map<string, unknown> }).watched;
    const chunks: Buffer[] = [];
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(eventsUrl(hold, task.taskId), resolve).on('error', reject),
    );
    res.pause(); // a reader that stopped reading
    res.on('error', () => undefined); // cut: what it got is all it gets
    await waitFor('the watch', async () => (watched.has(task.taskId) ? true : undefined));
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 40 && watched.has(task.taskId); i += 1) {
      await store.mutateTask(task.taskId, say(`${i}-${big}`));
    }
    // Ended by the server while nothing was read (else it would hold all 40 MiB for it).
    await waitFor('the stream let go', async () => (watched.has(task.taskId) ? undefined : true));
    await store.mutateTask(task.taskId, say('after the end'));
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => res.on('close', resolve).resume());
    // Only whole frames count: the cut may fall inside one.
    const text = Buffer.concat(chunks).toString('utf8');
    const whole = text.slice(0, text.lastIndexOf('\n\n') + 2);
    const ids = [...whole.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const last = ids.at(-1)!;
    expect(ids).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const lastSeq = (await store.getTask(task.taskId))!.lastSeq;
    expect(last).toBeLessThan(lastSeq);
    // The client resumes after the last event it got, and gets the rest.
    const resumed = await openStream(eventsUrl(hold, task.taskId), { 'Last-Event-ID': `${last}` });
    await waitFor('the rest', async () =>
      events(resumed).length >= lastSeq - last ? true : undefined,
    );
    resumed.close();
    expect(events(resumed).map((f) => f.id)).toEqual(
      Array.from({ length: lastSeq - last }, (_, i) => last + i + 1),
    );
  });

  test("idle streams' looks for other processes' commits are one query, with no event reads", async () => {
    const hold = await startArcd({ agents: [holdAgent] });
    const { store } = hold.server;
    const tasks = [];
    for (let i = 0; i < 5; i += 1) tasks.push(await createTask(hold.url, 'hold', `idle ${i}`));
    for (const task of tasks) await waitForStatus(hold.url, 'hold', task.taskId, ['WORKING']);
    const streams = await Promise.all(tasks.map((t) => openStream(eventsUrl(hold, t.taskId))));
    await waitFor('the replays', async () =>
      streams.every((s) => events(s).length >= 2) ? true : undefined,
    );
    const reads = jest.spyOn(store, 'listEvents');
    const looks = jest.spyOn(store, 'lastSeqs');
    await waitFor('three looks', async () => (looks.mock.calls.length >= 3 ? true : undefined));
    for (const stream of streams) stream.close();
    expect(reads).not.toHaveBeenCalled();
    expect(new Set(looks.mock.calls.at(-1)![0])).toEqual(new Set(tasks.map((t) => t.taskId)));
  });

  test("opening a stream counts in its caller's call budget: past it, 429 with Retry-After", async () => {
    const limited = await startArcd({ config: { rateLimitPerMinute: 2 } });
    const task = await createTask(limited.url, 'echo', 'hi'); // one call
    await waitFor('the task done', async () =>
      (await limited.server.store.getTask(task.taskId))?.status === 'COMPLETED' ? true : undefined,
    );
    const first = await openStream(eventsUrl(limited, task.taskId)); // the second
    await first.ended;
    expect(first.status).toBe(200);
    const response = await fetch(eventsUrl(limited, task.taskId));
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await response.json()) as WireJson).error).toMatchObject({ code: -44007 });
  });

  test('a caller holds at most --max-streams-per-caller streams open; one closing frees a place', async () => {
    const capped = await startArcd({ agents: [holdAgent], config: { maxStreamsPerCaller: 2 } });
    const task = await createTask(capped.url, 'hold', 'wait');
    const url = eventsUrl(capped, task.taskId);
    const [one, two] = [await openStream(url), await openStream(url)];
    expect([one.status, two.status]).toEqual([200, 200]);
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as WireJson).error).toMatchObject({
      code: -44007,
      details: { limit: 2, retryAfterSeconds: 5 },
    });
    one.close();
    await one.ended;
    await waitFor('a place freed', async () => {
      const again = await openStream(url);
      again.close();
      return again.status === 200 ? true : undefined;
    });
    two.close();
  });

  test('idle streams get heartbeat comments', async () => {
    await arcd.close();
    arcd = await startArcd({ config: { sseHeartbeatMs: 50 } });
    const task = await createTask(arcd.url, 'document-analyzer', 'doc');
    await waitForStatus(arcd.url, 'document-analyzer', task.taskId, ['INPUT_REQUIRED']);
    const stream = await openStream(eventsUrl(arcd, task.taskId));
    await waitFor('a heartbeat', async () =>
      stream.frames.some((f) => f.comment === 'heartbeat') ? true : undefined,
    );
    stream.close();
  });

  test("another caller's task is not found; a bad Last-Event-ID is refused", async () => {
    const task = await createTask(arcd.url, 'echo', 'hi');
    const other = await openStream(eventsUrl(arcd, task.taskId, 'requestAgent=mallory'));
    expect(other.status).toBe(404);
    const bad = await openStream(eventsUrl(arcd, task.taskId), { 'Last-Event-ID': 'yesterday' });
    expect(bad.status).toBe(400);
  });

  test("streams and their refusals carry helmet's headers; other verbs and paths go to express", async () => {
    const task = await createTask(arcd.url, 'echo', 'hi');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const ok = await fetch(eventsUrl(arcd, task.taskId));
    expect(ok.headers.get('content-type')).toBe('text/event-stream');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    const replay = await ok.text();
    expect(replay).toContain('event: TASK_COMPLETED');
    // Whole at once (a finished task): sent with its length rather than in chunks.
    expect(ok.headers.get('content-length')).toBe(String(Buffer.byteLength(replay)));
    expect(ok.headers.get('transfer-encoding')).toBeNull();
    const missing = await fetch(eventsUrl(arcd, 'task-none'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await missing.json()).toMatchObject({
      error: { code: -42001, details: { taskId: 'task-none' } },
    });
    const post = await fetch(eventsUrl(arcd, task.taskId), { method: 'POST' });
    expect(post.status).toBe(404); // not a route: express's JSON 404
    expect(await post.json()).toMatchObject({ arc: '/arc' });
    const malformed = await fetch(`${arcd.url}/arc/tasks/%E0%A4%A/events`);
    expect(malformed.status).toBe(404);
  });

  test('with auth required, a stream needs a token', async () => {
    await arcd.close();
    arcd = await startArcd({ config: { auth: 'required', jwtSecret: 'x'.repeat(40) } });
    const stream = await openStream(eventsUrl(arcd, 'task-x'));
    expect(stream.status).toBe(401);
  });
});

test('a stream ends at the heartbeat after its key is taken out of the key file', async () => {
  const keys = tempDbFile('stream-keys').replace(/\.db$/, '.json');
  const token = addApiKey(keys, 'tess', ['arc.task.controller', 'arc.agent.caller']);
  const arcd = await startArcd({
    agents: [holdAgent],
    config: { auth: 'required', apiKeysFile: keys, sseHeartbeatMs: 200 },
  });
  const headers = { authorization: `Bearer ${token}` };
  const created = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/arc+json' },
    body: JSON.stringify({
      arc: '1.0',
      id: 1,
      method: 'task.create',
      requestAgent: 'tess',
      targetAgent: 'hold',
      params: { initialMessage: textMessage('first') },
    }),
  });
  const { task } = ((await created.json()) as { result: { task: { taskId: string } } }).result;
  const stream = await openStream(eventsUrl(arcd, task.taskId), headers);
  expect(stream.status).toBe(200);
  await waitFor('a heartbeat', async () =>
    stream.frames.some((f) => f.comment === 'heartbeat') ? true : undefined,
  );
  fs.writeFileSync(keys, '[]');
  await endedWithin(stream, 5_000);
  expect(events(stream).at(-1)?.event).not.toMatch(/TASK_(COMPLETED|FAILED|CANCELED)/);
});

test('a retried task’s stream goes past its earlier FAILED and ends at the new outcome', async () => {
  let calls = 0;
  const secondTime = defineAgent({
    id: 'second-time',
    description: 'fails its first turn, completes the next (after a pause)',
    async handle() {
      calls += 1;
      if (calls === 1) throw new Error('not yet');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return 'now';
    },
  });
  const arcd = await startArcd({ agents: [secondTime], bundled: false });
  const options = { targetAgent: 'second-time' };
  const task = await createTask(arcd.url, 'second-time', 'go', {}, options);
  await waitForStatus(arcd.url, 'second-time', task.taskId, ['FAILED'], options);
  await arcResult(arcd.url, 'task.retry', { taskId: task.taskId }, options);
  const stream = await openStream(eventsUrl(arcd, task.taskId));
  await stream.ended;
  const statuses = events(stream)
    .filter((f) => f.event === 'STATUS_CHANGE')
    .map((f) => (f.data as unknown as { data: { status: string } }).data.status);
  expect(statuses).toEqual(['WORKING', 'FAILED', 'SUBMITTED', 'WORKING', 'COMPLETED']);
});

test('a stream on one process follows a task another process runs, to its end', async () => {
  const here = await startArcd({ agents: [holdAgent] });
  // Hosts no agent and writes nothing to the task: it hears of no commit of it.
  const there = await startArcd({ db: here.db, agents: [], bundled: false });
  const task = await createTask(here.url, 'hold', 'first');
  await waitForStatus(here.url, 'hold', task.taskId, ['WORKING']);
  const stream = await openStream(eventsUrl(there, task.taskId));
  await waitFor('the replay', async () => (events(stream).length >= 2 ? true : undefined));
  await arcResult(here.url, 'task.cancel', { taskId: task.taskId }, { targetAgent: 'hold' });
  await endedWithin(stream, 5_000);
  const stored = await here.server.store.listEvents(task.taskId);
  expect(events(stream).map((f) => f.id)).toEqual(stored.map((e) => e.seq));
  expect(events(stream).at(-1)).toMatchObject({ event: 'STATUS_CHANGE' });
  expect(stored.at(-1)?.data.status).toBe('CANCELED');
});

test("a parent's stream ends at its own end, with its children's events read in one batch after it", async () => {
  const here = await startArcd({ agents: [holdAgent] });
  const task = await createTask(here.url, 'hold', 'first');
  await waitForStatus(here.url, 'hold', task.taskId, ['WORKING']);
  const stream = await openStream(eventsUrl(here, task.taskId));
  await waitFor('the replay', async () => (events(stream).length >= 2 ? true : undefined));
  // Another process ends the task, then a child's end is copied into its log: the look reads both.
  const other = new Database(here.db);
  other.pragma('busy_timeout = 5000');
  other.transaction(() => {
    appendEventElsewhere(other, task.taskId, 'STATUS_CHANGE', { status: 'CANCELED' });
    appendEventElsewhere(other, task.taskId, 'STATUS_CHANGE', {
      status: 'CANCELED',
      childTaskId: 'task-child',
    });
  })();
  other.close();
  await endedWithin(stream, 5_000);
  expect(
    events(stream)
      .slice(-2)
      .map((f) => (f.data as unknown as { data: object }).data),
  ).toEqual([{ status: 'CANCELED' }, { status: 'CANCELED', childTaskId: 'task-child' }]);
});

describe('followsOn (replay, then what commits reported meanwhile)', () => {
  const at = (...seqs: number[]) => seqs.map((seq) => ({ seq }) as EventRecord);
  test('one run from after+1, overlapping or not, in any order, is whole', () => {
    expect(followsOn(0, at(1, 2, 3), at())).toBe(true);
    expect(followsOn(0, at(1, 2, 3), at(5, 4))).toBe(true);
    expect(followsOn(0, at(1, 2, 3), at(2, 3, 4))).toBe(true);
    expect(followsOn(5, at(), at(6, 7))).toBe(true);
    expect(followsOn(5, at(), at(3, 6))).toBe(true); // ones before `after` are not wanted
  });
  test('a hole between them, or within the reported ones, is not', () => {
    expect(followsOn(0, at(1, 2, 3), at(5))).toBe(false);
    expect(followsOn(0, at(1, 2, 3), at(4, 6))).toBe(false);
    expect(followsOn(5, at(), at(7))).toBe(false);
  });
});
