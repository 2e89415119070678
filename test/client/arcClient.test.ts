/**
 * The TypeScript client's surface against the real app: every task and chat call, typed
 * errors, chat streams, task.watch resuming through a connection that drops mid-task,
 * task.wait, task.watch through silence and error pages, and verifyWebhook on real deliveries.
 */
import { getEventListeners } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  ArcClient,
  ArcTransportError,
  ChatClosedError,
  InvalidTaskTransitionError,
  RateLimitError,
  TaskAlreadyCompletedError,
  TaskNotFoundError,
  type TaskEvent,
  WebhookVerificationError,
  verifyWebhook,
} from '../../src/client';
import { defineAgent } from '../../src/agents/contract';
import { type Running, startArcd, waitFor } from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';

let arcd: Running;
let client: ArcClient;

beforeEach(async () => {
  arcd = await startArcd({ config: { webhookAllowlist: '127.0.0.1', webhookPollMs: 25 } });
  client = new ArcClient({ endpoint: arcd.url, requestAgent: 'sdk' });
});

/** A TCP proxy whose open connections the test can cut. */
async function proxyTo(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(port), hostname);
    inbound.pipe(outbound).pipe(inbound);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

test('task calls, runs and events', async () => {
  const task = await client.task.create('echo', 'hello sdk', {
    priority: 'HIGH',
    metadata: { k: 1 },
  });
  expect(task).toMatchObject({ status: 'SUBMITTED', priority: 'HIGH', requestAgent: 'sdk' });
  const done = await client.task.wait('echo', task.taskId);
  expect(done.status).toBe('COMPLETED');
  expect(done.messages?.[1]?.parts[0]?.content).toBe('hello sdk');
  expect(await client.task.runs('echo', task.taskId)).toHaveLength(1);
  expect(
    (await client.task.list('echo', { status: 'COMPLETED' })).tasks.map((t) => t.taskId),
  ).toEqual([task.taskId]);
  expect(await client.task.events('echo', task.taskId, 5)).toHaveLength(2);
  const first = await client.task.eventPage('echo', task.taskId, { limit: 3 });
  expect(first.events).toHaveLength(3);
  expect(first.more).toBe(true);
  expect(await client.task.eventPage('echo', task.taskId, { after: 5 })).toMatchObject({
    more: false,
  });
  const paused = await client.task.create('document-analyzer', 'one two');
  await waitFor('input required', async () =>
    (await client.task.info('document-analyzer', paused.taskId)).status === 'INPUT_REQUIRED'
      ? true
      : undefined,
  );
  expect(await client.task.send('document-analyzer', paused.taskId, 'two')).toEqual({
    success: true,
  });
  expect((await client.task.wait('document-analyzer', paused.taskId)).artifacts).toHaveLength(1);
  const slow = await client.task.create('slow', 'steps=50');
  expect((await client.task.cancel('slow', slow.taskId, 'enough')).status).toBe('CANCELED');
});

test('dependencies, update, retry and delete', async () => {
  const first = await client.task.create('echo', 'first');
  const second = await client.task.create('echo', 'second', { dependencies: [first.taskId] });
  expect((await client.task.wait('echo', second.taskId)).status).toBe('COMPLETED');
  await expect(
    client.task.update('echo', second.taskId, { priority: 'LOW' }),
  ).rejects.toBeInstanceOf(InvalidTaskTransitionError);
  const failing = await client.task.create('flaky', 'boom');
  expect((await client.task.wait('flaky', failing.taskId)).status).toBe('FAILED');
  expect((await client.task.retry('flaky', failing.taskId)).status).toBe('SUBMITTED');
  expect((await client.task.wait('flaky', failing.taskId)).status).toBe('FAILED');
  const deadline = new Date(Date.now() + 3_600_000).toISOString();
  expect(await client.task.retry('flaky', failing.taskId, deadline)).toMatchObject({ deadline });
  expect((await client.task.wait('flaky', failing.taskId)).status).toBe('FAILED');
  await client.task.delete('flaky', failing.taskId);
  await expect(client.task.info('flaky', failing.taskId)).rejects.toBeInstanceOf(TaskNotFoundError);
});

test('ARC errors come back as their own classes with code and details', async () => {
  const missing = await client.task.info('echo', 'task-missing').catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(TaskNotFoundError);
  expect(missing).toMatchObject({ code: -42001, details: { taskId: 'task-missing' } });
  const task = await client.task.create('echo', 'x');
  await client.task.wait('echo', task.taskId);
  await expect(client.task.cancel('echo', task.taskId)).rejects.toBeInstanceOf(
    TaskAlreadyCompletedError,
  );
});

test('chat: whole replies, streams, and end', async () => {
  const chat = await client.chat.start('echo', 'hi there');
  expect(chat.message?.parts[0]?.content).toBe('hi there');
  const chunks = [];
  for await (const chunk of client.chat.messageStream('echo', chat.chatId, 'one two three'))
    chunks.push(chunk);
  expect(chunks.map((c) => c.delta).join('')).toBe('one two three');
  expect(chunks.length).toBeGreaterThan(1);
  const streamed = [];
  for await (const chunk of client.chat.startStream('echo', 'fresh start')) streamed.push(chunk);
  expect(streamed[0]?.chatId).toMatch(/^chat-/);
  expect((await client.chat.end('echo', chat.chatId)).status).toBe('CLOSED');
  await expect(client.chat.message('echo', chat.chatId, 'hello?')).rejects.toBeInstanceOf(
    ChatClosedError,
  );
  const failing = (async () => {
    for await (const chunk of client.chat.messageStream('echo', chat.chatId, 'x')) void chunk;
  })();
  await expect(failing).rejects.toBeInstanceOf(ChatClosedError);
});

test('task.watch resumes after its connection drops and sees every event once', async () => {
  const proxy = await proxyTo(arcd.url);
  try {
    const viaProxy = new ArcClient({ endpoint: proxy.url, requestAgent: 'sdk' });
    const task = await viaProxy.task.create('slow', 'steps=6');
    const seen: number[] = [];
    let cut = false;
    for await (const event of viaProxy.task.watch(task.taskId)) {
      seen.push(event.sequence);
      if (!cut && seen.length === 5) {
        cut = true;
        proxy.cut();
      }
    }
    expect(cut).toBe(true);
    const stored = (await arcd.server.store.listEvents(task.taskId)).map((e) => e.seq);
    expect(seen).toEqual(stored);
  } finally {
    await proxy.close();
  }
});

test('verifyWebhook accepts real deliveries and refuses forged or stale ones', async () => {
  const receiver = await startReceiver();
  const task = await client.task.create('echo', 'x');
  await client.task.wait('echo', task.taskId);
  const subscription = await client.task.subscribe('echo', task.taskId, receiver.url, {
    events: ['TASK_COMPLETED'],
    replay: true,
  });
  const [delivery] = await waitFor('a delivery', async () =>
    receiver.received.length > 0 ? receiver.received : undefined,
  );
  const headers = delivery!.headers as Record<string, string>;
  expect(verifyWebhook(headers, delivery!.raw, subscription.secret)).toMatchObject({
    taskId: task.taskId,
    event: 'TASK_COMPLETED',
  });
  expect(() =>
    verifyWebhook(
      headers,
      delivery!.raw.replace('TASK_COMPLETED', 'TASK_FAILED'),
      subscription.secret,
    ),
  ).toThrow(WebhookVerificationError);
  expect(() =>
    verifyWebhook(headers, delivery!.raw, `whsec_${Buffer.alloc(32, 1).toString('base64')}`),
  ).toThrow(WebhookVerificationError);
  const later = new Date(Date.now() + 10 * 60_000);
  expect(() => verifyWebhook(headers, delivery!.raw, subscription.secret, { now: later })).toThrow(
    /tolerance/,
  );
  const onlyStandard = { ...headers, 'x-arc-signature': undefined };
  expect(verifyWebhook(onlyStandard, delivery!.raw, subscription.secret)).toBeTruthy();
  expect(() => verifyWebhook({}, delivery!.raw, subscription.secret)).toThrow(/no signature/);
  // Stripped down to X-ARC-Signature (no time, no id signed): a replay, unless asked for.
  const onlyArc = Object.fromEntries(
    Object.entries(headers).filter(([name]) => !name.startsWith('webhook-')),
  );
  expect(() => verifyWebhook(onlyArc, delivery!.raw, subscription.secret)).toThrow(
    /no Standard Webhooks signature/,
  );
  expect(
    verifyWebhook(onlyArc, delivery!.raw, subscription.secret, { arcOnly: true }),
  ).toBeTruthy();
  expect(() =>
    verifyWebhook(onlyArc, delivery!.raw.replace('TASK', 'TASX'), subscription.secret, {
      arcOnly: true,
    }),
  ).toThrow(/X-ARC-Signature/);
  // A body parsed already (express.json() in front): a verification error that says why.
  const parsed = JSON.parse(delivery!.raw) as unknown;
  expect(() => verifyWebhook(headers, parsed as string, subscription.secret)).toThrow(
    new WebhookVerificationError(
      'the body must be the raw bytes received (a Buffer or string, e.g. express.raw()), not object',
    ),
  );
});

/**
 * An HTTP proxy to `target` that counts event-stream requests and may answer some itself, or
 * end some cleanly after `cutMs` (as a proxy's idle or request timeout does).
 */
async function countingProxy(
  target: string,
  answer: (nth: number) => { status: number; body: string } | undefined = () => undefined,
  cutMs: (nth: number) => number | undefined = () => undefined,
  dropHeader?: string,
) {
  const { hostname, port } = new URL(target);
  let streams = 0;
  const server = http.createServer((req, res) => {
    let cut: number | undefined;
    if (req.url?.includes('/events')) {
      streams += 1;
      const own = answer(streams);
      if (own) {
        res.writeHead(own.status, { 'content-type': 'text/html' }).end(own.body);
        return;
      }
      cut = cutMs(streams);
    }
    if (cut !== undefined) {
      setTimeout(() => {
        upstream.destroy();
        res.end();
      }, cut);
    }
    const upstream = http.request(
      { host: hostname, port, path: req.url, method: req.method, headers: req.headers },
      (reply) => {
        if (dropHeader) delete reply.headers[dropHeader];
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams: () => streams,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const sleeper = defineAgent({
  id: 'sleeper',
  description: 'says nothing for 1.2 s, then completes',
  async handle() {
    await new Promise((resolve) => setTimeout(resolve, 1200));
    return 'awake';
  },
});

test('task.watch waits through silence longer than the call timeout, on one connection', async () => {
  const quiet = await startArcd({ agents: [sleeper] });
  const proxy = await countingProxy(quiet.url);
  try {
    const viaProxy = new ArcClient({ endpoint: proxy.url, requestAgent: 'sdk', timeoutMs: 200 });
    const task = await viaProxy.task.create('sleeper', 'nap');
    const events: string[] = [];
    for await (const event of viaProxy.task.watch(task.taskId)) events.push(event.event);
    expect(events).toContain('TASK_COMPLETED');
    expect(proxy.streams()).toBe(1);
  } finally {
    await proxy.close();
  }
});

test('task.watch resumes a stream a proxy ended cleanly before the task finished', async () => {
  const quiet = await startArcd({ agents: [sleeper] });
  const proxy = await countingProxy(quiet.url, undefined, (nth) => (nth === 1 ? 300 : undefined));
  try {
    const viaProxy = new ArcClient({ endpoint: proxy.url, requestAgent: 'sdk' });
    const task = await viaProxy.task.create('sleeper', 'nap');
    const events: TaskEvent[] = [];
    for await (const event of viaProxy.task.watch(task.taskId)) events.push(event);
    expect(events.map((event) => event.event)).toContain('TASK_COMPLETED');
    expect(events.at(-1)?.data.status).toBe('COMPLETED');
    const sequences = events.map((event) => event.sequence);
    expect(sequences).toEqual([...new Set(sequences)].sort((a, b) => a - b));
    expect(proxy.streams()).toBe(2);
    const done = await viaProxy.task.wait('sleeper', task.taskId);
    expect(done.status).toBe('COMPLETED');
  } finally {
    await proxy.close();
  }
});

test('task.watch from an `after` resumes a cut with no event, and ends on a finished task', async () => {
  const quiet = await startArcd({ agents: [sleeper] });
  const proxy = await countingProxy(quiet.url, undefined, (nth) => (nth === 1 ? 300 : undefined));
  try {
    const viaProxy = new ArcClient({ endpoint: quiet.url, requestAgent: 'sdk' });
    const task = await viaProxy.task.create('sleeper', 'nap');
    const seen = await waitFor('the task working', async () => {
      const events = (await viaProxy.task.events('sleeper', task.taskId)) as TaskEvent[];
      return events.some((e) => e.data.status === 'WORKING') ? events : undefined;
    });
    const after = seen.at(-1)!.sequence;
    const cutOnce = new ArcClient({ endpoint: proxy.url, requestAgent: 'sdk' });
    const events: TaskEvent[] = [];
    for await (const event of cutOnce.task.watch(task.taskId, { after })) events.push(event);
    expect(events.at(-1)?.data.status).toBe('COMPLETED');
    expect(proxy.streams()).toBe(2);
    // Past its last event, a finished task's stream ends at once with its status in a header.
    const last = events.at(-1)!.sequence;
    const response = await fetch(
      `${quiet.url}/arc/tasks/${task.taskId}/events?requestAgent=sdk&after=${last}`,
    );
    expect(response.headers.get('x-arc-task-status')).toBe('COMPLETED');
    expect(await response.text()).toBe('');
    const none: TaskEvent[] = [];
    for await (const event of viaProxy.task.watch(task.taskId, { after: last })) none.push(event);
    expect(none).toEqual([]);
    // A server that does not say the task is finished (an older arcd): a few empty ends do.
    const unsaid = await countingProxy(quiet.url, undefined, undefined, 'x-arc-task-status');
    try {
      const older = new ArcClient({ endpoint: unsaid.url, requestAgent: 'sdk' });
      for await (const event of older.task.watch(task.taskId, { after: last })) none.push(event);
      expect(none).toEqual([]);
      expect(unsaid.streams()).toBe(3);
    } finally {
      await unsaid.close();
    }
  } finally {
    await proxy.close();
  }
});

test('task.watch retries a gateway error page and fails cleanly on any other page', async () => {
  const gateway = await countingProxy(arcd.url, (nth) =>
    nth === 1 ? { status: 502, body: '<html>bad gateway</html>' } : undefined,
  );
  const missing = await countingProxy(arcd.url, () => ({ status: 404, body: '<html>no</html>' }));
  try {
    const task = await client.task.create('echo', 'hi');
    const viaGateway = new ArcClient({ endpoint: gateway.url, requestAgent: 'sdk' });
    const events: string[] = [];
    for await (const event of viaGateway.task.watch(task.taskId)) events.push(event.event);
    expect(events).toContain('TASK_COMPLETED');
    expect(gateway.streams()).toBe(2);
    const viaMissing = new ArcClient({ endpoint: missing.url, requestAgent: 'sdk' });
    const watching = (async () => {
      for await (const _event of viaMissing.task.watch(task.taskId)) void _event;
    })();
    await expect(watching).rejects.toMatchObject({ code: -32603, message: 'HTTP 404' });
  } finally {
    await gateway.close();
    await missing.close();
  }
});

test('a chat stream answered with something other than a stream fails with its error', async () => {
  const answers = [
    {
      status: 401,
      type: 'application/json',
      body: '{"error":{"code":-44001,"message":"no token"}}',
    },
    { status: 502, type: 'text/html', body: '<html>bad gateway</html>' },
  ];
  const stub = http.createServer((req, res) => {
    const next = answers.shift() ?? { status: 500, type: 'text/plain', body: 'x' };
    req.resume();
    req.on('end', () => res.writeHead(next.status, { 'content-type': next.type }).end(next.body));
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  try {
    const viaStub = new ArcClient({
      endpoint: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
      requestAgent: 'sdk',
    });
    const drain = async () => {
      for await (const _chunk of viaStub.chat.startStream('echo', 'hi')) void _chunk;
    };
    await expect(drain()).rejects.toMatchObject({ code: -44001 });
    const gateway = drain();
    await expect(gateway).rejects.toThrow('chat.start: HTTP 502');
    await expect(gateway).rejects.toBeInstanceOf(ArcTransportError);
    // Nobody listening: a transport error too, not got's own.
    const closed = new ArcClient({ endpoint: 'http://127.0.0.1:9', requestAgent: 'sdk' });
    const refused = (async () => {
      for await (const _chunk of closed.chat.startStream('echo', 'hi')) void _chunk;
    })();
    await expect(refused).rejects.toBeInstanceOf(ArcTransportError);
    await expect(refused).rejects.toThrow(/chat.start: .*ECONNREFUSED/);
  } finally {
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  }
});

test('an answer past maxResponseBytes fails the call; a refused stream is read no further than 1 MiB', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let mode: 'endless' | 'declared' | 'endless refusal' = 'endless';
  const encodings: Array<string | undefined> = [];
  const stub = http.createServer((req, res) => {
    encodings.push(req.headers['accept-encoding']);
    req.resume();
    req.on('end', () => {
      if (mode === 'declared') {
        res.writeHead(200, { 'content-type': 'application/arc+json', 'content-length': 1 << 30 });
        res.write(chunk);
        return; // the rest never comes: only the declared length says it is too large
      }
      // No end: bytes for as long as the client reads them.
      res.writeHead(mode === 'endless' ? 200 : 500, { 'content-type': 'text/plain' });
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const small = new ArcClient({ endpoint, requestAgent: 'sdk', maxResponseBytes: 1024 * 1024 });
  try {
    const endless = small.task.send('echo', 'task-x', 'hi');
    await expect(endless).rejects.toBeInstanceOf(ArcTransportError);
    await expect(endless).rejects.toThrow(/larger than maxResponseBytes \(1048576 bytes\)/);
    mode = 'declared';
    await expect(small.task.send('echo', 'task-x', 'hi')).rejects.toThrow(/maxResponseBytes/);
    // Asked uncompressed: a compressed answer's inflated size would go unchecked (got reports
    // no progress past the compressed length until the end).
    expect(encodings).toEqual([undefined, undefined]);
    // The cap is the client's: within it, a real server's answers are read as before.
    const bounded = new ArcClient({
      endpoint: arcd.url,
      requestAgent: 'sdk',
      maxResponseBytes: 1e6,
    });
    expect((await bounded.task.create('echo', 'hi')).taskId).toMatch(/^task-/);
    mode = 'endless refusal';
    const refused = (async () => {
      for await (const _chunk of small.chat.startStream('echo', 'hi')) void _chunk;
    })();
    await expect(refused).rejects.toMatchObject({ code: -32603, message: 'HTTP 500' });
  } finally {
    stub.closeAllConnections();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  }
});

test('a 200 that is no ARC answer to the call is a transport error; an ARC error under another status keeps its class', async () => {
  let answer: { status: number; type: string; body: (id: unknown) => string } = {
    status: 200,
    type: 'text/html',
    body: () => '<html>an app</html>',
  };
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const { id } = JSON.parse(text) as { id: unknown };
      res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body(id));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const other = new ArcClient({ endpoint: `http://127.0.0.1:${port}`, requestAgent: 'sdk' });
  const send = () => other.task.send('echo', 'task-x', 'hi');
  try {
    await expect(send()).rejects.toThrow(ArcTransportError);
    answer = { status: 200, type: 'application/json', body: () => '{}' };
    await expect(send()).rejects.toThrow(ArcTransportError);
    answer = {
      status: 200,
      type: 'application/arc+json',
      body: () => JSON.stringify({ arc: '1.0', id: 'another', result: { success: true } }),
    };
    await expect(send()).rejects.toThrow(/not an ARC response to this call/);
    answer = {
      status: 200,
      type: 'application/arc+json',
      body: (id) => JSON.stringify({ arc: '1.0', id, result: { success: true }, error: null }),
    };
    await expect(send()).resolves.toEqual({ success: true });
    // An error for no id (the server could not read it) is still the call's error.
    answer = {
      status: 200,
      type: 'application/arc+json',
      body: () => JSON.stringify({ arc: '1.0', id: null, error: { code: -32600, message: 'bad' } }),
    };
    await expect(send()).rejects.toMatchObject({ name: 'InvalidRequestError', code: -32600 });
    answer = {
      status: 401,
      type: 'application/json',
      body: (id) =>
        JSON.stringify({
          arc: '1.0',
          id,
          error: { code: -44001, message: 'Authentication failed', details: { reason: 'x' } },
        }),
    };
    await expect(send()).rejects.toMatchObject({
      name: 'AuthenticationError',
      code: -44001,
      details: { reason: 'x' },
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a call or a watch refused for the rate limit is made again after the wait it names', async () => {
  // In front of the real app: the first call and the first stream open are refused as arcd
  // refuses them (-44007 naming a wait; HTTP 200 for the call, 429 for the stream).
  let refuse = { call: 1, stream: 3, wait: 0 };
  const refusedAt: string[] = [];
  const front = await frontOf((req, body) => {
    const stream = req.method === 'GET';
    if (!(stream ? refuse.stream-- > 0 : refuse.call-- > 0)) return undefined;
    refusedAt.push(stream ? 'stream' : 'call');
    const id = stream ? null : (JSON.parse(body) as { id: unknown }).id;
    const error = {
      code: -44007,
      message: 'Rate limit exceeded',
      details: { retryAfterSeconds: refuse.wait },
    };
    const answer = JSON.stringify({ arc: '1.0', id, result: null, error });
    return { status: stream ? 429 : 200, type: 'application/arc+json', body: answer };
  });
  try {
    const endpoint = front.url;
    const patient = new ArcClient({ endpoint, requestAgent: 'sdk' });
    const created = await patient.task.create('echo', 'limited');
    expect(created.status).toBe('SUBMITTED');
    const events: string[] = [];
    for await (const event of patient.task.watch(created.taskId)) events.push(event.event);
    expect(events).toContain('TASK_COMPLETED');
    // A watch waits out more refusals in a row than a call (rateLimitRetries, 2): up to 20.
    expect(refusedAt).toEqual(['call', 'stream', 'stream', 'stream']);

    // Told at once: with no retries, or a wait past the client's bound.
    refuse = { call: 1, stream: 0, wait: 0 };
    const eager = new ArcClient({ endpoint, requestAgent: 'sdk', rateLimitRetries: 0 });
    await expect(eager.task.info('echo', created.taskId)).rejects.toBeInstanceOf(RateLimitError);
    refuse = { call: 1, stream: 0, wait: 120 };
    await expect(patient.task.info('echo', created.taskId)).rejects.toMatchObject({
      code: -44007,
      details: { retryAfterSeconds: 120 },
    });
  } finally {
    await front.close();
  }
});

/** An answer a front server gives instead of passing the request on. */
interface FrontAnswer {
  status: number;
  type: string;
  body: string;
}

/**
 * A server in front of the real app: a request `intercept` answers never reaches it (a string
 * is SSE text, with status 200); any other is passed on.
 */
async function frontOf(
  intercept: (req: http.IncomingMessage, body: string) => FrontAnswer | string | undefined,
) {
  const target = new URL(arcd.url);
  const front = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const given = intercept(req, body);
      if (given !== undefined) {
        const answer =
          typeof given === 'string'
            ? { status: 200, type: 'text/event-stream', body: given }
            : given;
        res.writeHead(answer.status, { 'content-type': answer.type });
        return void res.end(answer.body);
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => front.close(() => resolve())),
  };
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

test('a streamed chat refused for the rate limit before anything came is made again after the wait', async () => {
  let refusals = 1;
  const front = await frontOf((req, body) => {
    if (req.method !== 'POST' || !body.includes('"stream":true') || refusals-- <= 0)
      return undefined;
    // As arcd refuses a streamed call: -43005 carrying the rate limit's own code and wait.
    const error = {
      code: -43005,
      message: 'Rate limit exceeded',
      details: { code: -44007, retryAfterSeconds: 0 },
    };
    return sse('error', { chatId: null, error }) + sse('done', { chatId: null, status: 'ERROR' });
  });
  try {
    const patient = new ArcClient({ endpoint: front.url, requestAgent: 'sdk' });
    const chunks: string[] = [];
    for await (const chunk of patient.chat.startStream('echo', 'hello')) chunks.push(chunk.delta);
    expect(chunks.join('')).toContain('hello');
    expect(refusals).toBe(-1); // refused once, then passed on

    refusals = 1;
    const eager = new ArcClient({ endpoint: front.url, requestAgent: 'sdk', rateLimitRetries: 0 });
    const refused = (async () => {
      for await (const chunk of eager.chat.startStream('echo', 'hello')) void chunk;
    })();
    await expect(refused).rejects.toBeInstanceOf(RateLimitError);
  } finally {
    await front.close();
  }
});

test("a watch ends on the task's final STATUS_CHANGE, as the server does, not on the event before it", async () => {
  const streams: string[] = [];
  const event = (sequence: number, name: string) => ({
    taskId: 'task-1',
    sequence,
    event: name,
    timestamp: new Date().toISOString(),
    data: { status: 'COMPLETED', message: name },
  });
  // The first stream is cut cleanly between TASK_COMPLETED and its STATUS_CHANGE.
  const front = await frontOf((req) => {
    if (req.method !== 'GET') return undefined;
    streams.push(String(req.headers['last-event-id']));
    return streams.length === 1
      ? `id: 1\n${sse('TASK_COMPLETED', event(1, 'TASK_COMPLETED'))}`
      : `id: 2\n${sse('STATUS_CHANGE', event(2, 'STATUS_CHANGE'))}`;
  });
  try {
    const watcher = new ArcClient({ endpoint: front.url, requestAgent: 'sdk' });
    const seen: string[] = [];
    for await (const e of watcher.task.watch('task-1')) seen.push(e.event);
    expect(seen).toEqual(['TASK_COMPLETED', 'STATUS_CHANGE']);
    expect(streams).toEqual(['0', '1']);
  } finally {
    await front.close();
  }
});

test('a watch fed data that is not JSON fails with a transport error; an id line alone is no event', async () => {
  const front = await frontOf((req) =>
    req.method === 'GET'
      ? 'id: 7\n\nevent: STATUS_CHANGE\ndata: <html>maintenance</html>\n\n'
      : undefined,
  );
  try {
    const watcher = new ArcClient({ endpoint: front.url, requestAgent: 'sdk' });
    const watching = (async () => {
      for await (const e of watcher.task.watch('task-1')) void e;
    })();
    await expect(watching).rejects.toBeInstanceOf(ArcTransportError);
    await expect(watching).rejects.toThrow(/not JSON/);
  } finally {
    await front.close();
  }
});

test('task.wait rejects once its signal aborts, and no watch leaves a listener on the signal', async () => {
  const quiet = await startArcd({ agents: [sleeper] });
  const patient = new ArcClient({ endpoint: quiet.url, requestAgent: 'sdk' });
  const task = await patient.task.create('sleeper', 'nap');
  const waiting = patient.task.wait('sleeper', task.taskId, { signal: AbortSignal.timeout(200) });
  await expect(waiting).rejects.toMatchObject({ name: 'TimeoutError' });

  const shared = new AbortController();
  for (let i = 0; i < 3; i += 1) {
    const echo = await patient.task.create('echo', `n${i}`);
    expect((await patient.task.wait('echo', echo.taskId, { signal: shared.signal })).status).toBe(
      'COMPLETED',
    );
  }
  const chunks: string[] = [];
  for await (const chunk of patient.chat.startStream('echo', 'hi')) chunks.push(chunk.delta);
  expect(getEventListeners(shared.signal, 'abort')).toEqual([]);
});
