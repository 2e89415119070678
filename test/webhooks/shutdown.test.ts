/**
 * A graceful shutdown leaves no delivery stranded: a claim answered after the worker began to
 * stop sends nothing and hands its deliveries back, so the next start on the same file sends
 * them at once instead of after their lease (60 s by default) has lapsed.
 */
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  waitFor,
  waitForStatus,
} from '../helpers/arcServer';
import { holdClaimAnswer } from '../helpers/heldClaim';
import { startReceiver } from '../helpers/receiver';
import { tempDbFile } from '../helpers/tempDb';

const fast = { webhookAllowlist: '127.0.0.1', webhookPollMs: 25 };

let second: Running | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
});

test('a delivery claimed while shutting down is handed back and sent by the next start', async () => {
  const db = tempDbFile('delivery-claimed-late');
  const receiver = await startReceiver(() => ({ status: 200 }));
  const first = await startArcd({ db, config: fast });
  const task = await createTask(first.url, 'echo', 'hello');
  await waitForStatus(first.url, 'echo', task.taskId, ['COMPLETED']);

  // The claim commits (the delivery is leased), but the worker hears of it only later.
  const claim = holdClaimAnswer(first.server.store, 'claimDeliveries');
  await arcResult(first.url, 'task.subscribe', {
    taskId: task.taskId,
    callbackUrl: receiver.url,
    events: ['STATUS_CHANGE'],
    replay: true,
  });
  await claim.claimed();
  const closing = first.close();
  setTimeout(claim.answer, 50);
  await closing;
  expect(receiver.received).toHaveLength(0);

  second = await startArcd({ db, config: fast });
  const restarted = second.server.store;
  const deliveries = await waitFor('every delivery delivered', async () => {
    const all = await restarted.listDeliveries(task.taskId);
    return all.length > 0 && all.every((d) => d.status === 'delivered') ? all : undefined;
  });
  const sent = receiver.received.map((r) => r.headers['x-arc-delivery']);
  expect(new Set(sent)).toEqual(new Set(deliveries.map((d) => d.deliveryId)));
  await receiver.close();
});
