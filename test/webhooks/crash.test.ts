/**
 * A crash loses no webhook: deliveries in flight when the server is killed with SIGKILL are
 * claimed again after their lease by the next process on the same file and sent again with
 * the same delivery id, and every expected event reaches the receiver at least once.
 */
import { arcResult, createTask, waitFor, waitForStatus } from '../helpers/arcServer';
import { killHard, startChild } from '../helpers/childArcd';
import { startReceiver } from '../helpers/receiver';
import { tempDbFile } from '../helpers/tempDb';

const env = (db: string) => ({
  ARCD_DB: db,
  ARCD_PORT: '0',
  ARCD_POLL_MS: '50',
  ARCD_WEBHOOK_ALLOWLIST: '127.0.0.1',
  ARCD_WEBHOOK_POLL_MS: '50',
  ARCD_WEBHOOK_LEASE_MS: '3000',
  ARCD_WEBHOOK_TIMEOUT_MS: '2500', // shorter than the lease, as the config requires
});

test('deliveries in flight at SIGKILL are sent again after restart, same ids', async () => {
  const db = tempDbFile('webhook-crash');
  let holding = true;
  const receiver = await startReceiver(() =>
    holding ? { status: 200, delayMs: 60_000 } : { status: 200 },
  );
  const first = await startChild([], env(db));
  const taskIds: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const task = await createTask(first.url, 'echo', `task ${i}`);
    await waitForStatus(first.url, 'echo', task.taskId, ['COMPLETED']);
    await arcResult(first.url, 'task.subscribe', {
      taskId: task.taskId,
      callbackUrl: receiver.url,
      events: ['STATUS_CHANGE'],
      replay: true,
    });
    taskIds.push(task.taskId);
  }
  // One request per subscription is in flight, held by the receiver.
  const inFlight = await waitFor('three held requests', async () =>
    receiver.received.length >= 3 ? [...receiver.received] : undefined,
  );
  await killHard(first);

  holding = false;
  const second = await startChild([], env(db));
  const expected = taskIds.length * 7; // each echo task stores seven events
  await waitFor(
    'every event at least once',
    async () => {
      const seen = new Set(receiver.received.map((r) => `${r.body.taskId}#${r.body.sequence}`));
      return seen.size >= expected ? seen : undefined;
    },
    20_000,
  );
  for (const held of inFlight) {
    const again = receiver.received.filter(
      (r) => r.headers['x-arc-delivery'] === held.headers['x-arc-delivery'],
    );
    expect(again.length).toBeGreaterThanOrEqual(2);
    expect(new Set(again.map((r) => r.raw)).size).toBe(1);
  }
  for (const taskId of taskIds) {
    const sequences = receiver.received
      .filter((r) => r.body.taskId === taskId)
      .map((r) => r.body.sequence);
    expect([...new Set(sequences)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
  }
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 60_000);
