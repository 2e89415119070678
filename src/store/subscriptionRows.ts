/**
 * Subscription, outbox (delivery) and notification rows. The outbox rows are written here,
 * inside the transaction of the event they announce; sending them is the webhooks' job.
 */
import type { Db } from './openDatabase';
import type {
  DeliveryRecord,
  EventRecord,
  NotificationRecord,
  SubscriptionRecord,
} from './records';
import type { EventType, JsonObject } from '../types';
import { newId } from '../ids';

interface SubscriptionRow {
  subscription_id: string;
  task_id: string;
  owner_agent: string;
  callback_url: string;
  events: string;
  secret: string;
  active: number;
  created_at: string;
}

interface DeliveryRow {
  delivery_id: string;
  subscription_id: string;
  task_id: string;
  event_seq: number;
  status: string;
  attempts: number;
  next_attempt_at: string;
  created_at: string;
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

function fromSubscriptionRow(row: SubscriptionRow): SubscriptionRecord {
  return {
    subscriptionId: row.subscription_id,
    taskId: row.task_id,
    ownerAgent: row.owner_agent,
    callbackUrl: row.callback_url,
    events: JSON.parse(row.events) as EventType[],
    secret: row.secret,
    active: row.active === 1,
    createdAt: row.created_at,
  };
}

function fromDeliveryRow(row: DeliveryRow): DeliveryRecord {
  return {
    deliveryId: row.delivery_id,
    subscriptionId: row.subscription_id,
    taskId: row.task_id,
    eventSeq: row.event_seq,
    status: row.status as DeliveryRecord['status'],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
  };
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

/** A subscription wants an event it lists, and every event when it lists STATUS_CHANGE. */
export function subscriptionWants(events: readonly EventType[], type: EventType): boolean {
  return events.includes(type) || events.includes('STATUS_CHANGE');
}

export class SubscriptionTables {
  private readonly insertSubscription;
  private readonly selectSubscriptions;
  private readonly selectActive;
  private readonly insertDelivery;
  private readonly selectDeliveries;
  private readonly insertNotification;
  private readonly selectNotifications;

  constructor(db: Db) {
    this.insertSubscription = db.prepare(`INSERT INTO subscriptions (subscription_id, task_id,
      owner_agent, callback_url, events, secret, active, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectSubscriptions = db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE task_id = ? ORDER BY created_at, subscription_id',
    );
    this.selectActive = db.prepare<[string], SubscriptionRow>(
      'SELECT * FROM subscriptions WHERE task_id = ? AND active = 1',
    );
    this.insertDelivery = db.prepare(`INSERT INTO deliveries (delivery_id, subscription_id,
      task_id, event_seq, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`);
    this.selectDeliveries = db.prepare<[string], DeliveryRow>(
      'SELECT * FROM deliveries WHERE task_id = ? ORDER BY event_seq, subscription_id',
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
      JSON.stringify(s.events),
      s.secret,
      s.active ? 1 : 0,
      s.createdAt,
    );
  }

  subscriptions(taskId: string): SubscriptionRecord[] {
    return this.selectSubscriptions.all(taskId).map(fromSubscriptionRow);
  }

  /** Writes one outbox row per (event, active subscription that wants it). */
  enqueueDeliveries(taskId: string, events: EventRecord[]): void {
    if (events.length === 0) return;
    const active = this.selectActive.all(taskId).map(fromSubscriptionRow);
    for (const event of events) {
      for (const subscription of active) {
        if (!subscriptionWants(subscription.events, event.type)) continue;
        this.insertDelivery.run(
          newId('dlv'),
          subscription.subscriptionId,
          taskId,
          event.seq,
          event.createdAt,
          event.createdAt,
        );
      }
    }
  }

  deliveries(taskId: string): DeliveryRecord[] {
    return this.selectDeliveries.all(taskId).map(fromDeliveryRow);
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
