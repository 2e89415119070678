/**
 * Triggers: trigger.create hands out a secret URL (`POST /triggers/<token>`) that creates a
 * task for one agent, with the POSTed JSON merged over the trigger's `input` as the task's
 * DataPart. Only a hash of the token is stored, so the URL is shown once. With `signed`, a
 * request must carry Standard Webhooks headers signed with the secret shown at creation (the
 * timestamp must be within five minutes). A request key (`webhook-id` or `Idempotency-Key`)
 * makes a redelivery answer with the task the first delivery made instead of a new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { CallContext, JsonObject, Part, Priority } from '../types';
import type { TaskSettings } from '../store/records';
import type { TriggerRecord } from '../store/triggerRows';
import type { Store } from '../store/store';
import type { TaskService } from '../tasks/taskService';
import type { AgentRegistry } from '../agents/registry';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { AgentCapacityExceededError, InvalidParamsError, isArcError } from '../rpc/errors';
import { compact } from '../store/rowMapping';
import { generateSecret } from '../webhooks/sign';
import { type PartLimits, checkMessageParts } from '../parts/checkParts';

export interface NewTrigger {
  input?: JsonObject;
  text?: string;
  priority?: Priority;
  settings?: TaskSettings;
  metadata?: JsonObject;
  signed?: boolean;
}

/** An HTTP answer of the trigger route: a status and a JSON body. */
export interface TriggerAnswer {
  status: number;
  body: JsonObject;
  headers?: Record<string, string>;
}

/** Seconds a sender refused for a full queue is told to wait (Retry-After) before it tries again. */
export const QUEUE_FULL_RETRY_AFTER_S = 5;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function toWireTrigger(t: TriggerRecord) {
  return compact({
    triggerId: t.triggerId,
    targetAgent: t.targetAgent,
    requestAgent: t.ownerAgent,
    input: t.input,
    text: t.text,
    priority: t.priority,
    settings: t.settings,
    metadata: t.metadata,
    signed: t.signingSecret !== undefined,
    fireCount: t.fireCount,
    lastFiredAt: t.lastFiredAt,
    createdAt: t.createdAt,
  });
}

/** A firing's message parts: the trigger's text, then its input with the posted JSON over it. */
function firingParts(text: string | undefined, data: JsonObject): Part[] {
  return [
    ...(text ? [{ type: 'TextPart', content: text }] : []),
    { type: 'DataPart', content: data, mimeType: 'application/json' },
  ];
}

function refuse(status: number, error: string, extra: JsonObject = {}): TriggerAnswer {
  return { status, body: { error, ...extra } };
}

/** A repeated request (same key): the task the first one made. */
function duplicate(taskId: string): TriggerAnswer {
  return { status: 200, body: { taskId, duplicate: true } };
}

export class TriggerService {
  constructor(
    private readonly store: Store,
    private readonly tasks: TaskService,
    private readonly agents: AgentRegistry,
    private readonly clock: Clock,
    /** The base URL callers reach this server at (known once it listens). */
    private readonly baseUrl: () => string,
    private readonly partLimits: PartLimits,
  ) {}

  async create(call: CallContext, params: NewTrigger) {
    // Every firing's message holds `text` and `input` before what is posted: over the limits
    // now, every request to the trigger would be refused (413) whatever its sender did.
    const fixed = firingParts(params.text, params.input ?? {});
    checkMessageParts({ role: 'user', parts: fixed }, 'input', this.partLimits, (i) =>
      params.text && i === 0 ? 'text' : 'input',
    );
    const token = randomBytes(32).toString('base64url');
    const trigger: TriggerRecord = {
      triggerId: newId('trg'),
      tokenHash: hashToken(token),
      ownerAgent: call.requestAgent,
      targetAgent: call.targetAgent,
      ...(params.input ? { input: params.input } : {}),
      ...(params.text ? { text: params.text } : {}),
      priority: params.priority ?? 'NORMAL',
      ...(params.settings ? { settings: params.settings } : {}),
      ...(params.metadata ? { metadata: params.metadata } : {}),
      ...(params.signed ? { signingSecret: generateSecret() } : {}),
      fireCount: 0,
      createdAt: isoNow(this.clock),
    };
    await this.store.insertTrigger(trigger);
    return {
      ...toWireTrigger(trigger),
      url: `${this.baseUrl()}/triggers/${token}`,
      ...(trigger.signingSecret ? { signingSecret: trigger.signingSecret } : {}),
    };
  }

  /** The trigger a URL's token names (looked up before the request's body is read). */
  find(token: string): Promise<TriggerRecord | undefined> {
    return this.store.findTriggerByTokenHash(hashToken(token));
  }

  async list(call: CallContext): Promise<TriggerRecord[]> {
    return this.store.listTriggers(call.requestAgent);
  }

  async delete(call: CallContext, triggerId: string): Promise<void> {
    const trigger = await this.store.getTrigger(triggerId);
    if (!trigger || !(call.admin || trigger.ownerAgent === call.requestAgent)) {
      throw new InvalidParamsError([
        { field: 'triggerId', message: `no trigger ${triggerId} of yours` },
      ]);
    }
    await this.store.deleteTrigger(triggerId);
  }

  /**
   * Handles `POST /triggers/<token>` for the trigger its token named (`find`), with the raw
   * body and the request headers. One deleted since is refused by the firing's transaction.
   */
  async fire(
    trigger: TriggerRecord,
    body: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<TriggerAnswer> {
    const header = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    // A blank key is no key: it would make every later request a duplicate of the first.
    const keyHeader = (name: string) => header(name)?.trim() || undefined;
    const text = body.toString('utf8');
    if (trigger.signingSecret) {
      try {
        // The signature only: the body is read as JSON below (a bad one is 400, not 401).
        new Webhook(trigger.signingSecret).verify(
          text,
          {
            'webhook-id': header('webhook-id') ?? '',
            'webhook-timestamp': header('webhook-timestamp') ?? '',
            'webhook-signature': header('webhook-signature') ?? '',
          },
          { jsonParse: false },
        );
      } catch (error) {
        return refuse(401, `signature check failed: ${(error as Error).message}`);
      }
    }
    let posted: unknown = {};
    if (text.trim() !== '') {
      try {
        posted = JSON.parse(text);
      } catch {
        return refuse(400, 'the body must be a JSON object');
      }
    }
    if (typeof posted !== 'object' || posted === null || Array.isArray(posted)) {
      return refuse(400, 'the body must be a JSON object');
    }
    const fireKey = keyHeader('webhook-id') ?? keyHeader('idempotency-key');
    // A repeat of a request that made its task is answered as one before anything that could
    // refuse it now (the agent gone, a full queue, lower limits): its sender must see success.
    // The firing's own transaction checks again, for repeats racing each other.
    const earlier = fireKey && (await this.store.triggerTaskForKey(trigger.triggerId, fireKey));
    if (earlier) return duplicate(earlier);
    if (!this.agents.has(trigger.targetAgent)) {
      return refuse(503, `agent ${trigger.targetAgent} is not hosted here`);
    }
    return this.createTask(trigger, posted as JsonObject, fireKey);
  }

  private async createTask(
    trigger: TriggerRecord,
    posted: JsonObject,
    fireKey: string | undefined,
  ): Promise<TriggerAnswer> {
    const parts = firingParts(trigger.text, { ...trigger.input, ...posted });
    const at = isoNow(this.clock);
    try {
      const { task, outcome } = await this.tasks.createWith(
        { requestAgent: trigger.ownerAgent, targetAgent: trigger.targetAgent },
        {
          initialMessage: { role: 'user', parts },
          priority: trigger.priority,
          ...(trigger.settings ? { settings: trigger.settings } : {}),
          metadata: { ...trigger.metadata, trigger: { triggerId: trigger.triggerId, firedAt: at } },
        },
        async (task, initial) => ({
          task,
          outcome: await this.store.fireTrigger(trigger.triggerId, fireKey, task, initial),
        }),
      );
      if ('gone' in outcome) return refuse(404, 'no such trigger');
      if ('duplicateOf' in outcome) return duplicate(outcome.duplicateOf);
      this.tasks.stored(outcome.applied);
      return {
        status: 202,
        body: {
          taskId: task.taskId,
          status: outcome.applied.task.status,
          triggerId: trigger.triggerId,
        },
      };
    } catch (error) {
      if (error instanceof AgentCapacityExceededError) {
        const answer = refuse(429, error.message, {
          code: error.code,
          retryAfterSeconds: QUEUE_FULL_RETRY_AFTER_S,
        });
        return { ...answer, headers: { 'Retry-After': String(QUEUE_FULL_RETRY_AFTER_S) } };
      }
      // The posted JSON made a part or message over the limits (-45004), or a bad one.
      if (isArcError(error) && (error.code === -45004 || error.code === -32602)) {
        return refuse(error.code === -45004 ? 413 : 400, error.message, { code: error.code });
      }
      throw error;
    }
  }
}
