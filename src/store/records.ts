/**
 * The store's records: what a backend keeps and hands back, in camelCase, independent of SQL.
 * tasks/toWire.ts turns them into ARC objects; store/*Rows.ts map them to and from rows.
 */
import type {
  Artifact,
  EventType,
  JsonObject,
  JsonValue,
  Message,
  Priority,
  TaskStatus,
} from '../types';

/** Per-task engine settings (extension params of task.create, stored with the task). */
export interface TaskSettings {
  /** Further attempts of a failed turn (default 0: fail at once). */
  maxRetries?: number;
  /** The first wait before a retry; later waits double, with jitter. */
  retryDelayMs?: number;
  /** Per-turn time limit; the handler's signal aborts when it passes. */
  timeoutMs?: number;
  /** Whether a retried turn sees the last checkpoint (default true). */
  enableMemory?: boolean;
  /** A multi-agent parent completes although some children failed, listing the failures. */
  allowPartial?: boolean;
}

export interface TaskRecord {
  taskId: string;
  status: TaskStatus;
  priority: Priority;
  assignedAgent: string;
  requestAgent: string;
  metadata?: JsonObject;
  reason?: string;
  error?: JsonObject;
  traceId?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  pausedAt?: string;
  completedAt?: string;
  canceledAt?: string;
  failedAt?: string;
  messageCount: number;
  artifactCount: number;
  lastSeq: number;
  pendingTurn: boolean;
  leaseOwner?: string;
  leaseUntil?: number;
  settings?: TaskSettings;
  deadline?: string;
  /** Attempts made at the current turn (0 before the first). */
  attempt: number;
  /** Epoch ms before which the owed turn may not start (a retry's wait). */
  nextAttemptAt?: number;
  lastError?: JsonObject;
  internalStatus?: string;
  progress?: number;
  tokensUsed: number;
  cost: number;
  /** Tasks that must COMPLETE before this one runs (fixed at creation). */
  dependencies?: string[];
  /** Waiting on `dependencies`: no turn is owed until all are COMPLETED. */
  blocked: boolean;
  /** The multi-agent task this one is a child of. */
  parentTaskId?: string;
  /** A multi-agent parent's children, one per assigned agent (it runs no handler itself). */
  childTaskIds?: string[];
  /**
   * Where the current run's conversation begins in the task's messages (an index): absent for
   * 0, else the message `task.run` gave the run (the earlier runs' stay before it).
   */
  runFrom?: number;
}

/** The fields a change may set on a task; `null` clears an optional one. */
export type TaskPatch = Partial<{
  status: TaskStatus;
  priority: Priority;
  metadata: JsonObject | null;
  settings: TaskSettings | null;
  deadline: string | null;
  blocked: boolean;
  reason: string | null;
  error: JsonObject | null;
  updatedAt: string;
  startedAt: string | null;
  pausedAt: string | null;
  completedAt: string | null;
  canceledAt: string | null;
  failedAt: string | null;
  pendingTurn: boolean;
  leaseOwner: string | null;
  leaseUntil: number | null;
  attempt: number;
  nextAttemptAt: number | null;
  lastError: JsonObject | null;
  internalStatus: string | null;
  progress: number | null;
  runFrom: number;
}>;

export type RunOutcome =
  | 'running'
  | 'completed'
  | 'input-required'
  | 'failed'
  | 'retrying'
  | 'timed-out'
  | 'canceled'
  | 'deadline-exceeded'
  | 'interrupted';

export interface RunRecord {
  runId: string;
  taskId: string;
  attempt: number;
  owner: string;
  startedAt: string;
  completedAt?: string;
  durationMs?: number;
  outcome: RunOutcome;
  error?: JsonObject;
  tokensUsed: number;
  cost: number;
}

export interface CheckpointRecord {
  taskId: string;
  seq: number;
  runId: string;
  data: JsonValue;
  createdAt: string;
}

/**
 * Per-agent turn limits for a claim: `limits[agent]` turns at once across every process on the
 * file; an agent without one, as many as the claim has room for here.
 */
export interface AgentLimits {
  limits: Record<string, number>;
  /** The agents this process hosts: with any limit set, only their turns are claimed. */
  hosted: string[];
}

export interface MessageRecord extends Message {
  messageId: string;
  seq: number;
  timestamp: string;
}

export interface ArtifactRecord extends Artifact {
  seq: number;
}

export interface EventDraft {
  type: EventType;
  data: JsonObject;
}

export interface EventRecord extends EventDraft {
  taskId: string;
  seq: number;
  eventId: string;
  createdAt: string;
}

/** What a subscription's choice of events reads of one (subscriptionWants), and a delivery. */
export type EventHead = Pick<EventRecord, 'taskId' | 'seq' | 'type' | 'data' | 'createdAt'>;

/**
 * One change to one task, applied atomically: patch the row, add messages and artifacts, and
 * append the events in order (each message/artifact is announced by its own event).
 */
export interface Mutation {
  patch: TaskPatch;
  messages?: Array<Omit<MessageRecord, 'seq'>>;
  artifacts?: Array<Omit<ArtifactRecord, 'seq'>>;
  events: EventDraft[];
  /** The engine's run bookkeeping, written in the same transaction as the task's change. */
  run?: RunWrites;
}

export interface RunWrites {
  /** Marks runs of the task still `running` as `interrupted` (a crashed earlier attempt). */
  interruptRunning?: boolean;
  start?: Pick<RunRecord, 'runId' | 'taskId' | 'attempt' | 'owner' | 'startedAt'>;
  end?: {
    runId: string;
    completedAt: string;
    durationMs: number;
    outcome: RunOutcome;
    error?: JsonObject;
  };
}

export interface SubscriptionRecord {
  subscriptionId: string;
  taskId: string;
  ownerAgent: string;
  callbackUrl: string;
  events: EventType[];
  secret: string;
  active: boolean;
  createdAt: string;
  failingSince?: string;
  deactivatedAt?: string;
  deactivatedReason?: string;
}

export interface NotificationRecord {
  notificationId: string;
  taskId: string;
  fromAgent: string;
  event: string;
  timestamp: string;
  data: JsonObject;
  receivedAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'canceled';

export interface DeliveryRecord {
  deliveryId: string;
  subscriptionId: string;
  taskId: string;
  eventSeq: number;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts?: number;
  nextAttemptAt: string;
  leaseOwner?: string;
  leaseUntil?: number;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  attemptedAt: string;
  statusCode?: number;
  latencyMs: number;
  error?: string;
  responseBody?: string;
}

/** A claimed delivery with everything needed to send it. */
export interface DeliveryJob {
  delivery: DeliveryRecord;
  /**
   * The receiver's host as the claim counted it (the row's, set from its subscription): the
   * key of the sender's room per host. A row migrated from 0002 may spell it otherwise than
   * the URL's `host` (`h:443` for `https://h:443/`).
   */
  host: string;
  subscription: SubscriptionRecord;
  event: EventRecord;
  /** The agent the task belongs to: the webhook's `requestAgent`. */
  taskAgent: string;
  traceId?: string;
}

/** What to write after an attempt, decided from the rows as they are in the transaction. */
export interface AttemptPlan {
  delivery: {
    status: DeliveryStatus;
    nextAttemptAt?: string;
    deliveredAt?: string;
  };
  /** null clears failing_since; a string sets it if unset; undefined leaves it. */
  failingSince?: string | null;
  /** Deactivates the subscription (and cancels its pending deliveries) with this reason. */
  deactivate?: string;
}
