/**
 * The webhook dispatcher: claims due outbox rows under a lease, sends each (bounded overall
 * and per receiver host, so one slow receiver never holds up the others), and records every
 * attempt with its consequence — delivered, retried later, dead, or the subscription
 * deactivated (410 Gone, or failing longer than allowed). At-least-once: a delivery whose
 * sender died is claimed again after its lease, with the same delivery id.
 */
import type { Logger } from 'pino';
import type { AttemptPlan, DeliveryJob, DeliveryRecord } from '../store/records';
import type { Store } from '../store/store';
import type { Clock } from '../clock';
import { newId } from '../ids';
import { SerialPump } from '../serialPump';
import { nextRetryDelayMs, parseRetryAfterMs } from './backoff';
import { webhookBody } from './payload';
import { type AttemptResult, postWebhook } from './send';
import { signatureHeaders } from './sign';
import {
  type AddressPolicy,
  type GuardedAgents,
  createGuardedAgents,
  isAllowlistedHost,
} from './ssrf';

export interface DeliveryWorkerOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  policy: AddressPolicy;
  scheduleMs: readonly number[];
  timeoutMs: number;
  concurrency: number;
  perHostConcurrency: number;
  leaseMs: number;
  pollMs: number;
  disableAfterMs: number;
  maxResponseBytes: number;
  userAgent: string;
  random?: () => number;
}

const RESPECTS_RETRY_AFTER = new Set([429, 503]);
/** A receiver may ask for a pause of up to a day; longer asks are cut to that. */
const RETRY_AFTER_CAP_MS = 24 * 3_600_000;

/** What an attempt's result means for the delivery and its subscription. */
export function planAfterAttempt(
  result: AttemptResult,
  delivery: DeliveryRecord,
  failingSince: string | undefined,
  now: Date,
  options: Pick<DeliveryWorkerOptions, 'scheduleMs' | 'disableAfterMs' | 'random'>,
): AttemptPlan {
  const at = now.toISOString();
  const status = result.statusCode;
  if (status !== undefined && status >= 200 && status < 300) {
    return { delivery: { status: 'delivered', deliveredAt: at }, failingSince: null };
  }
  if (status === 410) {
    return { delivery: { status: 'canceled' }, deactivate: 'receiver answered 410 Gone' };
  }
  const made = delivery.attempts + 1;
  const budget = delivery.maxAttempts ?? options.scheduleMs.length;
  const retryAfter =
    status !== undefined && RESPECTS_RETRY_AFTER.has(status)
      ? parseRetryAfterMs(result.retryAfter, now, RETRY_AFTER_CAP_MS)
      : undefined;
  // Retry-After is the least wait asked for, not leave to come back sooner than scheduled: a
  // receiver answering `Retry-After: 0` would otherwise spend the whole budget at once.
  const scheduled = nextRetryDelayMs(made, options.scheduleMs, budget, options.random);
  const delay = scheduled === undefined ? undefined : Math.max(retryAfter ?? 0, scheduled);
  const since = failingSince ?? at;
  const failingTooLong = now.getTime() - Date.parse(since) >= options.disableAfterMs;
  return {
    delivery:
      delay === undefined
        ? { status: 'dead' }
        : { status: 'pending', nextAttemptAt: new Date(now.getTime() + delay).toISOString() },
    failingSince: since,
    ...(failingTooLong
      ? {
          deactivate: `deliveries failing since ${since} (longer than ${options.disableAfterMs} ms)`,
        }
      : {}),
  };
}

export class DeliveryWorker {
  readonly owner = newId('sender');
  private readonly agents: GuardedAgents;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly perHost = new Map<string, number>();

  private timer?: NodeJS.Timeout;
  private stopped = true;
  // Pokes of one turn of the event loop (several completions, several commits) share a claim.
  private readonly pump = new SerialPump(
    () => this.claimAndSend(),
    (error) => this.options.logger.error({ err: error }, 'delivery claim failed'),
    true,
  );

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.agents = createGuardedAgents(options.policy);
  }

  start(): void {
    this.stopped = false;
    this.pump.resume();
    this.timer = setInterval(() => this.poke(), this.options.pollMs);
    this.poke();
  }

  /** Looks for due deliveries now (after new events, and after each attempt). */
  poke(): void {
    this.pump.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A claim under way hands back what it claims (see claimAndSend): wait for it too.
    const claiming = this.pump.stop();
    clearInterval(this.timer);
    await Promise.allSettled([claiming, ...this.inFlight.values()]);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async claimAndSend(): Promise<void> {
    const { store, clock, concurrency, leaseMs, perHostConcurrency } = this.options;
    const free = concurrency - this.inFlight.size;
    if (free <= 0 || this.stopped) return;
    const room: Record<string, number> = {};
    for (const [host, busy] of this.perHost) room[host] = Math.max(0, perHostConcurrency - busy);
    const jobs = await store.claimDeliveries(this.owner, free, clock(), leaseMs, {
      perHost: perHostConcurrency,
      room,
    });
    if (this.stopped) {
      // Claimed while stopping: let go at once, so the next start need not wait out the lease.
      await Promise.all(
        jobs.map((job) =>
          store.releaseDelivery(job.delivery.deliveryId, this.owner).catch(() => undefined),
        ),
      );
      return;
    }
    for (const job of jobs) {
      // Its lease lapsed while this process still sends it (a slow store write): the attempt
      // under way records it; a second one now would send it twice.
      if (this.inFlight.has(job.delivery.deliveryId)) continue;
      // Counted under the host the claim read the room of: the row's.
      this.launch(job.host, job);
    }
  }

  private launch(host: string, job: DeliveryJob): void {
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
    const id = job.delivery.deliveryId;
    const done = this.deliver(job)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, deliveryId: id }, 'delivery bookkeeping failed'),
      )
      .finally(() => {
        this.inFlight.delete(id);
        const left = (this.perHost.get(host) ?? 1) - 1;
        if (left > 0) this.perHost.set(host, left);
        else this.perHost.delete(host);
        this.poke();
      });
    this.inFlight.set(id, done);
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const { store, clock, logger } = this.options;
    const { delivery, subscription, event } = job;
    const body = webhookBody(job);
    const sentAt = clock();
    const headers = {
      'X-ARC-Event': event.type,
      'X-ARC-Delivery': delivery.deliveryId,
      ...signatureHeaders(subscription.secret, delivery.deliveryId, body, sentAt),
    };
    const guarded = !isAllowlistedHost(subscription.callbackUrl, this.options.policy);
    const result = await postWebhook(subscription.callbackUrl, body, headers, {
      timeoutMs: this.options.timeoutMs,
      maxResponseBytes: this.options.maxResponseBytes,
      userAgent: this.options.userAgent,
      ...(guarded ? { agents: this.agents } : {}),
    });
    const now = clock();
    let deactivated: string | undefined;
    const updated = await store.recordAttempt(
      this.owner,
      {
        deliveryId: delivery.deliveryId,
        attemptedAt: sentAt.toISOString(),
        latencyMs: result.latencyMs,
        ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
        ...(result.error ? { error: result.error } : {}),
        ...(result.responseBody ? { responseBody: result.responseBody } : {}),
      },
      (current, failingSince) => {
        const plan = planAfterAttempt(result, current, failingSince, now, this.options);
        deactivated = plan.deactivate;
        return plan;
      },
    );
    if (!updated) return; // the lease passed to another sender meanwhile
    const context = {
      deliveryId: delivery.deliveryId,
      subscriptionId: subscription.subscriptionId,
      taskId: event.taskId,
      sequence: event.seq,
      attempt: updated.attempts,
      statusCode: result.statusCode,
      error: result.error,
      detail: result.detail,
    };
    if (updated.status === 'delivered') logger.debug(context, 'webhook delivered');
    else if (updated.status === 'dead') logger.warn(context, 'webhook delivery is dead');
    else if (updated.status === 'pending') {
      logger.info({ ...context, nextAttemptAt: updated.nextAttemptAt }, 'webhook attempt failed');
    }
    if (deactivated) logger.warn({ ...context, reason: deactivated }, 'subscription deactivated');
  }
}
