/**
 * What the server acknowledged survives a restart on the same file: tasks, messages,
 * artifacts, events, subscriptions, notifications; and work interrupted by a graceful
 * shutdown is picked up and finished by the next start.
 */
import { defineAgent } from '../../src/agents/contract';
import {
  type Running,
  arcResult,
  createTask,
  startArcd,
  taskInfo,
  textMessage,
  waitForStatus,
} from '../helpers/arcServer';
import { holdClaimAnswer } from '../helpers/heldClaim';
import { tempDbFile } from '../helpers/tempDb';

describe('restart on the same file', () => {
  let first: Running;
  let second: Running | undefined;

  afterEach(async () => {
    await second?.close();
    second = undefined;
  });

  test('everything stored reads back the same, and a waiting task finishes after restart', async () => {
    const db = tempDbFile('restart');
    first = await startArcd({ db });
    const echo = await createTask(first.url, 'echo', 'persist me');
    await waitForStatus(first.url, 'echo', echo.taskId, ['COMPLETED']);
    const waiting = await createTask(first.url, 'document-analyzer', 'alpha beta\nbeta gamma');
    await waitForStatus(first.url, 'document-analyzer', waiting.taskId, ['INPUT_REQUIRED']);
    const { subscription } = await arcResult(
      first.url,
      'task.subscribe',
      {
        taskId: waiting.taskId,
        callbackUrl: 'https://hooks.example.com/x',
        events: ['STATUS_CHANGE'],
      },
      { targetAgent: 'document-analyzer' },
    );
    await arcResult(
      first.url,
      'task.notification',
      {
        taskId: waiting.taskId,
        event: 'NOTE',
        timestamp: new Date().toISOString(),
        data: { ok: true },
      },
      { targetAgent: 'document-analyzer' },
    );

    const before = {
      echo: await taskInfo(first.url, 'echo', echo.taskId),
      waiting: await taskInfo(first.url, 'document-analyzer', waiting.taskId),
      events: await first.server.store.listEvents(waiting.taskId),
      subscriptions: await first.server.store.listSubscriptions(waiting.taskId),
      notifications: await first.server.store.listNotifications(waiting.taskId),
    };
    await first.close();

    second = await startArcd({ db });
    expect(await taskInfo(second.url, 'echo', echo.taskId)).toEqual(before.echo);
    expect(await taskInfo(second.url, 'document-analyzer', waiting.taskId)).toEqual(before.waiting);
    expect(await second.server.store.listEvents(waiting.taskId)).toEqual(before.events);
    expect(await second.server.store.listSubscriptions(waiting.taskId)).toEqual(
      before.subscriptions,
    );
    expect(await second.server.store.listNotifications(waiting.taskId)).toEqual(
      before.notifications,
    );

    await arcResult(
      second.url,
      'task.send',
      { taskId: waiting.taskId, message: textMessage('beta') },
      { targetAgent: 'document-analyzer' },
    );
    const done = await waitForStatus(second.url, 'document-analyzer', waiting.taskId, [
      'COMPLETED',
    ]);
    expect(done.artifacts[0].parts[0].content).toMatchObject({
      focus: 'beta',
      mentions: ['alpha beta', 'beta gamma'],
    });
    // The subscription made before the restart still gets its outbox rows.
    const deliveries = await second.server.store.listDeliveries(waiting.taskId);
    expect(
      deliveries.filter((d) => d.subscriptionId === subscription.subscriptionId).length,
    ).toBeGreaterThan(0);
  });

  test('a turn interrupted by shutdown is run again by the next start', async () => {
    const db = tempDbFile('interrupted');
    first = await startArcd({ db });
    const task = await createTask(first.url, 'slow', 'steps=3');
    await waitForStatus(first.url, 'slow', task.taskId, ['WORKING']);
    await first.close();

    second = await startArcd({ db });
    const done = await waitForStatus(second.url, 'slow', task.taskId, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('done after 3 steps');
    const stored = await second.server.store.getTask(task.taskId);
    expect(stored).toMatchObject({ pendingTurn: false });
    expect(stored?.leaseOwner).toBeUndefined();
  });

  test('an attempt cut by shutdown uses up none of the retries', async () => {
    const stumbles = defineAgent({
      id: 'stumbles',
      description: 'runs until stopped on its first attempt, fails its second',
      async handle(ctx) {
        if (ctx.attempt === 1) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          return undefined;
        }
        if (ctx.attempt === 2) throw new Error('the second attempt fails');
        return `done on attempt ${ctx.attempt}`;
      },
    });
    const db = tempDbFile('cut-attempt');
    const options = { agents: [stumbles], db, config: { pollMs: 50 } };
    first = await startArcd(options);
    const on = { targetAgent: 'stumbles' };
    const settings = { maxRetries: 1, retryDelayMs: 10 };
    const task = await createTask(first.url, 'stumbles', 'go', { settings }, on);
    await waitForStatus(first.url, 'stumbles', task.taskId, ['WORKING'], on);
    await first.close();

    second = await startArcd(options);
    const done = await waitForStatus(second.url, 'stumbles', task.taskId, ['COMPLETED'], on);
    expect(done.messages.at(-1).parts[0].content).toBe('done on attempt 3');
    const { runs } = await arcResult(second.url, 'task.runs', { taskId: task.taskId }, on);
    expect(runs.map((r: { outcome: string }) => r.outcome)).toEqual([
      'interrupted',
      'retrying',
      'completed',
    ]);
  });

  test('a turn whose claim is answered while shutting down is handed back, and runs at the next start', async () => {
    const db = tempDbFile('claimed-late');
    // A turn limit of its own makes every slow task go through a claim.
    first = await startArcd({ db, config: { pollMs: 60_000, agentConcurrency: 'slow=4' } });
    // The claim commits (the task reads WORKING), but its caller hears of it only later.
    const claim = holdClaimAnswer(first.server.store, 'claimTurns');
    const task = await createTask(first.url, 'slow', 'steps=3');
    await claim.claimed();
    await waitForStatus(first.url, 'slow', task.taskId, ['WORKING']);
    const closing = first.close();
    setTimeout(claim.answer, 50);
    await closing;

    // Not left leased until the lease (30 s) lapses: the next start runs it at once.
    second = await startArcd({ db });
    const done = await waitForStatus(second.url, 'slow', task.taskId, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('done after 3 steps');
    // The run the claim began is ended as handed back, not as lost with its process.
    const runs = await second.server.store.listRuns(task.taskId);
    expect(runs.map((r) => [r.outcome, r.error])).toEqual([
      ['interrupted', undefined],
      ['completed', undefined],
    ]);
  });

  test('queued tasks left at shutdown start after restart', async () => {
    const db = tempDbFile('queued');
    first = await startArcd({ db, config: { concurrency: 1 } });
    const blocker = await createTask(first.url, 'slow', 'steps=50');
    const queued = await createTask(first.url, 'echo', 'wait for me');
    await waitForStatus(first.url, 'slow', blocker.taskId, ['WORKING']);
    await first.close();

    second = await startArcd({ db });
    await waitForStatus(second.url, 'echo', queued.taskId, ['COMPLETED']);
    await arcResult(second.url, 'task.cancel', { taskId: blocker.taskId }, { targetAgent: 'slow' });
  });
});
