/**
 * task.subscribe stores what webhook delivery needs (and writes an outbox row per matching
 * event from then on, in the event's transaction); task.notification is stored on its task.
 */
import Database from 'better-sqlite3';
import { defineAgent } from '../../src/agents/contract';
import { BlobTable } from '../../src/store/blobRows';
import {
  type Running,
  arcCall,
  arcResult,
  createTask,
  startArcd,
  textMessage,
  waitForStatus,
} from '../helpers/arcServer';

let arcd: Running;
let release: () => void;

beforeEach(async () => {
  const held = new Promise<void>((resolve) => (release = resolve));
  const waiter = defineAgent({
    id: 'waiter',
    description: 'waits for the test (or for its task to be aborted)',
    handle: async (ctx) => {
      const aborted = new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => resolve()),
      );
      await Promise.race([held, aborted]);
      return 'released';
    },
  });
  arcd = await startArcd({ agents: [waiter] });
});

afterEach(() => release());

/** The store's next `write` of the task finds it deleted by another process just before. */
function deletedJustBefore(write: 'insertSubscription' | 'insertNotification', taskId: string) {
  const { store } = arcd.server;
  const original = store[write].bind(store) as (...args: unknown[]) => Promise<unknown>;
  jest.spyOn(store, write).mockImplementationOnce((async (...args: unknown[]) => {
    const other = new Database(arcd.db);
    other.prepare('DELETE FROM tasks WHERE task_id = ?').run(taskId);
    other.close();
    return original(...args);
  }) as never);
}

describe('task.subscribe', () => {
  test('a task deleted while its subscription was being made is not found (-42001)', async () => {
    const task = await createTask(arcd.url, 'echo', 'x');
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    deletedJustBefore('insertSubscription', task.taskId);
    const refused = await arcCall(arcd.url, 'task.subscribe', {
      taskId: task.taskId,
      callbackUrl: 'https://hooks.example.com/arc',
    });
    expect(refused.body.error).toMatchObject({ code: -42001, details: { taskId: task.taskId } });
  });

  test("a replay reads each stored event's type, never its data or files", async () => {
    const file = {
      type: 'FilePart',
      content: Buffer.alloc(96 * 1024, 7).toString('base64'), // stored as a blob
      mimeType: 'application/octet-stream',
    };
    const { task } = await arcResult(arcd.url, 'task.create', {
      initialMessage: { role: 'user', parts: [{ type: 'TextPart', content: 'x' }, file] },
    });
    await waitForStatus(arcd.url, 'echo', task.taskId, ['COMPLETED']);
    // Who reads whole events (data, files put back): the sender may, for its payloads.
    const readers: string[] = [];
    const inflate = BlobTable.prototype.inflate;
    jest.spyOn(BlobTable.prototype, 'inflate').mockImplementation(function (
      this: BlobTable,
      ...args: Parameters<BlobTable['inflate']>
    ) {
      readers.push(new Error().stack ?? '');
      return inflate.apply(this, args);
    });
    await arcResult(arcd.url, 'task.subscribe', {
      taskId: task.taskId,
      callbackUrl: 'https://hooks.example.com/arc',
      replay: true,
    });
    expect(readers.filter((stack) => stack.includes('insertSubscription'))).toEqual([]);
    // Its default events (TASK_COMPLETED, TASK_FAILED) of the finished task, queued all the same.
    const db = new Database(arcd.db, { readonly: true });
    const queued = db
      .prepare(
        `SELECT e.type FROM deliveries d JOIN events e
          ON e.task_id = d.task_id AND e.seq = d.event_seq WHERE d.task_id = ?`,
      )
      .all(task.taskId);
    db.close();
    expect(queued).toEqual([{ type: 'TASK_COMPLETED' }]);
  });

  test('stores the subscription and returns it with a one-time secret', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    const result = await arcResult(
      arcd.url,
      'task.subscribe',
      { taskId: task.taskId, callbackUrl: 'https://hooks.example.com/arc' },
      { targetAgent: 'waiter' },
    );
    expect(result.type).toBe('subscription');
    expect(result.subscription).toMatchObject({
      subscriptionId: expect.stringMatching(/^sub-/),
      taskId: task.taskId,
      callbackUrl: 'https://hooks.example.com/arc',
      events: ['TASK_COMPLETED', 'TASK_FAILED'],
      active: true,
      createdAt: expect.stringMatching(/Z$/),
      secret: expect.stringMatching(/^whsec_/),
    });
    const stored = await arcd.server.store.listSubscriptions(task.taskId);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.secret).toBe(result.subscription.secret);
  });

  test('a chosen secret is taken only in the canonical base64 every verifier decodes', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    const subscribe = (secret: string) =>
      arcCall(
        arcd.url,
        'task.subscribe',
        { taskId: task.taskId, callbackUrl: 'https://hooks.example.com/arc', secret },
        { targetAgent: 'waiter' },
      );
    const padded = Buffer.alloc(32, 9).toString('base64'); // 44 characters, one "="
    // The last character before "=" carries 2 unused bits: set one, the bytes stay the same.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const strayBits = `${padded.slice(0, -2)}${alphabet[alphabet.indexOf(padded.at(-2)!) + 1]}=`;
    expect(Buffer.from(strayBits, 'base64')).toEqual(Buffer.from(padded, 'base64'));
    const taken = await subscribe(`whsec_${padded}`);
    expect(taken.body.result.subscription.secret).toBe(`whsec_${padded}`);
    for (const [secret, why] of [
      [`whsec_${padded.replace(/=+$/, '')}`, /canonical base64/], // unpadded: Python refuses it
      [`whsec_${strayBits}`, /canonical base64/], // the same bytes, a last character other than 0-bits
      [`whsec_${Buffer.alloc(16).toString('base64')}`, /24 to 64/],
      ['whsec_not base64!', /followed by base64/],
    ] as const) {
      const refused = await subscribe(secret);
      expect(refused.body.error).toMatchObject({
        code: -32602,
        details: { errors: [{ field: 'secret', message: expect.stringMatching(why) }] },
      });
    }
  });

  test('outbox rows follow the subscribed events; STATUS_CHANGE catches all', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    await waitForStatus(arcd.url, 'waiter', task.taskId, ['WORKING']);
    const subscribe = (events?: string[]) =>
      arcResult(
        arcd.url,
        'task.subscribe',
        {
          taskId: task.taskId,
          callbackUrl: 'http://hooks.invalid/hook',
          ...(events ? { events } : {}),
        },
        { targetAgent: 'waiter' },
      );
    const narrow = (await subscribe()).subscription;
    const all = (await subscribe(['STATUS_CHANGE'])).subscription;
    const messages = (await subscribe(['NEW_MESSAGE'])).subscription;
    const seqBefore = (await arcd.server.store.listEvents(task.taskId)).length;
    release();
    await waitForStatus(arcd.url, 'waiter', task.taskId, ['COMPLETED']);

    const events = await arcd.server.store.listEvents(task.taskId);
    const after = events.filter((e) => e.seq > seqBefore);
    expect(after.map((e) => e.type)).toEqual(['NEW_MESSAGE', 'TASK_COMPLETED', 'STATUS_CHANGE']);
    const deliveries = await arcd.server.store.listDeliveries(task.taskId);
    const seqsFor = (id: string) =>
      deliveries.filter((d) => d.subscriptionId === id).map((d) => d.eventSeq);
    const seqOf = (type: string) => after.find((e) => e.type === type)?.seq;
    expect(seqsFor(narrow.subscriptionId)).toEqual([seqOf('TASK_COMPLETED')]);
    expect(seqsFor(all.subscriptionId)).toEqual(after.map((e) => e.seq));
    expect(seqsFor(messages.subscriptionId)).toEqual([seqOf('NEW_MESSAGE')]);
  });

  test.each([
    ['mailto:someone@example.com', 'callbackUrl'],
    ['http://user:pass@example.com/hook', 'callbackUrl'],
    ['https://', 'callbackUrl'],
  ])('refuses callbackUrl %s', async (callbackUrl, field) => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    const reply = await arcCall(
      arcd.url,
      'task.subscribe',
      { taskId: task.taskId, callbackUrl },
      { targetAgent: 'waiter' },
    );
    expect(reply.body.error.code).toBe(-32602);
    expect(reply.body.error.details.errors[0].field).toBe(field);
  });

  test('refuses an empty or repeated event list', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    for (const events of [[], ['TASK_FAILED', 'TASK_FAILED']]) {
      const reply = await arcCall(
        arcd.url,
        'task.subscribe',
        { taskId: task.taskId, callbackUrl: 'https://x.example/h', events },
        { targetAgent: 'waiter' },
      );
      expect(reply.body.error).toMatchObject({
        code: -32602,
        details: { errors: [{ field: 'events' }] },
      });
    }
  });
});

describe('task.notification', () => {
  test('about a task deleted meanwhile is not found (-42001)', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    deletedJustBefore('insertNotification', task.taskId);
    const refused = await arcCall(
      arcd.url,
      'task.notification',
      {
        taskId: task.taskId,
        event: 'TASK_COMPLETED',
        timestamp: '2026-01-02T03:04:05Z',
        data: { status: 'COMPLETED' },
      },
      { targetAgent: 'waiter', requestAgent: 'waiter' },
    );
    expect(refused.body.error).toMatchObject({ code: -42001, details: { taskId: task.taskId } });
  });

  test('is stored against the task it names', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    const result = await arcResult(
      arcd.url,
      'task.notification',
      {
        taskId: task.taskId,
        event: 'TASK_COMPLETED',
        timestamp: '2026-01-02T03:04:05',
        data: { status: 'COMPLETED', note: 'remote side done' },
      },
      { targetAgent: 'waiter', requestAgent: 'waiter' },
    );
    expect(result).toEqual({ success: true });
    const stored = await arcd.server.store.listNotifications(task.taskId);
    expect(stored).toEqual([
      expect.objectContaining({
        fromAgent: 'waiter',
        event: 'TASK_COMPLETED',
        timestamp: '2026-01-02T03:04:05.000Z',
        data: { status: 'COMPLETED', note: 'remote side done' },
      }),
    ]);
  });

  test('from the agent running a task to the agent that asked for it, as ARC sends it', async () => {
    // `echo` asked `waiter` for the task; `waiter` tells `echo` (hosted here too) about it.
    const task = await createTask(arcd.url, 'waiter', 'x', {}, { requestAgent: 'echo' });
    const told = await arcResult(
      arcd.url,
      'task.notification',
      {
        taskId: task.taskId,
        event: 'TASK_STARTED',
        timestamp: '2026-01-02T03:04:05Z',
        data: { status: 'WORKING' },
      },
      { requestAgent: 'waiter', targetAgent: 'echo' },
    );
    expect(told).toEqual({ success: true });
    expect(await arcd.server.store.listNotifications(task.taskId)).toEqual([
      expect.objectContaining({ fromAgent: 'waiter', event: 'TASK_STARTED' }),
    ]);
    // Nobody else speaks for the task.
    const stranger = await arcCall(
      arcd.url,
      'task.notification',
      { taskId: task.taskId, event: 'X', timestamp: '2026-01-02T03:04:05Z', data: {} },
      { requestAgent: 'mallory', targetAgent: 'echo' },
    );
    expect(stranger.body.error).toMatchObject({ code: -42001 });
  });

  test('needs a data object and a timestamp', async () => {
    const task = await createTask(arcd.url, 'waiter', 'x');
    const reply = await arcCall(
      arcd.url,
      'task.notification',
      { taskId: task.taskId, event: 'X', data: 'nope' },
      { targetAgent: 'waiter' },
    );
    const fields = reply.body.error.details.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['data', 'timestamp']);
  });
});

test('a message sent to a task not waiting for input is refused, as ARC has it (-42006)', async () => {
  const task = await createTask(arcd.url, 'waiter', 'x');
  await waitForStatus(arcd.url, 'waiter', task.taskId, ['WORKING']);
  const before = (await arcd.server.store.listEvents(task.taskId)).length;
  const refused = await arcCall(
    arcd.url,
    'task.send',
    { taskId: task.taskId, message: textMessage('fyi') },
    { targetAgent: 'waiter' },
  );
  expect(refused.body.error).toMatchObject({
    code: -42006,
    message: expect.stringContaining('not waiting for input'),
    details: { taskId: task.taskId, currentStatus: 'WORKING' },
  });
  expect(await arcd.server.store.listEvents(task.taskId)).toHaveLength(before);
});
