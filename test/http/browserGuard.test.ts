/**
 * With auth off, a web page may not drive the server: a request whose Origin is not this
 * machine's, or (listening on loopback) whose Host is not a loopback name, is refused 403 on the
 * ARC routes, before anything is read or done. ARC clients send no Origin and are served; with
 * auth on, tokens guard every call and nothing is refused here.
 */
import http from 'node:http';
import { browserRefusal, isLoopbackName } from '../../src/http/browserGuard';
import { type Running, startArcd, textMessage } from '../helpers/arcServer';

function send(
  arcd: Running,
  headers: Record<string, string>,
  path = '/arc',
  method = 'POST',
): Promise<{ status: number; body: string }> {
  const { port } = new URL(arcd.url);
  const body = JSON.stringify({
    arc: '1.0',
    id: 1,
    method: 'task.create',
    requestAgent: 'page',
    targetAgent: 'echo',
    params: { initialMessage: textMessage('from a page') },
  });
  return new Promise((resolve, reject) => {
    const req = http.request({ port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

const created = async (arcd: Running) =>
  (await arcd.server.store.listTasks({ requestAgent: 'page', limit: 10 })).length;

test('auth off: a cross-site page and a rebound host name are refused; ARC clients and local pages are served', async () => {
  const arcd = await startArcd();
  const port = new URL(arcd.url).port;
  const plain = { 'content-type': 'text/plain' }; // what a page's "simple" POST may send
  const crossSite = await send(arcd, { ...plain, origin: 'https://evil.example' });
  expect(crossSite.status).toBe(403);
  expect(JSON.parse(crossSite.body).error).toMatchObject({ code: -44002, details: {} });
  const rebound = await send(arcd, { ...plain, host: `evil.example:${port}` });
  expect(rebound.status).toBe(403);
  const sandboxed = await send(arcd, { ...plain, origin: 'null' });
  expect(sandboxed.status).toBe(403);
  const stream = await send(arcd, { host: `evil.example:${port}` }, '/arc/tasks/x/events', 'GET');
  expect(stream.status).toBe(403);
  expect(await created(arcd)).toBe(0);

  // An ARC client (no Origin), and a page of this machine's (a local dashboard), are served.
  expect((await send(arcd, { 'content-type': 'application/arc+json' })).status).toBe(200);
  const local = await send(arcd, { ...plain, origin: 'http://localhost:3000' });
  expect(local.status).toBe(200);
  expect(await created(arcd)).toBe(2);
  // Discovery and trigger URLs are not ARC routes: not refused here.
  const card = await send(arcd, { host: `evil.example:${port}` }, '/health', 'GET');
  expect(card.status).toBe(200);
});

test('auth on: tokens guard the calls, the guard refuses nothing', async () => {
  const arcd = await startArcd({
    config: { auth: 'required', jwtSecret: 'a browser guard test secret, long enough' },
  });
  const answer = await send(arcd, { origin: 'https://evil.example' });
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body).error).toMatchObject({ code: -44001 });
});

test('loopback names and the refusal rules', () => {
  for (const name of [
    'localhost',
    'app.localhost',
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    'LOCALHOST.',
  ]) {
    expect(isLoopbackName(name)).toBe(true);
  }
  for (const name of ['evil.example', '10.0.0.1', '0.0.0.0', 'localhost.evil.example', '::']) {
    expect(isLoopbackName(name)).toBe(false);
  }
  const req = (headers: Record<string, string>, url = '/arc') => ({ headers, url });
  expect(browserRefusal(req({ host: '[::1]:8080' }), true)).toBeUndefined();
  expect(
    browserRefusal(req({ host: '127.0.0.1:8080', origin: 'http://[::1]:3000' }), true),
  ).toBeUndefined();
  // Listening on all addresses (the operator's choice): any Host, still no foreign page.
  expect(browserRefusal(req({ host: '10.0.0.5:8080' }), false)).toBeUndefined();
  expect(browserRefusal(req({ host: '10.0.0.5:8080', origin: 'http://10.0.0.9' }), false)).toMatch(
    /web page at http:\/\/10.0.0.9/,
  );
  expect(browserRefusal(req({ host: 'evil.example' }, '/triggers/abc'), true)).toBeUndefined();
  expect(browserRefusal(req({ host: 'evil.example' }, '/?x=1'), true)).toMatch(/host evil/);
  expect(browserRefusal(req({ host: 'evil.example' }, '/arc/tasks/t/events?a'), true)).toMatch(
    /host evil/,
  );
  expect(browserRefusal(req({ host: 'evil.example' }, '/arcade'), true)).toBeUndefined();
  // A Host served once (remembered) does not let the next, different one through.
  for (let i = 0; i < 2; i++) {
    expect(browserRefusal(req({ host: 'localhost:9' }), true)).toBeUndefined();
    expect(browserRefusal(req({ host: 'localhost.evil:9' }), true)).toMatch(/host localhost.evil/);
    expect(browserRefusal(req({ host: 'localhost:9', origin: 'http://e.x' }), true)).toMatch(
      /web page at http:\/\/e.x/,
    );
  }
});
