/**
 * ARC chats on the real app: start, message, end, their errors, stored history, and streaming
 * as the Python client parses it (checked on the raw bytes: LF only, `event:` then one compact
 * `data:` line, `stream` chunks then `done`; errors as `error` then `done` with ERROR).
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  arcCall,
  arcResult,
  post,
  startArcd,
  textMessage,
  waitFor,
} from '../helpers/arcServer';
import { tempDbFile } from '../helpers/tempDb';

function rawPost(
  url: string,
  body: unknown,
): Promise<{ status: number; type: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/arc`,
      { method: 'POST', headers: { 'content-type': 'text/event-stream' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            raw: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function parseSse(raw: string) {
  expect(raw).not.toContain('\r');
  expect(raw.endsWith('\n\n')).toBe(true);
  return raw
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: (stream|done|error)$/);
      expect(lines[1]).toMatch(/^data: \{.*\}$/);
      return { event: lines[0]!.slice(7), data: JSON.parse(lines[1]!.slice(6)) };
    });
}

const envelope = (method: string, params: object, targetAgent = 'echo') => ({
  arc: '1.0',
  id: 1,
  method,
  requestAgent: 'me',
  targetAgent,
  params,
});

let arcd: Running;
beforeEach(async () => {
  const broken = defineAgent({
    id: 'broken',
    description: 'fails halfway through its chat reply',
    handle: () => undefined,
    async *chat() {
      yield 'half ';
      throw new Error('lost my train of thought');
    },
  });
  arcd = await startArcd({ agents: [broken] });
});

test('a streamed chat reply has the exact byte format, word by word', async () => {
  const reply = await rawPost(
    arcd.url,
    envelope('chat.start', { initialMessage: textMessage('hello brave new world'), stream: true }),
  );
  expect(reply.status).toBe(200);
  expect(reply.type).toMatch(/^text\/event-stream/);
  const events = parseSse(reply.raw);
  const chatId = events[0]!.data.chatId;
  expect(chatId).toMatch(/^chat-/);
  expect(events.slice(0, -1).every((e) => e.event === 'stream')).toBe(true);
  expect(
    events
      .slice(0, -1)
      .map((e) => e.data.message.parts[0].content)
      .join(''),
  ).toBe('hello brave new world');
  expect(events.filter((e) => e.event === 'stream').length).toBeGreaterThanOrEqual(4);
  expect(events[0]!.data.message).toEqual({
    role: 'agent',
    parts: [{ type: 'TextPart', content: 'hello' }],
  });
  expect(events.at(-1)).toEqual({ event: 'done', data: { chatId, status: 'ACTIVE', done: true } });

  const next = await rawPost(
    arcd.url,
    envelope('chat.message', { chatId, message: textMessage('again'), stream: true }),
  );
  expect(parseSse(next.raw).at(-1)!.data).toEqual({ chatId, status: 'ACTIVE', done: true });
  expect(await arcd.server.store.listChatMessages(chatId)).toHaveLength(4);
});

test('errors of stream requests come as SSE too', async () => {
  const unknown = parseSse(
    (
      await rawPost(
        arcd.url,
        envelope('chat.message', { chatId: 'chat-nope', message: textMessage('x'), stream: true }),
      )
    ).raw,
  );
  expect(unknown).toEqual([
    {
      event: 'error',
      data: {
        chatId: 'chat-nope',
        // ARC's code for every error inside a stream; the error's own in details.
        error: {
          code: -43005,
          message: expect.any(String),
          details: { chatId: 'chat-nope', code: -43001 },
        },
      },
    },
    { event: 'done', data: { chatId: 'chat-nope', status: 'ERROR', done: true } },
  ]);
  const midway = parseSse(
    (
      await rawPost(
        arcd.url,
        envelope('chat.start', { initialMessage: textMessage('go'), stream: true }, 'broken'),
      )
    ).raw,
  );
  expect(midway.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
  expect(midway[1]!.data.error).toEqual({
    code: -43005,
    message: expect.stringMatching(/lost my train of thought/),
    details: { chatId: expect.any(String), code: -43005 },
  });
  expect(midway[2]!.data.status).toBe('ERROR');
  // Without streaming, the same failure is the same error.
  const whole = await arcCall(
    arcd.url,
    'chat.start',
    { initialMessage: textMessage('go') },
    { targetAgent: 'broken' },
  );
  expect(whole.body.error).toMatchObject({
    code: -43005,
    message: expect.stringMatching(/lost my train of thought/),
    details: { chatId: expect.any(String) },
  });
  const version = parseSse(
    (
      await rawPost(arcd.url, {
        ...envelope('chat.start', { initialMessage: textMessage('x'), stream: true }),
        arc: '0.9',
      })
    ).raw,
  );
  expect(version[0]!.data.error).toMatchObject({ code: -43005, details: { code: -45001 } });
});

test("a reply the store refuses is an error id, never the store's own text", async () => {
  const db = new Database(arcd.db);
  db.exec(`CREATE TRIGGER refuse_replies BEFORE INSERT ON chat_messages
    WHEN NEW.role = 'agent' BEGIN SELECT RAISE(ABORT, 'disk at /srv/secret is on fire'); END`);
  db.close();
  const start = (stream: boolean) =>
    envelope('chat.start', { initialMessage: textMessage('hi'), stream });
  const streamed = parseSse((await rawPost(arcd.url, start(true))).raw);
  expect(streamed.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
  expect(streamed[1]!.data.error.code).toBe(-43005);
  expect(streamed[1]!.data.error.message).toMatch(/error id err-/);
  const whole = await arcCall(arcd.url, 'chat.start', { initialMessage: textMessage('hi') });
  expect(whole.body.error).toMatchObject({
    code: -32603,
    details: { errorId: expect.any(String) },
  });
  for (const text of [JSON.stringify(streamed), JSON.stringify(whole.body)]) {
    expect(text).not.toMatch(/secret|fire/);
  }
});

test('empty chunks of a reply are not sent; an empty reply is the agent failing to reply', async () => {
  const terse = defineAgent({
    id: 'terse',
    description: 'says little, or nothing',
    handle: () => undefined,
    async *chat(ctx) {
      if (ctx.text() === 'nothing') return;
      yield '';
      yield 'ok';
      yield '';
    },
  });
  arcd = await startArcd({ agents: [terse] });
  const streamed = parseSse(
    (
      await rawPost(
        arcd.url,
        envelope('chat.start', { initialMessage: textMessage('something'), stream: true }, 'terse'),
      )
    ).raw,
  );
  expect(streamed.map((e) => e.event)).toEqual(['stream', 'done']);
  expect(streamed[0]!.data.message.parts).toEqual([{ type: 'TextPart', content: 'ok' }]);
  const chatId = streamed[0]!.data.chatId;
  const silent = await post(
    arcd.url,
    envelope('chat.message', { chatId, message: textMessage('nothing') }, 'terse'),
  );
  expect(silent.body.error).toMatchObject({
    code: -43005,
    message: 'the agent failed while replying: its reply was empty',
  });
  // Kept as after any failed reply: the caller's message, answered by none.
  const db = new Database(arcd.db, { readonly: true });
  const stored = db
    .prepare('SELECT role, parts FROM chat_messages WHERE chat_id = ? ORDER BY seq')
    .all(chatId) as Array<{ role: string; parts: string }>;
  db.close();
  expect(stored.map((m) => [m.role, JSON.parse(m.parts)[0].content])).toEqual([
    ['user', 'something'],
    ['agent', 'ok'],
    ['user', 'nothing'],
  ]);
});

test('start, message and end without streaming; closed and unknown chats', async () => {
  const { chat } = await arcResult(arcd.url, 'chat.start', {
    initialMessage: textMessage('hi there'),
    metadata: { topic: 'x' },
  });
  expect(chat).toMatchObject({
    status: 'ACTIVE',
    message: { role: 'agent', parts: [{ type: 'TextPart', content: 'hi there' }] },
    participants: ['tester', 'echo'],
    metadata: { topic: 'x' },
  });
  const second = await arcResult(arcd.url, 'chat.message', {
    chatId: chat.chatId,
    message: textMessage('more'),
  });
  expect(second.chat.message.parts[0].content).toBe('more');
  const ended = await arcResult(arcd.url, 'chat.end', {
    chatId: chat.chatId,
    reason: 'done talking',
  });
  expect(ended.chat).toMatchObject({
    chatId: chat.chatId,
    status: 'CLOSED',
    reason: 'done talking',
    closedAt: expect.any(String),
  });
  for (const [method, params] of [
    ['chat.message', { chatId: chat.chatId, message: textMessage('hello?') }],
    ['chat.end', { chatId: chat.chatId }],
  ] as const) {
    expect((await arcCall(arcd.url, method, params)).body.error).toMatchObject({
      code: -43002,
      details: { chatId: chat.chatId },
    });
  }
  expect((await arcCall(arcd.url, 'chat.end', { chatId: 'chat-x' })).body.error).toMatchObject({
    code: -43001,
    details: { chatId: 'chat-x' },
  });
  const other = await arcCall(
    arcd.url,
    'chat.message',
    { chatId: chat.chatId, message: textMessage('x') },
    { requestAgent: 'mallory' },
  );
  expect(other.body.error).toMatchObject({ code: -43001 });
  expect(await arcd.server.store.listChatMessages(chat.chatId)).toHaveLength(4);
});

test('a chat.start whose chatId another start took meanwhile is told the id is taken', async () => {
  const start = () =>
    arcCall(arcd.url, 'chat.start', { chatId: 'chat-twice', initialMessage: textMessage('hi') });
  expect((await start()).body.error).toBeNull();
  // As if the other start (another process) created it after this one looked.
  jest.spyOn(arcd.server.store, 'getChat').mockResolvedValueOnce(undefined);
  expect((await start()).body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'chatId' }] },
  });
});

test('a chat.end racing another is told the chat is closed, and the first reason stays', async () => {
  const { chat } = await arcResult(arcd.url, 'chat.start', { initialMessage: textMessage('hi') });
  const active = await arcd.server.store.getChat(chat.chatId);
  await arcResult(arcd.url, 'chat.end', { chatId: chat.chatId, reason: 'first' });
  // As if this end read the chat before the other one's close was written.
  jest.spyOn(arcd.server.store, 'getChat').mockResolvedValueOnce(active);
  const second = await arcCall(arcd.url, 'chat.end', { chatId: chat.chatId, reason: 'second' });
  expect(second.body.error).toMatchObject({ code: -43002, details: { chatId: chat.chatId } });
  expect(await arcd.server.store.getChat(chat.chatId)).toMatchObject({
    status: 'CLOSED',
    reason: 'first',
  });
});

test("a chat's updatedAt is the server's time, not the message's timestamp", async () => {
  const message = { ...textMessage('from the past'), timestamp: '2001-01-01T00:00:00Z' };
  // The broken agent's reply fails: the caller's message alone moves the chat.
  const started = await arcCall(
    arcd.url,
    'chat.start',
    { chatId: 'chat-old-clock', initialMessage: message },
    { targetAgent: 'broken' },
  );
  expect(started.body.error).not.toBeNull();
  const stored = await arcd.server.store.getChat('chat-old-clock');
  expect(stored!.messageCount).toBe(1);
  expect(stored!.updatedAt >= stored!.createdAt).toBe(true);
});

test('an agent without a chat handler is not available for chat', async () => {
  const reply = await arcCall(
    arcd.url,
    'chat.start',
    { initialMessage: textMessage('x') },
    { targetAgent: 'slow' },
  );
  expect(reply.body.error).toMatchObject({ code: -41002, details: { agentId: 'slow' } });
});

test('JSON-RPC chat calls answer JSON even when asked to stream', async () => {
  const reply = await post(arcd.url, {
    jsonrpc: '2.0',
    id: 3,
    method: 'chat.start',
    params: { initialMessage: textMessage('a b'), stream: true },
    targetAgent: 'echo',
    requestAgent: 'me',
  });
  expect(reply.body).toMatchObject({
    jsonrpc: '2.0',
    id: 3,
    result: { type: 'chat', chat: { message: { parts: [{ content: 'a b' }] } } },
  });
});

describe('a reply nobody waits for any more', () => {
  let aborted: string[];
  let waiting: Running;
  const storedMessages = () => {
    const db = new Database(waiting.db, { readonly: true });
    const { n } = db.prepare('SELECT COUNT(*) AS n FROM chat_messages').get() as { n: number };
    db.close();
    return n;
  };
  beforeEach(async () => {
    aborted = [];
    const ponder = defineAgent({
      id: 'ponder',
      description: 'takes a minute to answer, unless stopped',
      handle: () => undefined,
      chat: (ctx) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => resolve('after a minute'), 60_000);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborted.push(String((ctx.signal.reason as Error).message));
            reject(ctx.signal.reason as Error);
          });
        }),
    });
    waiting = await startArcd({ agents: [ponder], bundled: false });
  });

  test('a streaming caller that hangs up stops the handler, and no reply is stored', async () => {
    const req = http.request(`${waiting.url}/arc`, {
      method: 'POST',
      headers: { 'content-type': 'application/arc+json' },
    });
    req.on('error', () => undefined);
    req.end(
      JSON.stringify(
        envelope('chat.start', { initialMessage: textMessage('why?'), stream: true }, 'ponder'),
      ),
    );
    await waitFor('the handler started', async () => (storedMessages() > 0 ? true : undefined));
    req.destroy();
    await waitFor('the handler stopped', async () => (aborted.length > 0 ? true : undefined));
    expect(aborted).toEqual(['the caller went away']);
    const db = new Database(waiting.db, { readonly: true });
    const roles = db.prepare('SELECT role FROM chat_messages').all();
    db.close();
    expect(roles).toEqual([{ role: 'user' }]);
  });

  test('a chat ended while its reply streams stops the reply, and nothing is added to it', async () => {
    const streamed = rawPost(
      waiting.url,
      envelope(
        'chat.start',
        { chatId: 'chat-ended', initialMessage: textMessage('why?'), stream: true },
        'ponder',
      ),
    );
    await waitFor('the handler started', async () => (storedMessages() > 0 ? true : undefined));
    const ended = await arcResult(
      waiting.url,
      'chat.end',
      { chatId: 'chat-ended' },
      { targetAgent: 'ponder', requestAgent: 'me' },
    );
    expect(ended.chat.status).toBe('CLOSED');
    const events = parseSse((await streamed).raw);
    expect(events.map((e) => e.event)).toEqual(['error', 'done']);
    expect(events[0]!.data.error.message).toMatch(/closed/);
    expect(events[1]!.data.status).toBe('ERROR');
    expect(aborted).toEqual(['Chat already closed: chat-ended']);
    expect(storedMessages()).toBe(1); // the question only
  });

  test('a shutdown stops a handler a caller waits on without streaming', async () => {
    const call = arcCall(
      waiting.url,
      'chat.start',
      { initialMessage: textMessage('why?') },
      { targetAgent: 'ponder' },
    ).catch(() => undefined);
    await waitFor('the handler started', async () => (storedMessages() > 0 ? true : undefined));
    await waiting.close();
    await call;
    expect(aborted).toEqual(['the server is shutting down']);
  });
});

test('a reply rejected with no reason, or with a string, is -43005 all the same, streamed or not', async () => {
  const odd = defineAgent({
    id: 'odd',
    description: 'fails to reply without an Error',
    handle: () => undefined,
    async *chat(ctx) {
      yield 'a start';
      throw ctx.text() === 'string' ? 'out of tokens' : undefined;
    },
  });
  arcd = await startArcd({ agents: [odd] });
  const start = (text: string, stream: boolean) =>
    envelope('chat.start', { initialMessage: textMessage(text), stream }, 'odd');
  const streamed = parseSse((await rawPost(arcd.url, start('nothing', true))).raw);
  expect(streamed.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
  expect(streamed[1]!.data.error).toMatchObject({
    code: -43005,
    message: 'the agent failed while replying: it gave no reason',
  });
  expect(streamed[2]!.data).toMatchObject({ status: 'ERROR', done: true });
  const whole = await post(arcd.url, start('string', false));
  expect(whole.body.error).toMatchObject({
    code: -43005,
    message: 'the agent failed while replying: out of tokens',
  });
});

test("a reply past the agent's declared time limit is -41006, though its handler never returns", async () => {
  let aborted = 0;
  const stuck = defineAgent({
    id: 'stuck',
    description: 'starts a reply, then waits on a call that never returns',
    limits: { timeoutMs: 200 },
    handle: () => undefined,
    async *chat(ctx) {
      ctx.signal.addEventListener('abort', () => (aborted += 1));
      yield 'thinking…';
      await new Promise(() => undefined); // heeds no signal
    },
  });
  arcd = await startArcd({ agents: [stuck] });
  const start = (stream: boolean) =>
    envelope('chat.start', { initialMessage: textMessage('hi'), stream }, 'stuck');
  const streamed = parseSse((await rawPost(arcd.url, start(true))).raw);
  expect(streamed.map((e) => e.event)).toEqual(['stream', 'error', 'done']);
  expect(streamed[1]!.data.error).toMatchObject({
    code: -43005,
    details: { code: -41006, agentId: 'stuck', timeoutMs: 200 },
  });
  const whole = await post(arcd.url, start(false));
  expect(whole.body.error).toMatchObject({
    code: -41006,
    details: { agentId: 'stuck', timeoutMs: 200, chatId: expect.stringMatching(/^chat-/) },
  });
  expect(aborted).toBe(2); // each handler was told by its signal
  // The chat the failed start opened is named, so its caller can end it.
  const { chatId } = whole.body.error.details;
  const on = { targetAgent: 'stuck', requestAgent: 'me' };
  const ended = await arcResult(arcd.url, 'chat.end', { chatId }, on);
  expect(ended.chat.status).toBe('CLOSED');
});

test("a reply past the message limit stops the agent and fails, as the caller's message would", async () => {
  let aborted = false;
  const endless = defineAgent({
    id: 'endless',
    description: 'talks for ever',
    handle: () => undefined,
    async *chat(ctx) {
      ctx.signal.addEventListener('abort', () => (aborted = true));
      for (;;) yield 'word ';
    },
  });
  arcd = await startArcd({ agents: [endless], config: { maxMessageBytes: 1000 } });
  const start = envelope(
    'chat.start',
    { initialMessage: textMessage('hi'), stream: true },
    'endless',
  );
  const events = parseSse((await rawPost(arcd.url, start)).raw);
  expect(events.at(-2)!.data.error).toMatchObject({
    code: -43005,
    message: expect.stringMatching(/passed the message limit \(1000 bytes\)/),
  });
  const sent = events.filter((e) => e.event === 'stream').length;
  expect(sent).toBe(200); // 'word ' is 5 bytes: the 201st would pass 1,000
  expect(aborted).toBe(true);
  const chatId = events[0]!.data.chatId;
  expect(await arcd.server.store.listChatMessages(chatId)).toHaveLength(1); // no reply kept
});

test("a reader slower than the agent's time limit does not count against the agent", async () => {
  const chunk = 'x'.repeat(64 * 1024);
  const fast = defineAgent({
    id: 'fast',
    description: 'replies 8 MB at once, well within its time limit',
    limits: { timeoutMs: 400 },
    handle: () => undefined,
    async *chat() {
      for (let i = 0; i < 128; i += 1) yield chunk;
    },
  });
  const limit = 16 * 1024 * 1024;
  arcd = await startArcd({
    agents: [fast],
    config: { maxMessageBytes: limit, maxPartBytes: limit },
  });
  const body = JSON.stringify(
    envelope('chat.start', { initialMessage: textMessage('hi'), stream: true }, 'fast'),
  );
  // Reads a first piece, then nothing for a second (more than the agent's 400 ms), then all.
  const raw = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      `${arcd.url}/arc`,
      { method: 'POST', headers: { 'content-type': 'text/event-stream' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.once('data', () => {
          res.pause();
          setTimeout(() => res.resume(), 1_000);
        });
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const events = parseSse(raw);
  expect(events.at(-1)!.event).toBe('done');
  expect(events.at(-1)!.data.status).toBe('ACTIVE');
  expect(events.filter((e) => e.event === 'stream')).toHaveLength(128);
});

test("a caller's message sent as the agent carries the caller's id in the history", async () => {
  const seen: Array<{ role: string; agentId?: string }> = [];
  const recorder = defineAgent({
    id: 'recorder',
    description: 'says what it saw',
    handle: () => undefined,
    async *chat(ctx) {
      seen.push(...ctx.history.map((m) => ({ role: m.role, agentId: m.agentId })));
      yield 'seen';
    },
  });
  const here = await startArcd({ agents: [recorder], bundled: false });
  const message = {
    role: 'agent',
    agentId: 'recorder',
    parts: [{ type: 'TextPart', content: 'x' }],
  };
  await arcResult(
    here.url,
    'chat.start',
    { initialMessage: message },
    { targetAgent: 'recorder', requestAgent: 'me' },
  );
  expect(seen).toEqual([{ role: 'agent', agentId: 'me' }]);
});

describe('a chat ended around a reply', () => {
  let calls: string[];
  const chatty = defineAgent({
    id: 'chatty',
    description: 'replies a word every 100 ms, up to 50, until stopped',
    handle: () => undefined,
    async *chat(ctx) {
      calls.push(ctx.text());
      for (let i = 0; i < 50 && !ctx.signal.aborted; i += 1) {
        yield `w${i} `;
        await new Promise((resolve) => setTimeout(resolve, ctx.text() === 'slowly' ? 100 : 0));
      }
    },
  });
  const on = { targetAgent: 'chatty', requestAgent: 'me' };
  beforeEach(() => {
    calls = [];
  });

  test('a chat ended as a message is stored never runs its handler for it', async () => {
    const here = await startArcd({ agents: [chatty], bundled: false });
    await arcResult(
      here.url,
      'chat.start',
      { chatId: 'c-race', initialMessage: textMessage('hi') },
      on,
    );
    // The end lands between the message's store and the reply's start.
    const { store } = here.server;
    const list = store.listChatMessages.bind(store);
    store.listChatMessages = async (chatId) => {
      const read = await list(chatId);
      if (read.length === 3) await arcResult(here.url, 'chat.end', { chatId }, on);
      return read;
    };
    const refused = await arcCall(
      here.url,
      'chat.message',
      { chatId: 'c-race', message: textMessage('more') },
      on,
    );
    expect(refused.body.error).toMatchObject({ code: -43002 });
    expect(calls).toEqual(['hi']);
  });

  test('a chat ended by another process stops the reply streaming here', async () => {
    const db = tempDbFile('chat');
    const here = await startArcd({ db, agents: [chatty], bundled: false });
    const there = await startArcd({ db, agents: [chatty], bundled: false });
    const streamed = rawPost(
      here.url,
      envelope(
        'chat.start',
        { chatId: 'c-far', initialMessage: textMessage('slowly'), stream: true },
        'chatty',
      ),
    );
    await waitFor('the reply started', async () => (calls.length > 0 ? true : undefined));
    await arcResult(there.url, 'chat.end', { chatId: 'c-far' }, on);
    const events = parseSse((await streamed).raw);
    expect(events.at(-2)?.event).toBe('error');
    expect(events.at(-2)?.data.error.message).toMatch(/closed/);
    // Stopped within a look or two, not after its 50 words.
    expect(events.filter((e) => e.event === 'stream').length).toBeLessThan(50);
  });
});
