/**
 * Each subscription's queue head (its oldest pending delivery, the only one a claim takes) is
 * kept marked through every way a delivery enters or leaves the queue: enqueued, delivered,
 * retried later, dead, canceled with its subscription, sent again with delivery.retry. A
 * fast-check run of random steps checks after each one that the marks are exactly the oldest
 * pending delivery of every subscription, and that a claim takes only those (due, unleased).
 * Migrations 0011 and 0012 mark the heads (and hosts) of a database that already holds
 * deliveries.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { BlobTable } from '../../src/store/blobRows';
import { DeliveryTables } from '../../src/store/deliveryRows';
import { migrate, readMigrations } from '../../src/store/migrate';
import { openDatabase } from '../../src/store/openDatabase';
import type { AttemptPlan, EventRecord } from '../../src/store/records';
import { SubscriptionTables } from '../../src/store/subscriptionRows';
import { WriteRecorder } from '../../src/store/writeRecorder';
import { tempDbFile } from '../helpers/tempDb';

const AT = '2026-12-04T12:00:00.000Z';
const SUBSCRIPTIONS = ['sub-a', 'sub-b', 'sub-c', 'sub-d'];
const OWNER = 'sender-test';

type Db = Database.Database;

/** One task with four subscriptions to it, two to each of two hosts, and no events yet. */
function seed(db: Db): void {
  db.exec(`INSERT INTO tasks (task_id, status, priority, priority_rank, assigned_agent,
    request_agent, created_at, updated_at) VALUES ('task-h', 'WORKING', 'NORMAL', 1, 'echo',
    'me', '${AT}', '${AT}')`);
  for (const [i, id] of SUBSCRIPTIONS.entries()) {
    db.prepare(
      `INSERT INTO subscriptions (subscription_id, task_id, owner_agent, callback_url,
      callback_host, events, secret, created_at) VALUES (?, 'task-h', 'me', ?, ?, '["STATUS_CHANGE"]', 's', ?)`,
    ).run(id, `http://host-${i % 2}.test/hook`, `host-${i % 2}.test`, AT);
  }
}

/**
 * The marked heads, and what they must be: each subscription's delivery in flight (leased,
 * still pending) while there is one, else its oldest pending delivery. An older delivery sent
 * again (retryNow) waits for the one in flight to be recorded: one at a time a subscription.
 */
function heads(db: Db) {
  const marked = db
    .prepare(
      "SELECT subscription_id, event_seq FROM deliveries WHERE head = 1 AND status = 'pending' ORDER BY 1",
    )
    .all();
  const oldest = db
    .prepare(
      `SELECT subscription_id, COALESCE((SELECT l.event_seq FROM deliveries l
        WHERE l.subscription_id = d.subscription_id AND l.status = 'pending'
        AND l.lease_until IS NOT NULL), MIN(event_seq)) AS event_seq
      FROM deliveries d WHERE status = 'pending' GROUP BY 1 ORDER BY 1`,
    )
    .all();
  const strays = db
    .prepare("SELECT COUNT(*) AS n FROM deliveries WHERE head = 1 AND status <> 'pending'")
    .get() as { n: number };
  return { marked, oldest, strays: strays.n };
}

type Step =
  | { kind: 'events'; count: number }
  | { kind: 'claim'; limit: number; perHost: number }
  | { kind: 'attempt'; outcome: 'delivered' | 'pending' | 'dead' | 'gone'; pick: number }
  | { kind: 'retry'; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('events' as const),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      limit: fc.integer({ min: 1, max: 4 }),
      perHost: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('attempt' as const),
      // A 410 ends its subscription: rarer, or the runs would soon have none left.
      outcome: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('delivered' as const, 'pending' as const) },
        { weight: 4, arbitrary: fc.constant('dead' as const) },
        { weight: 1, arbitrary: fc.constant('gone' as const) },
      ),
      pick: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }) },
);

test('the marked heads are the delivery in flight, else the oldest pending, and claims take only them', () => {
  // What the runs exercised, so that a run that claims nothing cannot pass for one that checks.
  const exercised = { claimed: 0, recorded: 0, retried: 0 };
  fc.assert(
    fc.property(fc.array(step, { minLength: 20, maxLength: 60 }), (steps) => {
      const db = openDatabase(tempDbFile('heads'));
      try {
        seed(db);
        const recorder = new WriteRecorder();
        const subs = new SubscriptionTables(db, recorder);
        const deliveries = new DeliveryTables(db, new BlobTable(db, recorder));
        const subscriptions = SUBSCRIPTIONS.map((id) => subs.subscription(id)!);
        let seq = 0;
        const leased: string[] = [];
        for (const s of steps) {
          if (s.kind === 'events') {
            const events: EventRecord[] = Array.from({ length: s.count }, () => {
              seq += 1;
              db.prepare(
                `INSERT INTO events (task_id, seq, event_id, type, data, created_at)
                VALUES ('task-h', ?, ?, 'STATUS_CHANGE', '{}', ?)`,
              ).run(seq, `evt-${seq}`, AT);
              return {
                taskId: 'task-h',
                seq,
                eventId: `evt-${seq}`,
                type: 'STATUS_CHANGE',
                data: {},
                createdAt: AT,
              };
            });
            // Only the subscriptions still active get new deliveries.
            subs.enqueueFor(
              subscriptions.filter((sub) => subs.subscription(sub.subscriptionId)!.active),
              events,
            );
          } else if (s.kind === 'claim') {
            const before = heads(db).marked as Array<{
              subscription_id: string;
              event_seq: number;
            }>;
            // As many as there are unleased heads, up to perHost a host and limit in all.
            const free = db
              .prepare(
                "SELECT host, COUNT(*) AS n FROM deliveries WHERE head = 1 AND status = 'pending' AND lease_until IS NULL GROUP BY host",
              )
              .all() as Array<{ host: string; n: number }>;
            const expected = Math.min(
              s.limit,
              free.reduce((sum, { n }) => sum + Math.min(n, s.perHost), 0),
            );
            const jobs = deliveries.claimDue(
              OWNER,
              s.limit,
              new Date('2026-12-05T00:00:00Z'),
              60_000,
              { perHost: s.perHost, room: {} },
            );
            // Two subscriptions share each host: a claim takes at most perHost of each.
            const byHost = new Map<string, number>();
            for (const job of jobs) {
              const host = new URL(job.subscription.callbackUrl).host;
              byHost.set(host, (byHost.get(host) ?? 0) + 1);
            }
            for (const count of byHost.values()) expect(count).toBeLessThanOrEqual(s.perHost);
            expect(jobs.length).toBe(expected);
            for (const job of jobs) {
              expect(before).toContainEqual({
                subscription_id: job.delivery.subscriptionId,
                event_seq: job.delivery.eventSeq,
              });
              leased.push(job.delivery.deliveryId);
              exercised.claimed += 1;
            }
          } else if (s.kind === 'attempt') {
            const deliveryId = leased.splice(s.pick % Math.max(1, leased.length), 1)[0];
            if (!deliveryId) continue;
            const plan = (): AttemptPlan =>
              s.outcome === 'delivered'
                ? { delivery: { status: 'delivered', deliveredAt: AT } }
                : s.outcome === 'pending'
                  ? { delivery: { status: 'pending', nextAttemptAt: AT } }
                  : s.outcome === 'dead'
                    ? { delivery: { status: 'dead' } }
                    : {
                        delivery: { status: 'canceled' },
                        deactivate: 'receiver answered 410 Gone',
                      };
            if (deliveries.record(OWNER, { deliveryId, attemptedAt: AT, latencyMs: 1 }, plan)) {
              exercised.recorded += 1;
            }
          } else {
            const dead = db
              // delivery.retry refuses a delivery of an inactive subscription.
              .prepare(
                "SELECT delivery_id FROM deliveries JOIN subscriptions USING (subscription_id) WHERE status = 'dead' AND active = 1 ORDER BY delivery_id",
              )
              .all() as Array<{ delivery_id: string }>;
            const chosen = dead[s.pick % Math.max(1, dead.length)];
            if (chosen) {
              deliveries.retryNow(chosen.delivery_id, AT);
              exercised.retried += 1;
            }
          }
          const now = heads(db);
          expect(now.marked).toEqual(now.oldest);
          expect(now.strays).toBe(0);
        }
      } finally {
        db.close();
      }
    }),
    { numRuns: 100 },
  );
  expect(exercised.claimed).toBeGreaterThan(100);
  expect(exercised.recorded).toBeGreaterThan(100);
  expect(exercised.retried).toBeGreaterThan(20);
});

test('0011 and 0012 mark the heads of the deliveries already stored, and their hosts', () => {
  const db = new Database(tempDbFile('heads-migration'));
  try {
    db.pragma('foreign_keys = ON');
    migrate(
      db,
      readMigrations().filter((m) => m.version <= 10),
    );
    seed(db);
    const insertEvent = db.prepare(`INSERT INTO events (task_id, seq, event_id, type, data,
      created_at) VALUES ('task-h', ?, ?, 'STATUS_CHANGE', '{}', ?)`);
    for (let seq = 1; seq <= 4; seq += 1) insertEvent.run(seq, `evt-${seq}`, AT);
    const insert = db.prepare(`INSERT INTO deliveries (delivery_id, subscription_id, task_id,
      event_seq, status, next_attempt_at, created_at, updated_at) VALUES (?, ?, 'task-h', ?, ?, ?, ?, ?)`);
    // sub-a: 1 delivered, 2 and 3 pending; sub-b: 1 dead, 2 pending; sub-c: none pending.
    for (const [id, sub, seq, status] of [
      ['dlv-a1', 'sub-a', 1, 'delivered'],
      ['dlv-a2', 'sub-a', 2, 'pending'],
      ['dlv-a3', 'sub-a', 3, 'pending'],
      ['dlv-b1', 'sub-b', 1, 'dead'],
      ['dlv-b2', 'sub-b', 4, 'pending'],
      ['dlv-c1', 'sub-c', 1, 'delivered'],
    ] as const) {
      insert.run(id, sub, seq, status, AT, AT, AT);
    }
    expect(
      migrate(
        db,
        readMigrations().filter((m) => m.version <= 12),
      ),
    ).toBe(2); // 0011 and 0012, whatever later migrations there are
    expect(
      db.prepare('SELECT delivery_id FROM deliveries WHERE head = 1 ORDER BY 1').all(),
    ).toEqual([{ delivery_id: 'dlv-a2' }, { delivery_id: 'dlv-b2' }]);
    // 0012 gives each delivery its receiver's host, as its subscription has it.
    expect(db.prepare('SELECT delivery_id, host FROM deliveries ORDER BY 1').all()).toEqual([
      { delivery_id: 'dlv-a1', host: 'host-0.test' },
      { delivery_id: 'dlv-a2', host: 'host-0.test' },
      { delivery_id: 'dlv-a3', host: 'host-0.test' },
      { delivery_id: 'dlv-b1', host: 'host-1.test' },
      { delivery_id: 'dlv-b2', host: 'host-1.test' },
      { delivery_id: 'dlv-c1', host: 'host-0.test' },
    ]);
  } finally {
    db.close();
  }
});
