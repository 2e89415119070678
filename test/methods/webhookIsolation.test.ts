/**
 * Subscriptions and deliveries belong to the caller that made them: another caller lists
 * none of them and cannot cancel or retry them.
 */
import {
  arcCall,
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { startReceiver } from '../helpers/receiver';

test("another caller's subscriptions and deliveries are invisible", async () => {
  const arcd = await startArcd({ config: { webhookAllowlist: '127.0.0.1', webhookPollMs: 25 } });
  const receiver = await startReceiver();
  const task = await createTask(arcd.url, 'echo', 'x', {}, { requestAgent: 'alice' });
  await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED'], { requestAgent: 'alice' });
  const { subscription } = await arcResult(
    arcd.url,
    'task.subscribe',
    { taskId: task.taskId, callbackUrl: receiver.url, replay: true },
    { requestAgent: 'alice' },
  );
  const [delivery] = await waitFor('a delivery', async () => {
    const { deliveries } = await arcResult(
      arcd.url,
      'delivery.list',
      {},
      { requestAgent: 'alice' },
    );
    return deliveries[0]?.status === 'delivered' ? deliveries : undefined;
  });

  const asMallory = { requestAgent: 'mallory' };
  expect((await arcResult(arcd.url, 'subscription.list', {}, asMallory)).subscriptions).toEqual([]);
  expect(
    (await arcResult(arcd.url, 'subscription.list', { taskId: task.taskId }, asMallory))
      .subscriptions,
  ).toEqual([]);
  expect(
    (await arcResult(arcd.url, 'delivery.list', { taskId: task.taskId }, asMallory)).deliveries,
  ).toEqual([]);
  const retry = await arcCall(
    arcd.url,
    'delivery.retry',
    { deliveryId: delivery.deliveryId },
    asMallory,
  );
  expect(retry.body.error).toMatchObject({
    code: -32602,
    details: { deliveryId: delivery.deliveryId },
  });
  const cancel = await arcCall(
    arcd.url,
    'subscription.cancel',
    { subscriptionId: subscription.subscriptionId },
    asMallory,
  );
  expect(cancel.body.error).toMatchObject({
    code: -32602,
    details: { subscriptionId: subscription.subscriptionId },
  });
  expect(
    (await arcResult(arcd.url, 'subscription.list', {}, { requestAgent: 'alice' })).subscriptions[0]
      .active,
  ).toBe(true);
});

test('a message may hold at most 64 parts', async () => {
  const arcd = await startArcd();
  const parts = Array.from({ length: 65 }, () => ({ type: 'text', content: 'x' }));
  const reply = await arcCall(arcd.url, 'task.create', { initialMessage: { role: 'user', parts } });
  expect(reply.body.error).toMatchObject({
    code: -32602,
    details: { errors: [{ field: 'initialMessage.parts' }] },
  });
  const ok = await arcCall(arcd.url, 'task.create', {
    initialMessage: { ...textMessage('x'), parts: parts.slice(0, 64) },
  });
  expect(ok.body.error).toBeNull();
});
