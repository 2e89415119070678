/**
 * POST /arc on plain node:http ahead of express: the same headers and answers for plain and
 * compressed (gzip, deflate, br: inflated here) bodies, one rate-limit budget across both, and
 * the express route behind it for what it leaves (an encoding it does not know).
 */
import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { type Running, post, startArcd } from '../helpers/arcServer';

let arcd: Running;
afterEach(async () => arcd?.close());

const create = (id: string) => ({
  arc: '1.0',
  id,
  method: 'task.create',
  requestAgent: 'tester',
  targetAgent: 'echo',
  params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: id }] } },
});

/** POSTs gzip-compressed JSON (inflated by the plain path, with the same size cap). */
async function postGzip(url: string, body: unknown) {
  const response = await fetch(`${url}/arc`, {
    method: 'POST',
    headers: { 'content-type': 'application/arc+json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify(body)),
  });
  return { headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const HELMET = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

test("POST /arc carries helmet's headers exactly as the express routes do", async () => {
  arcd = await startArcd();
  const arc = await fetch(`${arcd.url}/arc`, { method: 'POST', body: JSON.stringify(create('h')) });
  const health = await fetch(`${arcd.url}/health`);
  for (const name of HELMET) {
    expect([name, arc.headers.get(name)]).toEqual([name, health.headers.get(name)]);
    expect(arc.headers.get(name)).not.toBeNull();
  }
  expect(arc.headers.get('x-powered-by')).toBeNull();
  expect(arc.headers.get('content-type')).toBe('application/arc+json');
  expect(Number(arc.headers.get('content-length'))).toBe((await arc.text()).length);
});

test('the ARC route is /arc as spelled: /ARC is no route, whichever path would read it', async () => {
  arcd = await startArcd({ config: { auth: 'required', jwtSecret: 'a'.repeat(32) } });
  for (const path of ['/ARC', '/Arc/']) {
    const reply = await post(arcd.url, create('c'), { path });
    expect([path, reply.status]).toEqual([path, 404]);
    expect(reply.body.error).toMatch(/no route POST/);
  }
  const lower = await post(arcd.url, create('c'));
  expect(lower.body.error.code).toBe(-44001); // the token is asked for: the ARC route
});

test('a compressed body gets the same answer as a plain one', async () => {
  arcd = await startArcd();
  const plain = await post(arcd.url, create('plain'));
  const zipped = await postGzip(arcd.url, create('zipped'));
  expect(plain.body.result.task.status).toBe('SUBMITTED');
  expect(zipped.body).toMatchObject({
    arc: '1.0',
    id: 'zipped',
    error: null,
    result: { type: 'task', task: { status: 'SUBMITTED', assignedAgent: 'echo' } },
  });
  expect(zipped.headers.get('x-content-type-options')).toBe('nosniff');
});

test('plain and compressed bodies share one rate-limit budget, and say what is left of it', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 3 } });
  const first = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: JSON.stringify(create('r1')),
  });
  expect(first.headers.get('ratelimit-policy')).toBe('3;w=60');
  expect(first.headers.get('ratelimit')).toMatch(/^limit=3, remaining=2, reset=\d+$/);
  await post(arcd.url, create('r2'));
  const third = await postGzip(arcd.url, create('r3'));
  expect(third.body.error).toBeNull();
  expect(third.headers.get('ratelimit')).toMatch(/remaining=0/);
  const limited = await post(arcd.url, create('r4'));
  expect(limited.status).toBe(200);
  expect(limited.body).toMatchObject({ id: 'r4', error: { code: -44007 } });
  const limitedGzip = await postGzip(arcd.url, create('r5'));
  expect(limitedGzip.body).toMatchObject({ id: 'r5', error: { code: -44007 } });
});

test('a declared oversize body is refused before it is read; a body never sent closes the connection', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  const { port } = new URL(arcd.url);
  let closed!: () => void;
  const socketClosed = new Promise<void>((resolve) => (closed = resolve));
  const answer = await new Promise<{ status: number; text: string }>((resolve) => {
    const req = http.request(
      { port, method: 'POST', path: '/arc', headers: { 'content-length': 10_000_000 } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', () => undefined); // the close, once the rest never came
    req.on('close', () => closed());
    req.write('{"arc":"1.0"'); // far less than declared: the answer must not wait for the rest
  });
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).error.code).toBe(-45004);
  // The rest is waited for a while (read and dropped), then the connection is closed.
  await socketClosed;
});

test('a caller its token refuses is answered from its first bytes, not after its whole body', async () => {
  arcd = await startArcd({ config: { auth: 'required', jwtSecret: 'x'.repeat(40) } });
  const { port } = new URL(arcd.url);
  const head = JSON.stringify(create('refused-1')).slice(0, -1);
  const answer = await new Promise<{ connection?: string; text: string }>((resolve, reject) => {
    const req = http.request(
      { port, method: 'POST', path: '/arc', headers: { 'content-length': 1_000_000 } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ connection: res.headers.connection, text }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('no answer before the whole body')));
    req.on('error', reject);
    // Far more than the first bytes it needs, far less than declared: never sent in full.
    req.write(`${head},"filler":"${'x'.repeat(64 * 1024)}`);
  });
  expect(JSON.parse(answer.text)).toMatchObject({
    id: 'refused-1',
    error: { code: -44001, details: { reason: 'missing Bearer token' } },
  });
});

test('a compressed body that fails while its token is checked (a slow JWKS) is a parse error, not a crash', async () => {
  let asked = 0;
  const jwks = http.createServer((_req, res) => {
    asked += 1;
    // Slow: the body's inflating, were it started, would fail long before this answers.
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'),
      300,
    );
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = jwks.address() as { port: number };
    arcd = await startArcd({
      config: {
        auth: 'required',
        jwtJwksUrl: `http://127.0.0.1:${port}/jwks.json`,
        jwtIssuer: 'https://idp.test/',
        jwtAudience: 'arcd',
      },
    });
    const part = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url');
    const token = `${part({ alg: 'RS256', kid: 'k1' })}.${part({ sub: 'x' })}.c2ln`;
    const garbage = { 'content-encoding': 'gzip', authorization: `Bearer ${token}` };
    const answer = await fetch(`${arcd.url}/arc`, {
      method: 'POST',
      headers: garbage,
      body: 'not gzip at all',
    });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { error: { code: number } }).error.code).toBe(-32700);
    expect(asked).toBeGreaterThan(0);
    // Still serving.
    const next = await post(arcd.url, create('after'));
    expect(next.body.error.code).toBe(-44001);
  } finally {
    await new Promise((resolve) => jwks.close(resolve));
  }
});

test("refused tokens count against the address's rate budget, however long their bodies", async () => {
  arcd = await startArcd({
    config: { auth: 'required', jwtSecret: 'x'.repeat(40), rateLimitPerMinute: 2 },
  });
  const padded = { ...create('guess'), pad: 'x'.repeat(16 * 1024) };
  const codes = [];
  for (let i = 0; i < 3; i += 1) {
    const reply = await post(arcd.url, padded, { headers: { authorization: 'Bearer guess' } });
    codes.push(reply.body.error.code);
  }
  expect(codes).toEqual([-44001, -44001, -44007]);
});

/** Posts `head` and then filler past the cap, declared (Content-Length) or chunked. */
function postOversize(
  url: string,
  head: string,
  declare: boolean,
  more: Record<string, string> = {},
) {
  const { port } = new URL(url);
  const body = `${head}${'x'.repeat(4000)}"}}}`;
  return new Promise<{ type?: string; connection?: string; text: string }>((resolve, reject) => {
    const headers = declare ? { 'content-length': Buffer.byteLength(body), ...more } : more;
    const req = http.request({ port, method: 'POST', path: '/arc', headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({ type: res.headers['content-type'], connection: res.headers.connection, text }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    req.end(body);
  });
}

test('an oversize body is answered with the id and agents its first bytes hold', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  const head =
    '{"arc":"1.0","id":12345678901234567890,"method":"task.create","requestAgent":"big",' +
    '"targetAgent":"echo","traceId":"t-1","params":{"initialMessage":{"role":"user","parts":' +
    '[{"type":"TextPart","content":"';
  for (const declare of [true, false]) {
    const answer = await postOversize(arcd.url, head, declare);
    expect(answer.text).toContain('"id":12345678901234567890,');
    expect(JSON.parse(answer.text)).toMatchObject({
      responseAgent: 'echo',
      targetAgent: 'big',
      traceId: 't-1',
      result: null,
      error: { code: -45004, details: { limitBytes: 1024 } },
    });
  }
});

test('an oversize chat call that asked for a stream first gets its error as SSE', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  const head =
    '{"arc":"1.0","id":"c","method":"chat.start","requestAgent":"big","targetAgent":"echo",' +
    '"params":{"stream":true,"initialMessage":{"role":"user","parts":[{"type":"TextPart",' +
    '"content":"';
  const answer = await postOversize(arcd.url, head, true);
  expect(answer.type).toMatch(/^text\/event-stream/);
  expect(answer.text).toMatch(/^event: error\ndata: .*"code":-45004/m);
  expect(answer.text).toMatch(/^event: done\ndata: .*"status":"ERROR"/m);
});

test('an oversize chat call sent as SSE, its stream flag past the cut, gets its error as SSE', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  // The SDK's key order: the message first, `stream` after it (past the cut).
  const head =
    '{"arc":"1.0","id":"c","method":"chat.message","requestAgent":"big","targetAgent":"echo",' +
    '"params":{"chatId":"chat-1","message":{"role":"user","parts":[{"type":"TextPart",' +
    '"content":"';
  const sent = await postOversize(arcd.url, head, true, { 'content-type': 'text/event-stream' });
  expect(sent.type).toMatch(/^text\/event-stream/);
  expect(sent.text).toMatch(/^event: error\ndata: .*"code":-45004/m);
  expect(sent.text).toMatch(/^event: done\ndata: .*"chatId":"chat-1".*"status":"ERROR"/m);
  const plain = await postOversize(arcd.url, head, true, { 'content-type': 'application/json' });
  expect(JSON.parse(plain.text)).toMatchObject({ id: 'c', error: { code: -45004 } });
  // The SDK's call that does not stream accepts both, and reads JSON: it gets JSON.
  const accepting = await postOversize(arcd.url, head, true, {
    'content-type': 'application/arc+json',
    accept: 'application/arc+json, text/event-stream',
  });
  expect(accepting.type).toMatch(/^application\/arc\+json/);
  expect(JSON.parse(accepting.text)).toMatchObject({ id: 'c', error: { code: -45004 } });
});

test('a caller hanging up mid-body leaves the server answering others', async () => {
  arcd = await startArcd();
  const { port } = new URL(arcd.url);
  await new Promise<void>((resolve) => {
    const req = http.request({
      port,
      method: 'POST',
      path: '/arc',
      headers: { 'content-length': 1000 },
    });
    req.on('error', () => resolve());
    req.write('{"arc":"1.0",');
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 50);
  });
  const after = await post(arcd.url, create('after'));
  expect(after.body.error).toBeNull();
});

test('a compressed body that does not inflate is a parse error with HTTP 200, never a 500', async () => {
  arcd = await startArcd();
  for (const encoding of ['gzip', 'deflate', 'br']) {
    const response = await fetch(`${arcd.url}/arc`, {
      method: 'POST',
      headers: { 'content-type': 'application/arc+json', 'content-encoding': encoding },
      body: JSON.stringify(create(`not-${encoding}`)),
    });
    expect([encoding, response.status]).toEqual([encoding, 200]);
    // What is left of the body is not read: the connection is not kept for another request.
    expect([encoding, response.headers.get('connection')]).toEqual([encoding, 'close']);
    const body = (await response.json()) as { arc: string; error: { code: number } };
    expect([encoding, body.arc, body.error.code]).toEqual([encoding, '1.0', -32700]);
  }
  const cut = gzipSync(JSON.stringify(create('cut')));
  const truncated = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    headers: { 'content-encoding': 'gzip' },
    body: cut.subarray(0, cut.length - 8),
  });
  expect(truncated.status).toBe(200);
  expect(((await truncated.json()) as { error: { code: number } }).error.code).toBe(-32700);
});

test('a compressed body that does not inflate is a call of the rate budget', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 2 } });
  const broken = () =>
    fetch(`${arcd.url}/arc`, {
      method: 'POST',
      headers: { 'content-type': 'application/arc+json', 'content-encoding': 'gzip' },
      body: JSON.stringify(create('not-gzip')),
    });
  const codes = [];
  for (let i = 0; i < 3; i += 1) {
    const response = await broken();
    codes.push(((await response.json()) as { error: { code: number } }).error.code);
    if (i === 0) expect(response.headers.get('ratelimit')).toMatch(/remaining=1/);
  }
  expect(codes).toEqual([-32700, -32700, -44007]);
  expect((await post(arcd.url, create('after'))).body.error).toMatchObject({ code: -44007 });
});

test('a compressed body too large once inflated echoes its id, in its own protocol', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 4096 } });
  const big = 'x'.repeat(100_000); // compresses far below the cap, inflates far above it
  const arc = await postGzip(arcd.url, {
    ...create('big-arc'),
    params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: big }] } },
  });
  expect(arc.body).toMatchObject({ arc: '1.0', id: 'big-arc', error: { code: -45004 } });
  const rpc = await postGzip(arcd.url, {
    jsonrpc: '2.0',
    id: 17,
    method: 'task.create',
    requestAgent: 'tester',
    targetAgent: 'echo',
    params: { initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: big }] } },
  });
  expect(rpc.body).toMatchObject({ jsonrpc: '2.0', id: 17, error: { code: -45004 } });
  // An encoding this path does not know still goes to express, and is a parse error there.
  const odd = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    headers: { 'content-encoding': 'compress' },
    body: JSON.stringify(create('odd')),
  });
  expect(odd.status).toBe(200);
  expect(((await odd.json()) as { error: { code: number } }).error.code).toBe(-32700);
});

test('a rate-limited ARC call is answered in the ARC envelope whatever its params hold', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 1 } });
  await post(arcd.url, create('spend'));
  // "jsonrpc" as a key inside params: still an ARC call.
  const call = {
    ...create('tagged'),
    params: { ...create('tagged').params, metadata: { jsonrpc: 'x' } },
  };
  const limited = await post(arcd.url, call);
  expect(limited.body).toMatchObject({ arc: '1.0', id: 'tagged', error: { code: -44007 } });
  expect(limited.body.jsonrpc).toBeUndefined();
  const rpc = await post(arcd.url, { jsonrpc: '2.0', id: 7, method: 'task.info', params: {} });
  expect(rpc.body).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -44007 } });
});

test('a JSON-RPC batch counts one call per element against the rate limit', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 5 } });
  const batch = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'task.info',
      params: { taskId: 'none' },
      requestAgent: 'tester',
      targetAgent: 'echo',
    }));
  const first = await fetch(`${arcd.url}/arc`, { method: 'POST', body: JSON.stringify(batch(4)) });
  expect(first.headers.get('ratelimit')).toMatch(/remaining=1/);
  expect(((await first.json()) as unknown[]).length).toBe(4);
  // Refused whole: still a batch's answer, an array with one error per call, by its id; a
  // notification (no id) gets none, and a body of only notifications nothing at all.
  const [notification, ...calls] = batch(4);
  delete (notification as { id?: number }).id;
  const second = await post(arcd.url, [notification, ...calls]);
  expect(second.body).toEqual(
    [1, 2, 3].map((id) =>
      expect.objectContaining({
        jsonrpc: '2.0',
        id,
        error: expect.objectContaining({ code: -44007 }),
      }),
    ),
  );
  const quiet = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: JSON.stringify([notification]),
  });
  expect(quiet.status).toBe(204);
  const single = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: JSON.stringify(notification),
  });
  expect(single.status).toBe(204);
});

test('a compressed body answered early leaves its keep-alive connection to the next request', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  // Small compressed, large inflated: read whole before it is found too large.
  const big = JSON.stringify({ ...create('gz-1'), pad: 'x'.repeat(100_000) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const send = (body: Buffer, headers: Record<string, string>) =>
    new Promise<{ status: number; text: string; socket: unknown }>((resolve, reject) => {
      const req = http.request(
        `${arcd.url}/arc`,
        { method: 'POST', agent, headers: { 'content-type': 'application/arc+json', ...headers } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, socket: req.socket }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const early = await send(gzipSync(big), { 'content-encoding': 'gzip' });
  expect(JSON.parse(early.text).error.code).toBe(-45004);
  // Past the 2 s a linger would have waited: the same connection still serves.
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  const next = await send(Buffer.from(JSON.stringify(create('after'))), {});
  expect(JSON.parse(next.text)).toMatchObject({ id: 'after', error: null });
  expect(next.socket).toBe(early.socket);
  agent.destroy();
});

/** A JSON-RPC call of task.info for a task that does not exist (answered -42001). */
const infoCall = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'task.info',
  params: { taskId: 'none' },
  requestAgent: 'tester',
  targetAgent: 'echo',
});

test('a batch behind a byte order mark counts one call per element too', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 5 } });
  const batch = [0, 1, 2, 3].map(infoCall);
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const first = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: Buffer.concat([bom, Buffer.from(JSON.stringify(batch))]),
  });
  expect(((await first.json()) as unknown[]).length).toBe(4);
  expect(first.headers.get('ratelimit')).toMatch(/remaining=1/);
});

test('a batch refused for the rate limit costs one call of the budget, not all of its calls', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 10 } });
  const tooMany = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: JSON.stringify(Array.from({ length: 12 }, (_, i) => infoCall(i))),
  });
  const refused = (await tooMany.json()) as Array<{ error: { code: number } }>;
  expect(refused[0]!.error.code).toBe(-44007);
  // What the header says is left is what is left: the batch cost one call.
  expect(tooMany.headers.get('ratelimit')).toMatch(/remaining=9/);
  // 1 of 10 spent: the next calls still run (-42001: no such task, not -44007).
  const next = await post(arcd.url, [infoCall(100), infoCall(101)]);
  expect(next.body.map((answer: { error: { code: number } }) => answer.error.code)).toEqual([
    -42001, -42001,
  ]);
});

test('a batch over --max-batch, refused whole, costs one call of the rate budget', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 2, maxBatch: 2 } });
  const tooBig = await post(arcd.url, [infoCall(1), infoCall(2), infoCall(3)]);
  expect(tooBig.body).toMatchObject({ error: { code: -32600, data: { maxBatch: 2 } } });
  const next = await post(arcd.url, infoCall(4));
  expect(next.body.error.code).not.toBe(-44007); // one of two calls left, not none
});

test('a rate-limited chat call that asked for a stream gets its error as SSE', async () => {
  arcd = await startArcd({ config: { rateLimitPerMinute: 1 } });
  await post(arcd.url, create('spend'));
  const response = await fetch(`${arcd.url}/arc`, {
    method: 'POST',
    body: JSON.stringify({
      arc: '1.0',
      id: 'chat',
      method: 'chat.start',
      requestAgent: 'tester',
      targetAgent: 'echo',
      params: { stream: true, initialMessage: create('chat').params.initialMessage },
    }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await response.text();
  expect(text).toMatch(/^event: error\ndata: .*"code":-44007/m);
  expect(text).toMatch(/^event: done\ndata: .*"status":"ERROR"/m);
});

test('an answer that fails to serialize is an ARC internal error at HTTP 200, its id echoed', async () => {
  arcd = await startArcd();
  const { tasks } = arcd.server;
  // An answer JSON cannot write (a BigInt): the failure comes after the call was dispatched.
  tasks.info = async () => ({ taskId: 'task-x', size: 1n }) as never;
  const reply = await post(arcd.url, {
    ...create('r-1'),
    method: 'task.info',
    params: { taskId: 'task-x' },
  });
  expect(reply.status).toBe(200);
  expect(reply.contentType).toBe('application/arc+json');
  expect(reply.body).toMatchObject({
    arc: '1.0',
    id: 'r-1',
    result: null,
    error: { code: -32603, details: { errorId: expect.stringMatching(/^err-/) } },
  });
  // The server goes on answering.
  const next = await post(arcd.url, create('r-2'));
  expect(next.body).toMatchObject({ id: 'r-2', error: null });
});

/** POSTs `bytes` as they are, with `headers`: the answer's status, type and text. */
async function postBytes(
  url: string,
  bytes: Buffer | string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${url}/arc`, {
    method: 'POST',
    headers: { 'content-type': 'application/arc+json', ...headers },
    body: bytes,
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text: await response.text(),
  };
}

test('a body opening with a byte order mark is read as JSON (RFC 8259 lets a parser skip it)', async () => {
  arcd = await startArcd();
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const answer = await postBytes(
    arcd.url,
    Buffer.concat([bom, Buffer.from(JSON.stringify(create('b-1')))]),
  );
  expect(JSON.parse(answer.text)).toMatchObject({
    id: 'b-1',
    error: null,
    result: { type: 'task' },
  });
});

test('a body that is not UTF-8 is a parse error, its id echoed, and nothing stored', async () => {
  arcd = await startArcd();
  // Latin-1 "café": the caller's text would have been stored as "caf\uFFFD".
  const text = JSON.stringify(create('l-1')).replace('"content":"l-1"', '"content":"caf\u00e9"');
  const answer = await postBytes(arcd.url, Buffer.from(text, 'latin1'));
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text)).toMatchObject({
    arc: '1.0',
    id: 'l-1',
    error: { code: -32700, details: { reason: expect.stringMatching(/UTF-8/) } },
  });
  expect(await arcd.server.store.listTasks({ limit: 10 })).toEqual([]);
});

test('an unparsable ARC body whose params hold a "jsonrpc" key is answered in the ARC envelope', async () => {
  arcd = await startArcd();
  const text = JSON.stringify({
    ...create('j-1'),
    params: {
      initialMessage: { role: 'user', parts: [{ type: 'DataPart', content: { jsonrpc: '2.0' } }] },
    },
  });
  const answer = await postBytes(arcd.url, text.slice(0, -2)); // cut: unparsable
  expect(answer.type).toBe('application/arc+json');
  // Unparsable: no id is echoed (as JSON-RPC's parse error), but the envelope is ARC's.
  const reply = JSON.parse(answer.text);
  expect(reply).toMatchObject({ arc: '1.0', id: null, error: { code: -32700, details: {} } });
  expect(reply).not.toHaveProperty('jsonrpc');
});

test('an unparsable chat call sent as SSE gets its parse error as SSE', async () => {
  arcd = await startArcd();
  const head =
    '{"arc":"1.0","id":"s","method":"chat.message","requestAgent":"r","targetAgent":"echo",' +
    '"params":{"chatId":"chat-1","message":{"role":"user","parts":[{"type":"TextPart",' +
    '"content":"unfinished';
  const answer = await postBytes(arcd.url, head, { 'content-type': 'text/event-stream' });
  expect(answer.type).toMatch(/^text\/event-stream/);
  expect(answer.text).toMatch(/^event: error\ndata: .*"code":-32700/m);
  expect(answer.text).toMatch(/^event: done\ndata: .*"chatId":"chat-1".*"status":"ERROR"/m);
});

/**
 * A client that sends its whole request, body and all, and reads the answer only then (as
 * most do): the bytes that came back, or the socket's error.
 */
function sendWholeThenRead(url: string, head: string, body: Buffer): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.write(head);
    socket.write(body, () => {
      // Sent whole: the answer, once it has come in full (the server closes, or it is all here).
      const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
      socket.once('end', done);
      setTimeout(done, 500);
    });
  });
}

test('an oversize body sent whole before its answer is read gets its answer, not a reset', async () => {
  arcd = await startArcd({ config: { maxBodyBytes: 64 * 1024 } });
  const text = JSON.stringify({
    ...create('big-1'),
    params: {
      initialMessage: {
        role: 'user',
        parts: [{ type: 'TextPart', content: 'x'.repeat(4 * 1024 * 1024) }],
      },
    },
  });
  const body = Buffer.from(text);
  const head =
    `POST /arc HTTP/1.1\r\nHost: ${new URL(arcd.url).host}\r\n` +
    `Content-Type: application/arc+json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const answer = await sendWholeThenRead(arcd.url, head, body);
  expect(answer).toMatch(/^HTTP\/1\.1 200/);
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
    id: 'big-1',
    error: { code: -45004 },
  });
});
