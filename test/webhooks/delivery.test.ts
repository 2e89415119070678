/**
 * Webhook delivery against real HTTP receivers on port 0: every event of each bundled agent's
 * lifecycle in order, the body and headers of the protocol, retries with the same delivery id,
 * 410, Retry-After, dead deliveries and delivery.retry, and per-host concurrency.
 */
import { createHmac } from 'node:crypto';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import {
  type Running,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { type Receiver, startReceiver } from '../helpers/receiver';
import { holdAgent, say } from '../helpers/heldTasks';
import { tempDbFile } from '../helpers/tempDb';

const fast = {
  webhookAllowlist: '127.0.0.1',
  webhookPollMs: 25,
  webhookScheduleMs: '0,40,40,40',
};

let arcd: Running;

async function subscribe(
  agent: string,
  taskId: string,
  receiver: Receiver,
  extra: Record<string, unknown> = {},
) {
  const { subscription } = await arcResult(
    arcd.url,
    'task.subscribe',
    { taskId, callbackUrl: receiver.url, events: ['STATUS_CHANGE'], replay: true, ...extra },
    { targetAgent: agent },
  );
  return subscription as { subscriptionId: string; secret: string };
}

async function storedEventTypes(taskId: string) {
  return (await arcd.server.store.listEvents(taskId)).map((e) => e.type);
}

async function deliveriesOf(agent: string, taskId: string) {
  const result = await arcResult(arcd.url, 'delivery.list', { taskId }, { targetAgent: agent });
  return result.deliveries as Array<{
    deliveryId: string;
    status: string;
    attempts: number;
    sequence: number;
    attemptLog: Array<{
      statusCode?: number;
      error?: string;
      attemptedAt: string;
      latencyMs: number;
    }>;
    nextAttemptAt?: string;
  }>;
}

function waitForCount(receiver: Receiver, count: number) {
  return waitFor(`${count} webhook requests`, async () =>
    receiver.received.length >= count ? receiver.received : undefined,
  );
}

describe('every event reaches a STATUS_CHANGE subscriber in sequence order', () => {
  beforeEach(async () => {
    arcd = await startArcd({ config: fast });
  });

  const lifecycles: Array<[string, string, (taskId: string) => Promise<void>, string]> = [
    ['echo', 'hello', async () => undefined, 'COMPLETED'],
    ['slow', 'steps=2', async () => undefined, 'COMPLETED'],
    ['flaky', 'fail', async () => undefined, 'FAILED'],
    [
      'document-analyzer',
      'alpha\nbeta',
      async (taskId) => {
        await waitForStatus(arcd.url, 'document-analyzer', taskId, ['INPUT_REQUIRED']);
        await arcResult(
          arcd.url,
          'task.send',
          { taskId, message: textMessage('beta') },
          { targetAgent: 'document-analyzer' },
        );
      },
      'COMPLETED',
    ],
  ];

  test.each(lifecycles)('%s', async (agent, input, drive, final) => {
    const receiver = await startReceiver();
    const task = await createTask(arcd.url, agent, input);
    const subscription = await subscribe(agent, task.taskId, receiver);
    await drive(task.taskId);
    await waitForStatus(arcd.url, agent, task.taskId, [final]);
    const types = await storedEventTypes(task.taskId);
    const received = await waitForCount(receiver, types.length);
    expect(received.map((r) => r.body.sequence)).toEqual(types.map((_, i) => i + 1));
    expect(received.map((r) => r.body.event)).toEqual(types);
    for (const request of received) {
      expect(request.body).toMatchObject({
        arc: '1.0',
        method: 'task.notification',
        requestAgent: agent,
        taskId: task.taskId,
        timestamp: expect.stringMatching(/Z$/),
        subscriptionId: subscription.subscriptionId,
        data: { status: expect.any(String), message: expect.any(String) },
      });
      expect(request.headers['x-arc-event']).toBe(request.body.event);
      expect(request.headers['x-arc-delivery']).toEqual(expect.stringMatching(/^dlv-/));
      expect(request.headers['content-type']).toMatch(/^application\/json/);
    }
    if (agent === 'document-analyzer') {
      expect(types).toEqual(
        expect.arrayContaining(['TASK_PAUSED', 'TASK_RESUMED', 'NEW_ARTIFACT']),
      );
    }
  });
});

describe('signatures', () => {
  test('both schemes verify over the exact body bytes with independent verifiers', async () => {
    arcd = await startArcd({ config: fast });
    const receiver = await startReceiver();
    const task = await createTask(arcd.url, 'echo', 'sign me');
    const subscription = await subscribe('echo', task.taskId, receiver);
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const received = await waitForCount(receiver, 7);
    for (const request of received) {
      const expected = createHmac('sha256', subscription.secret)
        .update(request.raw)
        .digest('base64');
      expect(request.headers['x-arc-signature']).toBe(`sha256=${expected}`);
      const verified = new Webhook(subscription.secret).verify(request.raw, {
        'webhook-id': request.headers['webhook-id'] as string,
        'webhook-timestamp': request.headers['webhook-timestamp'] as string,
        'webhook-signature': request.headers['webhook-signature'] as string,
      });
      expect(verified).toEqual(request.body);
      expect(request.headers['webhook-id']).toBe(request.headers['x-arc-delivery']);
    }
    // A tampered body fails the Standard Webhooks check.
    const first = received[0]!;
    expect(() =>
      new Webhook(subscription.secret).verify(first.raw.replace('"arc"', '"arx"'), {
        'webhook-id': first.headers['webhook-id'] as string,
        'webhook-timestamp': first.headers['webhook-timestamp'] as string,
        'webhook-signature': first.headers['webhook-signature'] as string,
      }),
    ).toThrow();
  });

  test('a caller-chosen secret is used, and a malformed one refused', async () => {
    arcd = await startArcd({ config: fast });
    const receiver = await startReceiver();
    const task = await createTask(arcd.url, 'echo', 'x');
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const subscription = await subscribe('echo', task.taskId, receiver, {
      secret,
      events: ['TASK_COMPLETED'],
    });
    expect(subscription.secret).toBe(secret);
    const [request] = await waitForCount(receiver, 1);
    expect(request!.headers['x-arc-signature']).toBe(
      `sha256=${createHmac('sha256', secret).update(request!.raw).digest('base64')}`,
    );
    const bad = await arcCall(arcd.url, 'task.subscribe', {
      taskId: task.taskId,
      callbackUrl: receiver.url,
      secret: 'hunter2',
    });
    expect(bad.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'secret' }] },
    });
  });
});

describe('retries and outcomes', () => {
  beforeEach(async () => {
    arcd = await startArcd({ config: fast });
  });

  async function completedTaskWith(receiver: Receiver, events = ['TASK_COMPLETED']) {
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    const subscription = await subscribe('echo', task.taskId, receiver, { events });
    return { task, subscription };
  }

  test('a receiver failing twice gets the event once more per attempt, with the same id', async () => {
    const receiver = await startReceiver((_request, index) => ({ status: index < 2 ? 500 : 204 }));
    const { task } = await completedTaskWith(receiver);
    const received = await waitForCount(receiver, 3);
    const ids = new Set(received.map((r) => r.headers['x-arc-delivery']));
    expect(ids.size).toBe(1);
    expect(new Set(received.map((r) => r.raw)).size).toBe(1);
    const [delivery] = await waitFor('delivered', async () => {
      const list = await deliveriesOf('echo', task.taskId);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(delivery!.attempts).toBe(3);
    expect(delivery!.attemptLog.map((a) => a.statusCode)).toEqual([500, 500, 204]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(3);
  });

  test('410 Gone deactivates the subscription', async () => {
    const receiver = await startReceiver(() => ({ status: 410 }));
    const task = await createTask(arcd.url, 'slow', 'steps=3');
    const subscription = await subscribe('slow', task.taskId, receiver);
    await waitForStatus(arcd.url, 'slow', task.taskId, ['COMPLETED']);
    await waitForCount(receiver, 1);
    const { subscriptions } = await arcResult(
      arcd.url,
      'subscription.list',
      { taskId: task.taskId },
      { targetAgent: 'slow' },
    );
    expect(subscriptions).toEqual([
      expect.objectContaining({
        subscriptionId: subscription.subscriptionId,
        active: false,
        deactivatedReason: expect.stringMatching(/410/),
      }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(1);
    const statuses = (await deliveriesOf('slow', task.taskId)).map((d) => d.status);
    expect(statuses.every((s) => s === 'canceled')).toBe(true);
  });

  test('429 with Retry-After waits as told before the next attempt', async () => {
    const receiver = await startReceiver((_request, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const { task } = await completedTaskWith(receiver);
    const received = await waitForCount(receiver, 2);
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(1000);
    const [delivery] = await deliveriesOf('echo', task.taskId);
    expect(delivery!.attemptLog.map((a) => a.statusCode)).toEqual([429, 200]);
  });

  test('after the last attempt a delivery is dead, listed, and delivery.retry sends it', async () => {
    let healthy = false;
    const receiver = await startReceiver(() => ({
      status: healthy ? 200 : 500,
      body: 'down for maintenance',
    }));
    const { task } = await completedTaskWith(receiver);
    await waitForCount(receiver, 4);
    const dead = await waitFor('dead delivery', async () => {
      const { deliveries } = await arcResult(
        arcd.url,
        'delivery.list',
        { status: 'dead' },
        { targetAgent: 'echo' },
      );
      return deliveries.length === 1 ? deliveries[0] : undefined;
    });
    expect(dead).toMatchObject({
      taskId: task.taskId,
      attempts: 4,
      status: 'dead',
      lastStatusCode: 500,
    });
    expect(dead.attemptLog[0]).toMatchObject({
      statusCode: 500,
      responseBody: 'down for maintenance',
      latencyMs: expect.any(Number),
    });

    healthy = true;
    const retried = await arcResult(
      arcd.url,
      'delivery.retry',
      { deliveryId: dead.deliveryId },
      { targetAgent: 'echo' },
    );
    expect(retried).toEqual({ success: true, deliveryId: dead.deliveryId });
    const received = await waitForCount(receiver, 5);
    expect(received[4]!.headers['x-arc-delivery']).toBe(dead.deliveryId);
    const [after] = await waitFor('redelivered', async () => {
      const list = await deliveriesOf('echo', task.taskId);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(after!.attempts).toBe(5);
  });

  test('connection failures are recorded and retried', async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    await receiver.close();
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    await arcResult(
      arcd.url,
      'task.subscribe',
      { taskId: task.taskId, callbackUrl: url, replay: true },
      { targetAgent: 'echo' },
    );
    const [delivery] = await waitFor('dead after connection errors', async () => {
      const list = await deliveriesOf('echo', task.taskId);
      return list[0]?.status === 'dead' ? list : undefined;
    });
    expect(delivery!.attemptLog).toHaveLength(4);
    expect(delivery!.attemptLog[0]!.error).toMatch(/ECONNREFUSED/);
  });

  test('a subscription failing longer than allowed is disabled', async () => {
    await arcd.close();
    arcd = await startArcd({
      config: { ...fast, webhookScheduleMs: '0,60,60,60,60,60,60,60', webhookDisableAfterMs: 150 },
    });
    const receiver = await startReceiver(() => ({ status: 500 }));
    const { task, subscription } = await completedTaskWith(receiver);
    const disabled = await waitFor('disabled subscription', async () => {
      const { subscriptions } = await arcResult(
        arcd.url,
        'subscription.list',
        { taskId: task.taskId },
        { targetAgent: 'echo' },
      );
      return subscriptions[0]?.active === false ? subscriptions[0] : undefined;
    });
    expect(disabled).toMatchObject({
      subscriptionId: subscription.subscriptionId,
      failingSince: expect.any(String),
      deactivatedReason: expect.stringMatching(/failing since/),
    });
    const count = receiver.received.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThan(8);
    const retry = await arcCall(
      arcd.url,
      'delivery.retry',
      { deliveryId: (await deliveriesOf('echo', task.taskId))[0]!.deliveryId },
      { targetAgent: 'echo' },
    );
    expect(retry.body.error).toMatchObject({
      code: -32602,
      details: { errors: [{ field: 'deliveryId' }] },
    });
  });

  test('without replay, a late subscriber gets nothing of the past', async () => {
    const receiver = await startReceiver();
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    await arcResult(
      arcd.url,
      'task.subscribe',
      { taskId: task.taskId, callbackUrl: receiver.url, events: ['STATUS_CHANGE'] },
      { targetAgent: 'echo' },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(0);
    expect(await deliveriesOf('echo', task.taskId)).toEqual([]);
  });

  test('subscription.cancel stops further deliveries', async () => {
    const receiver = await startReceiver();
    const task = await createTask(arcd.url, 'slow', 'steps=50');
    const subscription = await subscribe('slow', task.taskId, receiver);
    await waitForCount(receiver, 2);
    const { subscription: canceled } = await arcResult(
      arcd.url,
      'subscription.cancel',
      { subscriptionId: subscription.subscriptionId },
      { targetAgent: 'slow' },
    );
    expect(canceled.active).toBe(false);
    const count = receiver.received.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.length).toBeLessThanOrEqual(count + 1); // at most the one in flight
    const other = await arcCall(
      arcd.url,
      'subscription.cancel',
      { subscriptionId: subscription.subscriptionId },
      { targetAgent: 'slow', requestAgent: 'mallory' },
    );
    expect(other.body.error).toMatchObject({
      code: -32602,
      details: { subscriptionId: subscription.subscriptionId },
    });
    await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, { targetAgent: 'slow' });
  });
});

test('an attempt in flight when its subscription is canceled is still recorded, as delivered', async () => {
  arcd = await startArcd({ config: fast });
  const receiver = await startReceiver(() => ({ status: 200, delayMs: 600 }));
  const task = await createTask(arcd.url, 'echo', 'hello');
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  const subscription = await subscribe('echo', task.taskId, receiver);
  await waitForCount(receiver, 1); // the first event is at the receiver, not yet answered
  await arcResult(
    arcd.url,
    'subscription.cancel',
    { subscriptionId: subscription.subscriptionId },
    { targetAgent: 'echo' },
  );
  const first = await waitFor('the in-flight attempt recorded', async () => {
    const [oldest] = (await deliveriesOf('echo', task.taskId)).sort(
      (a, b) => a.sequence - b.sequence,
    );
    return oldest && oldest.attempts > 0 ? oldest : undefined;
  });
  expect(first).toMatchObject({ status: 'delivered', attempts: 1 });
  expect(first.attemptLog).toEqual([expect.objectContaining({ statusCode: 200 })]);
  const rest = (await deliveriesOf('echo', task.taskId)).filter((d) => d !== first);
  expect(
    rest.filter((d) => d.sequence !== first.sequence).every((d) => d.status === 'canceled'),
  ).toBe(true);
  expect(receiver.received).toHaveLength(1);
  await receiver.close();
});

test('delivery.retry of an older delivery while a later one is in flight keeps one in flight', async () => {
  arcd = await startArcd({ config: fast });
  const spans: Array<{ sequence: number; from: number; to: number }> = [];
  let held = false;
  const receiver = await startReceiver((request) => {
    const sequence = (request.body as { sequence: number }).sequence;
    const delayMs = sequence === 3 && !held ? 800 : 0;
    if (delayMs > 0) held = true;
    spans.push({ sequence, from: Date.now(), to: Date.now() + delayMs });
    return { status: 200, delayMs };
  });
  const task = await createTask(arcd.url, 'echo', 'hello');
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  await subscribe('echo', task.taskId, receiver, {
    events: ['TASK_CREATED', 'STATUS_CHANGE', 'NEW_MESSAGE'],
  });
  await waitFor('the third event held', async () => (held ? true : undefined));
  const first = (await deliveriesOf('echo', task.taskId)).find((d) => d.sequence === 1);
  expect(first?.status).toBe('delivered');
  await arcResult(
    arcd.url,
    'delivery.retry',
    { deliveryId: first!.deliveryId },
    { targetAgent: 'echo' },
  );
  const again = await waitFor('the retried delivery sent again', async () =>
    spans.filter((span) => span.sequence === 1).length >= 2 ? spans : undefined,
  );
  const retried = again.filter((span) => span.sequence === 1)[1]!;
  const third = again.find((span) => span.sequence === 3)!;
  // Sent again only once the held one was answered, never beside it.
  expect(retried.from).toBeGreaterThanOrEqual(third.to);
  await receiver.close();
});

test("arcd's own event types reach only subscriptions that name them, not the catch-all", async () => {
  arcd = await startArcd({ config: fast });
  const catchAll = await startReceiver();
  const naming = await startReceiver();
  const task = await createTask(arcd.url, 'slow', 'steps=50');
  await subscribe('slow', task.taskId, catchAll, { replay: false });
  await subscribe('slow', task.taskId, naming, { events: ['TASK_UPDATED'], replay: false });
  await arcResult(
    arcd.url,
    'task.update',
    { taskId: task.taskId, priority: 'HIGH' },
    { targetAgent: 'slow' },
  );
  await arcResult(arcd.url, 'task.cancel', { taskId: task.taskId }, { targetAgent: 'slow' });
  const events = (receiver: Receiver) =>
    receiver.received.map((r) => (r.body as { event: string }).event);
  await waitFor('the cancel at the catch-all', async () =>
    events(catchAll).includes('TASK_CANCELED') ? true : undefined,
  );
  await waitFor('the update at the naming one', async () =>
    naming.received.length > 0 ? true : undefined,
  );
  expect(await storedEventTypes(task.taskId)).toContain('TASK_UPDATED');
  expect(events(catchAll)).not.toContain('TASK_UPDATED');
  expect(events(catchAll)).toEqual(expect.arrayContaining(['TASK_CANCELED', 'STATUS_CHANGE']));
  expect(events(naming)).toEqual(['TASK_UPDATED']);
  await Promise.all([catchAll.close(), naming.close()]);
});

test('a failure after an idle spell starts a new run: an old dead delivery does not disable', async () => {
  arcd = await startArcd({
    config: { ...fast, webhookScheduleMs: '0,40', webhookDisableAfterMs: 300 },
  });
  // Three failures (the first event's two attempts, the second's first), then success.
  const receiver = await startReceiver((_request, index) => ({ status: index < 3 ? 500 : 200 }));
  const task = await createTask(arcd.url, 'slow', 'steps=100');
  const { subscriptionId } = await subscribe('slow', task.taskId, receiver, {
    events: ['TASK_UPDATED'],
    replay: false,
  });
  const update = (priority: string) =>
    arcResult(arcd.url, 'task.update', { taskId: task.taskId, priority }, { targetAgent: 'slow' });
  await update('HIGH');
  await waitFor('the first event dead', async () =>
    (await deliveriesOf('slow', task.taskId))[0]?.status === 'dead' ? true : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 400)); // idle past --webhook-disable-after-ms
  await update('LOW');
  const second = await waitFor('the second event delivered', async () =>
    (await deliveriesOf('slow', task.taskId)).find((d) => d.status === 'delivered'),
  );
  expect(second.attempts).toBe(2);
  const { subscriptions } = await arcResult(
    arcd.url,
    'subscription.list',
    { taskId: task.taskId },
    { targetAgent: 'slow' },
  );
  expect(
    subscriptions.find((x: { subscriptionId: string }) => x.subscriptionId === subscriptionId),
  ).toMatchObject({
    active: true,
  });
  await receiver.close();
});

test('a retry is written only for a delivery out of the queue of a subscription still active', async () => {
  arcd = await startArcd({ config: { ...fast, webhookScheduleMs: '0,40' } });
  const receiver = await startReceiver(() => ({ status: 500 }));
  const task = await createTask(arcd.url, 'echo', 'x');
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
  const { subscriptionId } = await subscribe('echo', task.taskId, receiver);
  const dead = await waitFor('a dead delivery', async () =>
    (await deliveriesOf('echo', task.taskId)).find((d) => d.status === 'dead'),
  );
  const at = new Date().toISOString();
  // Between delivery.retry's check and its write, the subscription was disabled (a 410, say).
  await arcResult(arcd.url, 'subscription.cancel', { subscriptionId }, { targetAgent: 'echo' });
  expect(await arcd.server.store.retryDelivery(dead.deliveryId, at)).toBe(false);
  const after = (await deliveriesOf('echo', task.taskId)).find(
    (d) => d.deliveryId === dead.deliveryId,
  );
  expect(after?.status).toBe('dead');
  await receiver.close();
});

describe('isolation between receivers', () => {
  test('a slow receiver does not hold up a fast one', async () => {
    arcd = await startArcd({ config: { ...fast, webhookPerHostConcurrency: 1 } });
    const slowReceiver = await startReceiver(() => ({ status: 200, delayMs: 1500 }));
    const fastReceiver = await startReceiver();
    const tasks = [];
    for (let i = 0; i < 3; i += 1) {
      const task = await createTask(arcd.url, 'echo', `slow ${i}`);
      await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
      tasks.push(task);
    }
    for (const task of tasks)
      await subscribe('echo', task.taskId, slowReceiver, { events: ['TASK_COMPLETED'] });
    const quick = await createTask(arcd.url, 'echo', 'fast');
    await waitForStatus(arcd.url, 'echo', quick.taskId, ['COMPLETED']);
    await subscribe('echo', quick.taskId, fastReceiver, { events: ['TASK_COMPLETED'] });
    await waitForCount(fastReceiver, 1);
    // The fast one arrived while the slow host, one at a time, had not finished its first.
    expect(slowReceiver.received.length).toBeLessThanOrEqual(1);
    await waitForCount(slowReceiver, 3);
  });

  test("a host key spelled as migration 0002 wrote it still bounds the host's deliveries at once", async () => {
    const db = tempDbFile('host-key');
    arcd = await startArcd({
      agents: [holdAgent],
      config: { ...fast, db, webhookPerHostConcurrency: 1 },
    });
    // A receiver that holds each request a while, counting how many it holds at once.
    let holding = 0;
    let most = 0;
    const receiver = await startReceiver(() => {
      holding += 1;
      most = Math.max(most, holding);
      setTimeout(() => (holding -= 1), 300);
      return { status: 200, delayMs: 300 };
    });
    const task = await createTask(arcd.url, 'hold', 'held');
    await waitForStatus(arcd.url, 'hold', task.taskId, ['WORKING']);
    for (let i = 0; i < 3; i += 1) {
      await subscribe('hold', task.taskId, receiver, { events: ['NEW_MESSAGE'], replay: false });
    }
    // 0002 wrote `host:port` from the URL's text, not URL.host (`h:443` for https://h:443/).
    const other = new Database(db);
    other.prepare("UPDATE subscriptions SET callback_host = 'legacy.example:443'").run();
    other.close();
    await arcd.server.store.mutateTask(task.taskId, say('one'));
    await waitForCount(receiver, 3);
    expect(most).toBe(1);
    await receiver.close();
  });
});
