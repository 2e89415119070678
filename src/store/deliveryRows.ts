/**
 * The outbox as the webhook dispatcher sees it: claiming due deliveries under a lease (one
 * at a time per subscription, oldest event first, so a receiver sees a task's events in
 * order), recording attempts, and the operators' views. Sending is not done here.
 */
import type { Db } from './openDatabase';
import type {
  AttemptPlan,
  AttemptRecord,
  DeliveryRecord,
  DeliveryStatus,
  DeliveryJob,
  EventRecord,
} from './records';
import type { EventType, JsonObject } from '../types';
import { compact, optional } from './rowMapping';
import { type SubscriptionRow, fromSubscriptionRow } from './subscriptionRows';
import type { BlobTable } from './blobRows';

interface DeliveryRow {
  delivery_id: string;
  subscription_id: string;
  task_id: string;
  event_seq: number;
  status: string;
  attempts: number;
  max_attempts: number | null;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
  host: string;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
}

function fromDeliveryRow(row: DeliveryRow): DeliveryRecord {
  return compact({
    deliveryId: row.delivery_id,
    subscriptionId: row.subscription_id,
    taskId: row.task_id,
    eventSeq: row.event_seq,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    maxAttempts: optional(row.max_attempts),
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: optional(row.lease_owner),
    leaseUntil: optional(row.lease_until),
    lastStatus: optional(row.last_status),
    lastError: optional(row.last_error),
    deliveredAt: optional(row.delivered_at),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

function fromAttemptRow(row: AttemptRow): AttemptRecord {
  return compact({
    deliveryId: row.delivery_id,
    attempt: row.attempt,
    attemptedAt: row.attempted_at,
    statusCode: optional(row.status_code),
    latencyMs: row.latency_ms,
    error: optional(row.error),
    responseBody: optional(row.response_body),
  });
}

/** How many more deliveries each receiver host may take now; absent hosts take `perHost`. */
export interface HostRoom {
  perHost: number;
  room: Record<string, number>;
}

interface DueHead {
  delivery_id: string;
  next_attempt_at: string;
  event_seq: number;
}

export interface DeliveryFilter {
  ownerAgent: string;
  taskId?: string;
  subscriptionId?: string;
  status?: DeliveryStatus;
  limit: number;
}

/**
 * A delivery canceled while its attempt was in flight (its subscription ended meanwhile): the
 * attempt is recorded all the same, and only its success changes the delivery (to delivered,
 * which it was); it is never retried, and the ended subscription is not touched.
 */
function afterCancel(delivery: DeliveryRecord, decided: AttemptPlan): AttemptPlan {
  if (delivery.status !== 'canceled') return decided;
  return {
    delivery: decided.delivery.status === 'delivered' ? decided.delivery : { status: 'canceled' },
  };
}

export class DeliveryTables {
  private readonly headHosts;
  private readonly dueHeads;
  private readonly lease;
  private readonly jobParts;
  private readonly selectOne;
  private readonly selectByTask;
  private readonly selectFiltered;
  private readonly selectAttempts;
  private readonly insertAttempt;
  private readonly updateAfterAttempt;
  private readonly release;
  private readonly setFailingSince;
  private readonly deactivate;
  private readonly cancelPending;
  private readonly requeue;
  private readonly failingSinceOf;
  private readonly anyPending;
  private readonly unmarkHead;
  private readonly markHead;
  private readonly headInFlight;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobTable,
  ) {
    // The receiver hosts that have queue heads (each subscription's oldest pending delivery,
    // marked as such: see moveHead), one index seek each.
    this.headHosts = db.prepare<[], { host: string }>(`
      WITH RECURSIVE hosts (host) AS (
        SELECT MIN(host) FROM deliveries INDEXED BY deliveries_due_heads
          WHERE status = 'pending' AND head = 1
        UNION ALL
        SELECT (SELECT MIN(d.host) FROM deliveries d INDEXED BY deliveries_due_heads
          WHERE d.status = 'pending' AND d.head = 1 AND d.host > hosts.host)
        FROM hosts WHERE hosts.host IS NOT NULL
      )
      SELECT host FROM hosts WHERE host IS NOT NULL`);
    // One host's due heads, oldest first, straight off their index.
    this.dueHeads = db.prepare<
      [{ host: string; nowIso: string; nowMs: number; room: number }],
      DueHead
    >(`
      SELECT d.delivery_id, d.next_attempt_at, d.event_seq
      FROM deliveries d INDEXED BY deliveries_due_heads
      JOIN subscriptions s ON s.subscription_id = d.subscription_id AND s.active = 1
      WHERE d.status = 'pending' AND d.head = 1 AND d.host = @host
        AND d.next_attempt_at <= @nowIso AND (d.lease_until IS NULL OR d.lease_until < @nowMs)
      ORDER BY d.next_attempt_at, d.event_seq LIMIT @room`);
    this.lease = db.prepare<[string, number, string], DeliveryRow>(
      'UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE delivery_id = ? RETURNING *',
    );
    this.jobParts = db.prepare<
      [{ taskId: string; seq: number; subscriptionId: string }],
      SubscriptionRow & {
        e_type: string;
        e_data: string;
        e_event_id: string;
        e_created_at: string;
        t_agent: string;
        t_trace: string | null;
      }
    >(`SELECT s.*, e.type AS e_type, e.data AS e_data, e.event_id AS e_event_id,
        e.created_at AS e_created_at, t.assigned_agent AS t_agent, t.trace_id AS t_trace
      FROM subscriptions s JOIN events e ON e.task_id = @taskId AND e.seq = @seq
      JOIN tasks t ON t.task_id = @taskId WHERE s.subscription_id = @subscriptionId`);
    this.selectOne = db.prepare<[string], DeliveryRow>(
      'SELECT * FROM deliveries WHERE delivery_id = ?',
    );
    this.selectByTask = db.prepare<[string], DeliveryRow>(
      'SELECT * FROM deliveries WHERE task_id = ? ORDER BY event_seq, subscription_id',
    );
    this.selectFiltered = db.prepare<
      [
        {
          owner: string;
          taskId: string | null;
          subscriptionId: string | null;
          status: string | null;
          limit: number;
        },
      ],
      DeliveryRow
    >(`SELECT d.* FROM deliveries d JOIN subscriptions s ON s.subscription_id = d.subscription_id
      WHERE s.owner_agent = @owner AND (@taskId IS NULL OR d.task_id = @taskId)
        AND (@subscriptionId IS NULL OR d.subscription_id = @subscriptionId)
        AND (@status IS NULL OR d.status = @status)
      ORDER BY d.created_at DESC, d.event_seq DESC LIMIT @limit`);
    this.selectAttempts = db.prepare<[string], AttemptRow>(
      'SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt',
    );
    this.insertAttempt = db.prepare(`INSERT INTO delivery_attempts (delivery_id, attempt,
      attempted_at, status_code, latency_ms, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    // A delivery that leaves the queue is no longer its head (the next one is made head).
    this.updateAfterAttempt = db.prepare(`UPDATE deliveries SET status = ?, attempts = ?,
      next_attempt_at = COALESCE(?, next_attempt_at), delivered_at = COALESCE(?, delivered_at),
      last_status = ?, last_error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?,
      head = head AND ? = 'pending'
      WHERE delivery_id = ?`);
    this.release = db.prepare(`UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
      WHERE delivery_id = ? AND lease_owner = ?`);
    this.setFailingSince = db.prepare(
      'UPDATE subscriptions SET failing_since = ? WHERE subscription_id = ?',
    );
    this.deactivate = db.prepare(`UPDATE subscriptions SET active = 0, deactivated_at = ?,
      deactivated_reason = ? WHERE subscription_id = ? AND active = 1`);
    // A delivery in flight keeps its lease: its sender still records the attempt (see record).
    this.cancelPending = db.prepare(`UPDATE deliveries SET status = 'canceled', updated_at = ?,
      head = 0 WHERE subscription_id = ? AND status = 'pending'`);
    this.unmarkHead = db.prepare(`UPDATE deliveries SET head = 0
      WHERE subscription_id = ? AND status = 'pending' AND head = 1`);
    this.markHead = db.prepare(`UPDATE deliveries SET head = 1 WHERE delivery_id = (
      SELECT delivery_id FROM deliveries WHERE subscription_id = ? AND status = 'pending'
      ORDER BY event_seq LIMIT 1)`);
    this.headInFlight = db.prepare<[string, number], { one: number }>(`SELECT 1 AS one
      FROM deliveries WHERE subscription_id = ? AND status = 'pending' AND head = 1
      AND lease_until >= ?`);
    this.anyPending = db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM deliveries
      WHERE subscription_id = ? AND status = 'pending' LIMIT 1`);
    this.failingSinceOf = db.prepare<[string], { failing_since: string | null }>(
      'SELECT failing_since FROM subscriptions WHERE subscription_id = ?',
    );
    // Only a delivery out of the queue, of a subscription still active: checked here, in the
    // write, as a 410 or a disable may have come between the caller's check and this.
    this.requeue = db.prepare<[string, string, string], { subscription_id: string }>(`
      UPDATE deliveries SET status = 'pending', next_attempt_at = ?,
      max_attempts = attempts + 1, updated_at = ? WHERE delivery_id = ? AND status <> 'pending'
      AND EXISTS (SELECT 1 FROM subscriptions s
        WHERE s.subscription_id = deliveries.subscription_id AND s.active = 1)
      RETURNING subscription_id`);
  }

  claimDue(
    owner: string,
    limit: number,
    now: Date,
    leaseMs: number,
    hosts: HostRoom,
  ): DeliveryJob[] {
    if (limit <= 0) return [];
    const nowMs = now.getTime();
    const until = nowMs + leaseMs;
    const rows = this.db
      .transaction(() => {
        // Per receiver host no more than the room the sender has left for it, read off the
        // index host by host; then the oldest of them all.
        const nowIso = now.toISOString();
        const chosen = this.headHosts
          .all()
          .flatMap(({ host }) => {
            const room = Math.min(limit, hosts.room[host] ?? hosts.perHost);
            return room > 0 ? this.dueHeads.all({ host, nowIso, nowMs, room }) : [];
          })
          .sort(
            (a, b) =>
              a.next_attempt_at.localeCompare(b.next_attempt_at) || a.event_seq - b.event_seq,
          )
          .slice(0, limit)
          .map((head) => head.delivery_id);
        return chosen.map((id) => this.lease.get(owner, until, id) as DeliveryRow);
      })
      .immediate();
    return rows.flatMap((row) => {
      const parts = this.jobParts.get({
        taskId: row.task_id,
        seq: row.event_seq,
        subscriptionId: row.subscription_id,
      });
      if (!parts) return [];
      const event: EventRecord = {
        taskId: row.task_id,
        seq: row.event_seq,
        eventId: parts.e_event_id,
        type: parts.e_type as EventType,
        data: this.blobs.inflate<JsonObject>(row.task_id, parts.e_data),
        createdAt: parts.e_created_at,
      };
      return [
        compact({
          delivery: fromDeliveryRow(row),
          host: row.host,
          subscription: fromSubscriptionRow(parts),
          event,
          taskAgent: parts.t_agent,
          traceId: optional(parts.t_trace),
        }),
      ];
    });
  }

  get(deliveryId: string): DeliveryRecord | undefined {
    const row = this.selectOne.get(deliveryId);
    return row ? fromDeliveryRow(row) : undefined;
  }

  byTask(taskId: string): DeliveryRecord[] {
    return this.selectByTask.all(taskId).map(fromDeliveryRow);
  }

  filtered(filter: DeliveryFilter): DeliveryRecord[] {
    return this.selectFiltered
      .all({
        owner: filter.ownerAgent,
        taskId: filter.taskId ?? null,
        subscriptionId: filter.subscriptionId ?? null,
        status: filter.status ?? null,
        limit: filter.limit,
      })
      .map(fromDeliveryRow);
  }

  attempts(deliveryId: string): AttemptRecord[] {
    return this.selectAttempts.all(deliveryId).map(fromAttemptRow);
  }

  /**
   * Records one attempt and its consequences in one transaction. `plan` sees the delivery and
   * subscription as stored; nothing is written if this owner no longer holds the lease.
   */
  record(
    owner: string,
    attempt: Omit<AttemptRecord, 'attempt'>,
    plan: (delivery: DeliveryRecord, failingSince: string | undefined) => AttemptPlan,
  ): DeliveryRecord | undefined {
    return this.db
      .transaction(() => {
        const delivery = this.get(attempt.deliveryId);
        if (!delivery || delivery.leaseOwner !== owner) return undefined;
        const subscriptionRow = this.failingSinceOf.get(delivery.subscriptionId);
        const decided = afterCancel(
          delivery,
          plan(delivery, optional(subscriptionRow?.failing_since)),
        );
        const number = delivery.attempts + 1;
        this.insertAttempt.run(
          delivery.deliveryId,
          number,
          attempt.attemptedAt,
          attempt.statusCode ?? null,
          attempt.latencyMs,
          attempt.error ?? null,
          attempt.responseBody ?? null,
        );
        this.updateAfterAttempt.run(
          decided.delivery.status,
          number,
          decided.delivery.nextAttemptAt ?? null,
          decided.delivery.deliveredAt ?? null,
          attempt.statusCode ?? null,
          attempt.error ?? null,
          attempt.attemptedAt,
          decided.delivery.status,
          delivery.deliveryId,
        );
        // Delivered, dead or canceled, it leaves the queue; pending still, an older delivery
        // sent again meanwhile (retryNow) may be the head now.
        this.moveHead(delivery.subscriptionId);
        if (decided.failingSince === null || this.runOfFailuresEnds(decided, delivery)) {
          this.setFailingSince.run(null, delivery.subscriptionId);
        } else if (decided.failingSince !== undefined && !subscriptionRow?.failing_since) {
          this.setFailingSince.run(decided.failingSince, delivery.subscriptionId);
        }
        if (decided.deactivate) {
          this.deactivateSubscription(
            delivery.subscriptionId,
            decided.deactivate,
            attempt.attemptedAt,
          );
        }
        return this.get(delivery.deliveryId);
      })
      .immediate();
  }

  /**
   * A delivery that died with nothing queued behind it ends its subscription's run of
   * failures: the subscription is idle, not failing, and a failure after the idle spell starts
   * a new run (measured afresh against --webhook-disable-after-ms). While deliveries wait, the
   * run goes on, so a receiver that stays down is still disabled in time.
   */
  private runOfFailuresEnds(decided: AttemptPlan, delivery: DeliveryRecord): boolean {
    return (
      decided.delivery.status === 'dead' &&
      !decided.deactivate &&
      this.anyPending.get(delivery.subscriptionId) === undefined
    );
  }

  releaseLease(deliveryId: string, owner: string): void {
    this.release.run(deliveryId, owner);
  }

  /** Deactivates a subscription and cancels what it still owed; false if it was not active. */
  deactivateSubscription(subscriptionId: string, reason: string, at: string): boolean {
    const changed = this.deactivate.run(at, reason, subscriptionId).changes > 0;
    if (changed) this.cancelPending.run(at, subscriptionId);
    return changed;
  }

  /**
   * Sends a delivery again now, with a budget of one more attempt; false (and nothing
   * written) if it is pending already or its subscription is no longer active.
   */
  retryNow(deliveryId: string, at: string): boolean {
    return this.db.transaction(() => {
      const row = this.requeue.get(at, at, deliveryId);
      if (!row) return false;
      // Pending again, it may be older than its subscription's head: the oldest goes first,
      // but only once the head in flight is answered (its record moves the head), so that a
      // subscription still has one delivery in flight at a time.
      if (!this.headInFlight.get(row.subscription_id, Date.parse(at))) {
        this.moveHead(row.subscription_id);
      }
      return true;
    })();
  }

  /**
   * Marks the subscription's oldest pending delivery as its queue's head (and no other): after
   * a delivery left the queue (delivered, dead, canceled) or came back to it (retried).
   */
  private moveHead(subscriptionId: string): void {
    this.unmarkHead.run(subscriptionId);
    this.markHead.run(subscriptionId);
  }
}
