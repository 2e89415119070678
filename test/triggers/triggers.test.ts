/**
 * Triggers through HTTP: trigger.create's secret URL creating a task with the POSTed JSON
 * merged into its DataPart, Standard Webhooks signatures when asked for, request keys making
 * redeliveries harmless, list/delete, and every bad request answered plainly.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { defineAgent } from '../../src/agents/contract';
import {
  type WireJson,
  arcCall,
  arcResult,
  startArcd,
  taskInfo,
  waitForStatus,
} from '../helpers/arcServer';
import { FIRE_KEY_DAYS } from '../../src/tasks/retentionPurge';

const seen: WireJson[] = [];
const inbox = defineAgent({
  id: 'inbox',
  description: 'records the data parts it is given',
  handle(ctx) {
    seen.push(ctx.input[0]?.parts);
    return 'noted';
  },
});

async function postTo(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as WireJson };
}

test('a trigger URL creates a task with the posted JSON merged over its input', async () => {
  const arcd = await startArcd({ agents: [inbox] });
  const { trigger } = await arcResult(
    arcd.url,
    'trigger.create',
    {
      input: { source: 'github', branch: 'main' },
      text: 'A push arrived',
      priority: 'HIGH',
      metadata: { team: 'ci' },
    },
    { targetAgent: 'inbox' },
  );
  expect(trigger).toMatchObject({
    triggerId: expect.stringMatching(/^trg-/),
    targetAgent: 'inbox',
    requestAgent: 'tester',
    signed: false,
    url: expect.stringMatching(new RegExp(`^${arcd.url}/triggers/[A-Za-z0-9_-]{43}$`)),
  });
  const fired = await postTo(trigger.url, JSON.stringify({ branch: 'release', commits: 3 }));
  expect(fired).toEqual({
    status: 202,
    body: {
      taskId: expect.stringMatching(/^task-/),
      status: 'SUBMITTED',
      triggerId: trigger.triggerId,
    },
  });
  const task = await waitForStatus(arcd.url, 'inbox', fired.body.taskId, ['COMPLETED']);
  expect(task).toMatchObject({
    priority: 'HIGH',
    requestAgent: 'tester',
    metadata: { team: 'ci', trigger: { triggerId: trigger.triggerId } },
  });
  expect(task.messages[0].parts).toEqual([
    { type: 'TextPart', content: 'A push arrived' },
    {
      type: 'DataPart',
      content: { source: 'github', branch: 'release', commits: 3 },
      mimeType: 'application/json',
    },
  ]);
  expect(seen.at(-1)).toEqual(task.messages[0].parts);
  const empty = await postTo(trigger.url, '');
  expect(empty.status).toBe(202);
  const [listed] = (await arcResult(arcd.url, 'trigger.list', {})).triggers;
  expect(listed).toMatchObject({ triggerId: trigger.triggerId, fireCount: 2 });
  expect(listed).not.toHaveProperty('url');
});

test('a signed trigger accepts only Standard Webhooks signatures made with its secret', async () => {
  const arcd = await startArcd();
  const { trigger } = await arcResult(arcd.url, 'trigger.create', { signed: true });
  expect(trigger.signingSecret).toMatch(/^whsec_/);
  const body = JSON.stringify({ event: 'deploy' });
  const sign = (id: string, at: Date, secret = trigger.signingSecret) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  });
  expect((await postTo(trigger.url, body)).status).toBe(401);
  const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  expect((await postTo(trigger.url, body, sign('msg_1', new Date(), other))).status).toBe(401);
  const stale = new Date(Date.now() - 10 * 60_000);
  expect((await postTo(trigger.url, body, sign('msg_1', stale))).status).toBe(401);
  const tampered = await postTo(
    trigger.url,
    JSON.stringify({ event: 'drop' }),
    sign('msg_1', new Date()),
  );
  expect(tampered.status).toBe(401);
  const first = await postTo(trigger.url, body, sign('msg_1', new Date()));
  expect(first.status).toBe(202);
  const redelivered = await postTo(trigger.url, body, sign('msg_1', new Date()));
  expect(redelivered).toEqual({
    status: 200,
    body: { taskId: first.body.taskId, duplicate: true },
  });
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toHaveLength(1);
});

test('a signed trigger: a bad body with a good signature is 400, a part over the limits 413', async () => {
  const arcd = await startArcd({ config: { maxPartBytes: 1024 } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', { signed: true });
  const signed = (body: string) => {
    const at = new Date();
    return {
      'webhook-id': `msg_${body.length}`,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(trigger.signingSecret).sign(`msg_${body.length}`, at, body),
    };
  };
  const notJson = '{not json';
  expect((await postTo(trigger.url, notJson, signed(notJson))).status).toBe(400);
  // Within the body limit, over the part limit: the part the body makes is refused, plainly.
  const big = JSON.stringify({ big: 'x'.repeat(2000) });
  const tooBig = await postTo(trigger.url, big, signed(big));
  expect(tooBig).toMatchObject({ status: 413, body: { code: -45004 } });
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toEqual([]);
});

test('an Idempotency-Key makes an unsigned redelivery return the first task', async () => {
  const arcd = await startArcd();
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const once = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  const twice = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  const other = await postTo(trigger.url, '{"n":2}', { 'idempotency-key': 'k2' });
  expect(once.status).toBe(202);
  expect(twice.body).toEqual({ taskId: once.body.taskId, duplicate: true });
  expect(other.body.taskId).not.toBe(once.body.taskId);
  expect(
    (await taskInfo(arcd.url, 'echo', other.body.taskId)).messages[0].parts[0].content,
  ).toEqual({
    n: 2,
  });
});

test('a repeated key is answered as a duplicate even when a new task would be refused', async () => {
  const held = defineAgent({
    id: 'held',
    description: 'one at a time, one waiting at most; holds its turn until canceled',
    limits: { concurrency: 1, maxQueued: 1 },
    async handle(ctx) {
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    },
  });
  const arcd = await startArcd({ agents: [held] });
  const on = { targetAgent: 'held' };
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {}, on);
  const running = await postTo(trigger.url, '{"n":1}');
  await waitForStatus(arcd.url, 'held', running.body.taskId, ['WORKING'], on);
  const queued = await postTo(trigger.url, '{"n":2}', { 'idempotency-key': 'k2' });
  expect(queued.status).toBe(202); // the queue is full now
  const full = await fetch(trigger.url, { method: 'POST', body: '{"n":3}' });
  expect(full.status).toBe(429);
  // A sender that backs off as told (as the rate limit's 429 tells it too).
  expect(full.headers.get('retry-after')).toBe('5');
  expect(await full.json()).toMatchObject({ code: -41011, retryAfterSeconds: 5 });
  // Its sender lost the 202 and sends again: the task was made, the answer says so.
  const again = await postTo(trigger.url, '{"n":2}', { 'idempotency-key': 'k2' });
  expect(again).toEqual({ status: 200, body: { taskId: queued.body.taskId, duplicate: true } });
});

test('trigger.create refuses text or input over the part limits: every firing would be refused', async () => {
  const arcd = await startArcd({ agents: [inbox], config: { maxPartBytes: 1024 } });
  const on = { targetAgent: 'inbox' };
  const big = 'x'.repeat(2_000);
  for (const [params, field] of [
    [{ input: { note: big } }, 'input'],
    [{ text: big }, 'text'],
    [{ text: 'hello', input: { note: big } }, 'input'],
  ] as const) {
    const refused = await arcCall(arcd.url, 'trigger.create', params, on);
    expect(refused.body.error).toMatchObject({
      code: -45004,
      details: { field, limitBytes: 1024 },
    });
  }
  const { triggers } = await arcResult(arcd.url, 'trigger.list', {}, on);
  expect(triggers).toEqual([]);
  const fine = await arcResult(arcd.url, 'trigger.create', { text: 'hi', input: { a: 1 } }, on);
  expect((await postTo(fine.trigger.url, '{"b":2}')).status).toBe(202);
});

test('a blank request key is no key: each request makes its task', async () => {
  const arcd = await startArcd();
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const first = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': ' ' });
  const second = await postTo(trigger.url, '{"n":2}', { 'idempotency-key': ' ', 'webhook-id': '' });
  expect([first.status, second.status]).toEqual([202, 202]);
  expect(second.body.taskId).not.toBe(first.body.taskId);
});

test("a firing's key outlives its task: a redelivery after the task was deleted is a duplicate, until the purge forgets it", async () => {
  // Retention off: task.delete's keys are forgotten all the same, three days on.
  const arcd = await startArcd({ config: { retentionDays: 0 } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const first = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  const kept = await postTo(trigger.url, '{"n":2}', { 'idempotency-key': 'k2' });
  await waitForStatus(arcd.url, 'echo', first.body.taskId, ['COMPLETED']);
  await arcResult(arcd.url, 'task.delete', { taskId: first.body.taskId });
  // A sender retrying a request whose answer it lost: still the task it made, gone or not.
  const again = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  expect(again).toMatchObject({
    status: 200,
    body: { taskId: first.body.taskId, duplicate: true },
  });
  // Past FIRE_KEY_DAYS, the purge forgets the keys of tasks gone (a kept task's stays).
  const db = new Database(arcd.db);
  const longAgo = new Date(Date.now() - (FIRE_KEY_DAYS + 1) * 86_400_000).toISOString();
  db.prepare('UPDATE trigger_fires SET fired_at = ?').run(longAgo);
  await arcd.server.retention.purge();
  const keys = db.prepare('SELECT fire_key FROM trigger_fires').all();
  db.close();
  expect(keys).toEqual([{ fire_key: 'k2' }]);
  const anew = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  expect(anew.status).toBe(202);
  expect(anew.body.taskId).not.toBe(first.body.taskId);
  expect(kept.status).toBe(202);
});

test('a trigger deleted while a firing of it is stored answers 404 and makes no task', async () => {
  const arcd = await startArcd();
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const store = arcd.server.store;
  const find = store.findTriggerByTokenHash.bind(store);
  // Found by the firing, then deleted before its task is stored.
  jest.spyOn(store, 'findTriggerByTokenHash').mockImplementationOnce(async (hash) => {
    const found = await find(hash);
    await store.deleteTrigger(trigger.triggerId);
    return found;
  });
  const reply = await postTo(trigger.url, '{"n":1}', { 'idempotency-key': 'k1' });
  expect(reply.status).toBe(404);
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toEqual([]);
});

test('bad requests, unknown and deleted triggers are answered plainly', async () => {
  const arcd = await startArcd({ config: { maxBodyBytes: 1024 } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  for (const body of ['[1,2]', '"text"', '{not json', 'null']) {
    const reply = await postTo(trigger.url, body);
    expect({ body, status: reply.status }).toEqual({ body, status: 400 });
  }
  expect((await postTo(trigger.url, JSON.stringify({ big: 'x'.repeat(2000) }))).status).toBe(413);
  // Declared too large: refused before the body is sent, however long that would take.
  const declared = await new Promise<{ status?: number; connection?: string }>(
    (resolve, reject) => {
      const req = http.request(
        trigger.url,
        { method: 'POST', headers: { 'content-length': 50_000_000 } },
        (res) => resolve({ status: res.statusCode, connection: res.headers.connection }),
      );
      req.setTimeout(5_000, () => req.destroy(new Error('not refused before the body')));
      req.on('error', reject);
      req.write('{"a":');
    },
  );
  expect(declared).toEqual({ status: 413, connection: 'close' });
  // A path that does not decode is the caller's fault, not a server error.
  expect((await postTo(`${arcd.url}/triggers/%E0`, '{}')).status).toBe(400);
  expect((await fetch(`${arcd.url}/.well-known/agents/%E0.json`)).status).toBe(400);
  expect((await fetch(trigger.url)).status).toBe(405);
  expect((await postTo(`${arcd.url}/triggers/guess`, '{}')).status).toBe(404);
  // A guess is answered before its body is read or inflated (this one would not inflate).
  const guess = await fetch(`${arcd.url}/triggers/guess`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: 'not gzip at all',
  });
  expect(guess.status).toBe(404);
  const foreign = await arcCall(
    arcd.url,
    'trigger.delete',
    { triggerId: trigger.triggerId },
    { requestAgent: 'someone-else' },
  );
  expect(foreign.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'triggerId' }] },
  });
  await arcResult(arcd.url, 'trigger.delete', { triggerId: trigger.triggerId });
  expect((await postTo(trigger.url, '{}')).status).toBe(404);
  expect((await arcResult(arcd.url, 'trigger.list', {})).triggers).toEqual([]);
  const unknownField = await arcCall(arcd.url, 'trigger.create', { agent: 'x' });
  expect(unknownField.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'agent', message: 'is not a known field' }] },
  });
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toEqual([]);
});

test('publicUrl sets the base of trigger URLs', async () => {
  const arcd = await startArcd({ config: { publicUrl: 'https://agents.example.com/' } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  expect(trigger.url).toMatch(/^https:\/\/agents\.example\.com\/triggers\/[A-Za-z0-9_-]+$/);
});

test('calls to trigger URLs beyond the per-address rate answer 429, in a budget apart from /arc', async () => {
  const arcd = await startArcd({ config: { rateLimitPerMinute: 3 } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const statuses = [];
  for (const url of [trigger.url, trigger.url, `${arcd.url}/triggers/guess`]) {
    statuses.push((await postTo(url, '{}')).status);
  }
  expect(statuses).toEqual([202, 202, 404]);
  const response = await fetch(trigger.url, { method: 'POST', body: '{}' });
  expect(response.status).toBe(429);
  expect(response.headers.get('retry-after')).toBe('60');
  expect(response.headers.get('ratelimit')).toMatch(/^limit=3, remaining=0/);
  expect(await response.json()).toEqual({ error: 'Rate limit exceeded', retryAfterSeconds: 60 });
  // Two tasks were created; /arc still answers this address (its own budget of three).
  expect((await arcResult(arcd.url, 'task.list', {})).tasks).toHaveLength(2);
});

test('behind a trusted proxy, each sender has its own budget, and one trigger its own too', async () => {
  const arcd = await startArcd({ config: { rateLimitPerMinute: 2, trustProxy: 'loopback' } });
  const { trigger } = await arcResult(arcd.url, 'trigger.create', {});
  const from = (client: string) => ({ 'x-forwarded-for': client });
  // Three senders, one call each: the third firing is past the trigger's own budget.
  const statuses = [];
  for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
    statuses.push((await postTo(trigger.url, '{}', from(client))).status);
  }
  expect(statuses).toEqual([202, 202, 429]);
  // /arc (auth off): each client named by the proxy counts apart.
  const list = (client: string) =>
    fetch(`${arcd.url}/arc`, {
      method: 'POST',
      headers: { 'content-type': 'application/arc+json', ...from(client) },
      body: JSON.stringify({
        arc: '1.0',
        id: 1,
        method: 'task.list',
        requestAgent: 'tester',
        targetAgent: 'echo',
        params: {},
      }),
    }).then(async (r) => ((await r.json()) as WireJson).error?.code ?? 'ok');
  expect([await list('198.51.100.1'), await list('198.51.100.1')]).toEqual(['ok', 'ok']);
  expect(await list('198.51.100.1')).toBe(-44007);
  expect(await list('198.51.100.2')).toBe('ok');
});
