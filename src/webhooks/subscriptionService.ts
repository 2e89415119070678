/**
 * Subscriptions and their deliveries, from the caller's side: subscribe (with the SSRF check,
 * an optional caller-chosen secret and an optional replay of past events), list and cancel
 * subscriptions, list deliveries with their attempts, and send one again now. Each caller sees
 * only its own; anyone else's is reported as not found.
 */
import type { CallContext, EventType } from '../types';
import type { SubscriptionRecord } from '../store/records';
import type { DeliveryStatus } from '../store/records';
import type { Store } from '../store/store';
import type { TaskService } from '../tasks/taskService';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { ArcError, InvalidParamsError } from '../rpc/errors';
import { toWireSubscription } from '../tasks/toWire';
import { unlessDeletedMeanwhile } from '../tasks/deletedMeanwhile';
import { generateSecret, secretProblem } from './sign';
import { type AddressPolicy, callbackProblem } from './ssrf';

export const DEFAULT_EVENTS: EventType[] = ['TASK_COMPLETED', 'TASK_FAILED'];

export class SubscriptionNotFoundError extends ArcError {
  constructor(subscriptionId: string) {
    super(-32602, `Subscription not found: ${subscriptionId}`, { subscriptionId });
  }
}

export class DeliveryNotFoundError extends ArcError {
  constructor(deliveryId: string) {
    super(-32602, `Delivery not found: ${deliveryId}`, { deliveryId });
  }
}

export interface SubscribeParams {
  taskId: string;
  callbackUrl: string;
  events?: EventType[];
  secret?: string;
  replay?: boolean;
}

export class SubscriptionService {
  constructor(
    private readonly store: Store,
    private readonly tasks: TaskService,
    private readonly clock: Clock,
    private readonly policy: AddressPolicy,
    private readonly deliveriesDue: () => void,
  ) {}

  async subscribe(call: CallContext, params: SubscribeParams) {
    const task = await this.tasks.getVisible(call, params.taskId);
    if (params.secret !== undefined) {
      const problem = secretProblem(params.secret);
      if (problem) throw new InvalidParamsError([{ field: 'secret', message: problem }]);
    }
    const problem = await callbackProblem(params.callbackUrl, this.policy);
    if (problem) {
      throw new InvalidParamsError([
        {
          field: 'callbackUrl',
          message: `is not allowed: ${problem} (see ARCD_WEBHOOK_ALLOWLIST)`,
        },
      ]);
    }
    const subscription: SubscriptionRecord = {
      subscriptionId: newId('sub'),
      taskId: task.taskId,
      ownerAgent: call.requestAgent,
      callbackUrl: params.callbackUrl,
      events: params.events ?? DEFAULT_EVENTS,
      secret: params.secret ?? generateSecret(),
      active: true,
      createdAt: isoNow(this.clock),
    };
    // The task may go while its callback's host is looked up, say.
    const insert = this.store.insertSubscription(subscription, params.replay === true);
    await unlessDeletedMeanwhile(task.taskId, insert);
    return { ...toWireSubscription(subscription), secret: subscription.secret };
  }

  private async ownSubscription(call: CallContext, subscriptionId: string) {
    const subscription = await this.store.getSubscription(subscriptionId);
    if (!subscription || subscription.ownerAgent !== call.requestAgent) {
      throw new SubscriptionNotFoundError(subscriptionId);
    }
    return subscription;
  }

  async list(call: CallContext, params: { taskId?: string }) {
    const subscriptions = await this.store.listSubscriptionsByOwner(call.requestAgent, {
      ...(params.taskId ? { taskId: params.taskId } : {}),
      agent: call.targetAgent,
    });
    return subscriptions.map((s) => ({
      ...toWireSubscription(s),
      ...(s.failingSince ? { failingSince: s.failingSince } : {}),
      ...(s.deactivatedAt ? { deactivatedAt: s.deactivatedAt } : {}),
      ...(s.deactivatedReason ? { deactivatedReason: s.deactivatedReason } : {}),
    }));
  }

  async cancel(call: CallContext, params: { subscriptionId: string }) {
    const subscription = await this.ownSubscription(call, params.subscriptionId);
    await this.store.deactivateSubscription(
      subscription.subscriptionId,
      `canceled by ${call.requestAgent}`,
      isoNow(this.clock),
    );
    const after = await this.ownSubscription(call, params.subscriptionId);
    return toWireSubscription(after);
  }

  async deliveries(
    call: CallContext,
    params: { taskId?: string; subscriptionId?: string; status?: DeliveryStatus; limit?: number },
  ) {
    const deliveries = await this.store.findDeliveries({
      ownerAgent: call.requestAgent,
      ...params,
      limit: params.limit ?? 100,
    });
    return Promise.all(
      deliveries.map(async (d) => ({
        deliveryId: d.deliveryId,
        subscriptionId: d.subscriptionId,
        taskId: d.taskId,
        sequence: d.eventSeq,
        status: d.status,
        attempts: d.attempts,
        ...(d.status === 'pending' ? { nextAttemptAt: d.nextAttemptAt } : {}),
        ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
        ...(d.lastStatus !== undefined ? { lastStatusCode: d.lastStatus } : {}),
        ...(d.lastError ? { lastError: d.lastError } : {}),
        createdAt: d.createdAt,
        attemptLog: await this.store.listAttempts(d.deliveryId),
      })),
    );
  }

  async retry(call: CallContext, params: { deliveryId: string }) {
    await this.checkRetriable(call, params.deliveryId);
    // Checked again in the write: a 410 or a disable may have come in between.
    if (!(await this.store.retryDelivery(params.deliveryId, isoNow(this.clock)))) {
      await this.checkRetriable(call, params.deliveryId);
      throw new InvalidParamsError([
        { field: 'deliveryId', message: 'changed while being retried: look again' },
      ]);
    }
    this.deliveriesDue();
    return { success: true, deliveryId: params.deliveryId };
  }

  /** Throws the error a delivery.retry of this delivery gets now, if any. */
  private async checkRetriable(call: CallContext, deliveryId: string): Promise<void> {
    const delivery = await this.store.getDelivery(deliveryId);
    if (!delivery) throw new DeliveryNotFoundError(deliveryId);
    const subscription = await this.store.getSubscription(delivery.subscriptionId);
    if (!subscription || subscription.ownerAgent !== call.requestAgent) {
      throw new DeliveryNotFoundError(deliveryId);
    }
    if (!subscription.active) {
      throw new InvalidParamsError([
        {
          field: 'deliveryId',
          message: `its subscription is no longer active (${subscription.deactivatedReason ?? 'deactivated'})`,
        },
      ]);
    }
    if (delivery.status === 'pending') {
      throw new InvalidParamsError([
        { field: 'deliveryId', message: 'is already waiting to be sent' },
      ]);
    }
  }
}
