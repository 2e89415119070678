/**
 * Subscription, outbox (delivery) and notification rows. The outbox rows are written here,
 * inside the transaction of the event they announce; sending them is the webhooks' job.
 */
import type { Db } from './openDatabase';
import type { EventHead, EventRecord, NotificationRecord, SubscriptionRecord } from './records';
import { EXTENSION_EVENT_TYPES, type EventType, type JsonObject } from '../types';
import { newId } from '../ids';
import { compact, optional } from './rowMapping';
import type { WriteRecorder } from './writeRecorder';

export interface SubscriptionRow {
  subscription_id: string;
  task_id: string;
  owner_agent: string;
  callback_url: string;
  events: string;
  secret: string;
  active: number;
  created_at: string;
  failing_since: string | null;
  deactivated_at: string | null;
  deactivated_reason: string | null;
}

interface NotificationRow {
  notification_id: string;
  task_id: string;
  from_agent: string;
  event: string;
  timestamp: string;
  data: string;
  received_at: string;
}

export function fromSubscriptionRow(row: SubscriptionRow): SubscriptionRecord {
  return compact({
    subscriptionId: row.subscription_id,
    taskId: row.task_id,
    ownerAgent: row.owner_agent,
    callbackUrl: row.callback_url,
    events: JSON.parse(row.events) as EventType[],
    secret: row.secret,
    active: row.active === 1,
    createdAt: row.created_at,
    failingSince: optional(row.failing_since),
    deactivatedAt: optional(row.deactivated_at),
    deactivatedReason: optional(row.deactivated_reason),
  });
}

function fromNotificationRow(row: NotificationRow): NotificationRecord {
  return {
    notificationId: row.notification_id,
    taskId: row.task_id,
    fromAgent: row.from_agent,
    event: row.event,
    timestamp: row.timestamp,
    data: JSON.parse(row.data) as JsonObject,
    receivedAt: row.received_at,
  };
}

/**
 * Whether a subscription wants an event. It gets the events it lists, and with STATUS_CHANGE
 * listed (ARC's catch-all) every ARC event of its task; arcd's own event types only when it
 * names them. A multi-agent parent's log also holds its children's events (tagged
 * `childTaskId`): those are not the parent's, and go to none of its subscriptions (a receiver
 * would take a child's TASK_COMPLETED, sent with the parent's id, for the parent's end); a
 * child's own subscriptions get them.
 */
export function subscriptionWants(
  events: readonly EventType[],
  event: Pick<EventRecord, 'type' | 'data'>,
): boolean {
  if (event.data.childTaskId !== undefined) return false;
  const named = events.includes(event.type);
  if (EXTENSION_EVENT_TYPES.has(event.type)) return named;
  return named || events.includes('STATUS_CHANGE');
}

export class SubscriptionTables {
  private readonly insertSubscription;
  private readonly selectSubscriptions;
  private readonly selectActive;
  private readonly insertDelivery;
  private readonly activeGuard;
  private readonly selectOne;
  private readonly selectByOwner;
  private readonly insertNotification;
  private readonly selectNotifications;

  constructor(db: Db, recorder: WriteRecorder) {
    this.insertSubscription = db.prepare(`INSERT INTO subscriptions (subscription_id, task_id,
      owner_agent, callback_url, callback_host, events, secret, active, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectSubscriptions = db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE task_id = ? ORDER BY created_at, subscription_id',
    );
    this.selectActive = db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE task_id = ? AND active = 1',
    );
    this.insertDelivery = recorder.statement(
      db,
      // The head of its subscription's queue when nothing else of it is pending (deliveries
      // are added in event order, so a later one never goes before one already there).
      `INSERT INTO deliveries (delivery_id, subscription_id, task_id, event_seq,
      next_attempt_at, created_at, updated_at, head, host) SELECT ?, ?, ?, ?, ?, ?, ?,
      NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.subscription_id = ? AND p.status = 'pending'),
      (SELECT s.callback_host FROM subscriptions s WHERE s.subscription_id = ?)`,
    );
    // Which subscriptions, not how many: one canceled and another made meanwhile (by another
    // process) must have the batch's outbox rows planned again too.
    this.activeGuard = recorder.guard(
      db,
      `SELECT COALESCE(group_concat(subscription_id, ' ' ORDER BY subscription_id), '')
        FROM subscriptions WHERE task_id = ? AND active = 1`,
    );
    this.selectOne = db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE subscription_id = ?',
    );
    this.selectByOwner = db.prepare<
      [{ owner: string; taskId: string | null; agent: string | null }],
      SubscriptionRow
    >(
      `SELECT * FROM subscriptions WHERE owner_agent = @owner
       AND (@taskId IS NULL OR task_id = @taskId)
       AND (@agent IS NULL OR task_id IN (SELECT task_id FROM tasks WHERE assigned_agent = @agent))
       ORDER BY created_at, subscription_id`,
    );
    this.insertNotification = db.prepare(`INSERT INTO notifications (notification_id, task_id,
      from_agent, event, timestamp, data, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.selectNotifications = db.prepare<[string], NotificationRow>(
      'SELECT * FROM notifications WHERE task_id = ? ORDER BY received_at, notification_id',
    );
  }

  addSubscription(s: SubscriptionRecord): void {
    this.insertSubscription.run(
      s.subscriptionId,
      s.taskId,
      s.ownerAgent,
      s.callbackUrl,
      new URL(s.callbackUrl).host,
      JSON.stringify(s.events),
      s.secret,
      s.active ? 1 : 0,
      s.createdAt,
    );
  }

  subscriptions(taskId: string): SubscriptionRecord[] {
    return this.selectSubscriptions.all(taskId).map(fromSubscriptionRow);
  }

  subscription(subscriptionId: string): SubscriptionRecord | undefined {
    const row = this.selectOne.get(subscriptionId);
    return row ? fromSubscriptionRow(row) : undefined;
  }

  byOwner(owner: string, taskId?: string, agent?: string): SubscriptionRecord[] {
    return this.selectByOwner
      .all({ owner, taskId: taskId ?? null, agent: agent ?? null })
      .map(fromSubscriptionRow);
  }

  /**
   * Writes one outbox row per (event, active subscription that wants it). While a batch is
   * recorded, the subscriptions found are guarded (their count), so one another process adds
   * before the batch commits has the write planned again rather than miss these events.
   */
  enqueueDeliveries(taskId: string, events: EventRecord[]): number {
    if (events.length === 0) return 0;
    const active = this.selectActive.all(taskId);
    const ids = active.map((row) => row.subscription_id).sort();
    this.activeGuard.expect([ids.join(' ')], taskId);
    return this.enqueueFor(active.map(fromSubscriptionRow), events);
  }

  /** Outbox rows for these subscriptions only (a replay of past events for a new one). */
  enqueueFor(subscriptions: SubscriptionRecord[], events: Iterable<EventHead>): number {
    let queued = 0;
    for (const event of events) {
      for (const subscription of subscriptions) {
        if (!subscriptionWants(subscription.events, event)) continue;
        this.insertDelivery.run(
          newId('dlv'),
          subscription.subscriptionId,
          event.taskId,
          event.seq,
          event.createdAt,
          event.createdAt,
          event.createdAt,
          subscription.subscriptionId,
          subscription.subscriptionId,
        );
        queued += 1;
      }
    }
    return queued;
  }

  addNotification(n: NotificationRecord): void {
    this.insertNotification.run(
      n.notificationId,
      n.taskId,
      n.fromAgent,
      n.event,
      n.timestamp,
      JSON.stringify(n.data),
      n.receivedAt,
    );
  }

  notifications(taskId: string): NotificationRecord[] {
    return this.selectNotifications.all(taskId).map(fromNotificationRow);
  }
}
