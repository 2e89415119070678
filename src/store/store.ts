/**
 * The storage interface every backend implements. Async so that a networked database can take
 * SQLite's place without touching methods, engine or webhooks. Each call is one transaction.
 */
import type {
  AgentLimits,
  CheckpointRecord,
  RunRecord,
  AttemptPlan,
  AttemptRecord,
  ArtifactRecord,
  DeliveryJob,
  DeliveryRecord,
  EventRecord,
  MessageRecord,
  Mutation,
  NotificationRecord,
  SubscriptionRecord,
  TaskRecord,
} from './records';
import type { DeliveryFilter, HostRoom } from './deliveryRows';
import type { EventBudget, EventPage, HistoryBudget } from './historyRows';
import type { RunEnd } from './runRows';
import type { TaskListFilter } from './taskListQuery';
import type { ChatRecord } from './chatRows';
import type { DependencyState } from './dependencyRows';
import type { DueCursor, ScheduleError, ScheduleRecord, ScheduleStatus } from './scheduleRows';
import type { TriggerRecord } from './triggerRows';
import type { OwedStop } from './stopRows';
import type { PurgeBatch } from './taskRemoval';
import type { StopCause } from '../agents/contract';
import type { EventType, JsonValue, Message, TaskStatus } from '../types';

/**
 * What a commit wrote: its task id, how many outbox rows (deliveries) it queued and, when the
 * commit changed the task itself, the task as it now is and the events it appended (in order).
 */
export type CommitListener = (
  taskId: string,
  written: {
    deliveries: number;
    task?: TaskRecord;
    events?: EventRecord[];
    /** The length of those events' data as JSON, large file contents included. */
    eventChars?: number;
    messages?: MessageRecord[];
    /** The change finished the task and, inside its transaction, no blocked task waited on it. */
    noDependents?: boolean;
    /** The change ended a task no turn held, and owes its agent's `stopped` hook (stops_owed). */
    stopOwed?: StopCause;
  },
) => void;

/** A task's multi-agent family as stored: its parent (if it is a child), its children. */
export interface TaskFamily {
  parent?: TaskRecord;
  children: TaskRecord[];
}

export interface AppliedChange {
  task: TaskRecord;
  events: EventRecord[];
  /** The messages the change appended, as stored (with their sequence numbers). */
  messages?: MessageRecord[];
  /** Outbox rows queued for the events' subscribers. */
  deliveries: number;
  /** The change finished the task and, inside its transaction, no blocked task waited on it. */
  noDependents?: boolean;
}

/** Decides a change from the task as it is inside the transaction; throw to refuse, null for none. */
export type ChangePlan = (task: TaskRecord) => Mutation | null;

/** Starts a turn of a task inside the transaction that leases or creates it; null: not now. */
export type StartPlan = (task: TaskRecord, at: string) => Mutation | null;

/** A turn running here that something outside it stopped (see Store.stoppedElsewhere). */
export interface StoppedElsewhere {
  taskId: string;
  kind: 'canceled' | 'deadline' | 'interrupted';
  reason: string;
}

export interface Store {
  /**
   * Inserts a new task with its first change (its creation events, first message). With
   * `start`, the task's first turn starts in the same write (the engine's direct start).
   * `recorded`, if given, is called in a microtask once the write has been planned for its
   * batch, before that batch commits: with what it will commit unless it fails (and each
   * time it is planned again after a failed batch).
   */
  insertTask(
    task: TaskRecord,
    initial: Mutation,
    start?: StartPlan,
    recorded?: (planned: AppliedChange) => void,
  ): Promise<AppliedChange>;
  /** Inserts several tasks in one transaction, in order (a parent before its children). */
  insertTaskGroup(group: Array<{ task: TaskRecord; initial: Mutation }>): Promise<AppliedChange[]>;
  /** The children of a multi-agent parent, in creation order. */
  childTasks(parentTaskId: string): Promise<TaskRecord[]>;
  /** Multi-agent parents that may need to move: live ones, and any with live children; up to
   * `limit` of them after `after` ('' = from the first), in id order. */
  parentsToSettle(limit: number, after?: string): Promise<string[]>;
  /**
   * The one way a task changes: reads the row, asks `plan`, and writes the patch, messages,
   * artifacts, events (numbered after the task's last) and the outbox rows of every matching
   * active subscription — all in one transaction. Undefined when the task does not exist.
   * `known`: the task as the caller last had it back from a change; when the row has not
   * changed since, the plan gets it instead of a fresh read.
   */
  mutateTask(
    taskId: string,
    plan: ChangePlan,
    known?: TaskRecord,
  ): Promise<AppliedChange | undefined>;
  /**
   * Several tasks' changes in one transaction, each planned as mutateTask plans one: all are
   * written or, if a plan throws, none. Undefined for a task that does not exist.
   */
  mutateTasks(
    changes: Array<{ taskId: string; plan: ChangePlan }>,
  ): Promise<Array<AppliedChange | undefined>>;
  getTask(taskId: string): Promise<TaskRecord | undefined>;
  /** The last event sequence of each of these tasks that exists. */
  lastSeqs(taskIds: string[]): Promise<Map<string, number>>;
  /** Whether the committed task is still `known`: nothing changed it since (a narrow read). */
  isCurrent(known: TaskRecord): Promise<boolean>;
  /**
   * Resolves once the writes already on their way to the database have been answered and
   * their commits told to onCommit's listeners (at once when there are none).
   */
  inFlightAnswered(): Promise<void>;
  listTasks(filter: TaskListFilter): Promise<TaskRecord[]>;
  /** A task's messages; with a budget, no more than it allows (else HistoryOverBudget). */
  listMessages(taskId: string, budget?: HistoryBudget): Promise<MessageRecord[]>;
  listArtifacts(taskId: string, budget?: HistoryBudget): Promise<ArtifactRecord[]>;
  /** Events after `afterSeq`, oldest first, at most `limit` when given. */
  listEvents(taskId: string, afterSeq?: number, limit?: number): Promise<EventRecord[]>;
  /** The ids of the task's artifacts created at `since` or later, without reading their parts. */
  artifactIdsSince(taskId: string, since: string): Promise<string[]>;
  /** The task's last event of `type` that is its own, not a child's mirrored into its log. */
  lastOwnEvent(taskId: string, type: EventType): Promise<EventRecord | undefined>;
  /** Events after `afterSeq` within `budget` (a page of a long or large log), and if more follow. */
  eventPage(taskId: string, afterSeq: number, budget: EventBudget): Promise<EventPage>;

  /**
   * Deletes a task (a multi-agent parent with its children) and everything it owns in one
   * transaction, after `check` accepted it (it throws to refuse) given the task, the blocked
   * tasks waiting on it or its children, its family, and what the family still owes: webhook
   * deliveries, and `stopped` hooks not yet told (stops_owed). Undefined when not found.
   */
  deleteTask(
    taskId: string,
    check: (
      task: TaskRecord,
      waitingDependents: string[],
      family: TaskFamily,
      owed: { deliveries: number; stops: number },
    ) => void,
  ): Promise<TaskRecord | undefined>;
  /** Deletes up to `limit` tasks finished before `beforeIso` that no unfinished task waits on
   * and that owe no webhook delivery nor (since `stopsBeforeIso`) `stopped` hook, multi-agent
   * families whole, in at most about `budgetMs` (see taskRemoval.ts): one batch of the
   * retention purge. */
  purgeFinished(
    beforeIso: string,
    limit: number,
    budgetMs: number,
    /** An owed `stopped` hook holds a task last changed at or after this (always: ''). */
    stopsBeforeIso?: string,
  ): Promise<PurgeBatch>;
  /** Deletes up to `limit` chats closed before `beforeIso`, with their messages, likewise. */
  purgeClosedChats(beforeIso: string, limit: number, budgetMs: number): Promise<PurgeBatch>;
  /** Forgets up to `limit` trigger request keys fired before `beforeIso` whose tasks are gone. */
  purgeTriggerKeys(beforeIso: string, limit: number): Promise<PurgeBatch>;
  /** A task's dependencies with their current status. */
  dependencyStates(taskId: string): Promise<DependencyState[]>;
  /** Blocked tasks waiting on `taskId`. */
  blockedDependents(taskId: string): Promise<string[]>;
  /** Unfinished tasks its completion released from waiting on `taskId` (they may read it). */
  releasedDependents(taskId: string): Promise<string[]>;
  /**
   * Inside a ChangePlan only: `releasedDependents`, read as the write is planned; when there
   * are none, the write commits only if there are still none then (another process's release
   * landing first has it planned again).
   */
  releasedAtCommit(taskId: string): string[];
  /**
   * Inside a ChangePlan only: the dependencies of `taskId` not COMPLETED; when there are none,
   * the write commits only if there are still none then (a run again elsewhere has it planned
   * again).
   */
  unmetAtCommit(taskId: string): string[];
  /**
   * Inside a ChangePlan only: whether task `taskId` is `status`, read as the write is planned;
   * when it is, the write commits only if it still is then (a dependency failed here and run
   * again elsewhere has it planned again).
   */
  statusAtCommit(taskId: string, status: TaskStatus): boolean;
  /** Up to `limit` blocked tasks after `after` ('' = from the first), in id order (catch-up
   * after a restart). */
  blockedTasks(limit: number, after?: string): Promise<string[]>;

  insertSchedule(schedule: ScheduleRecord): Promise<void>;
  getSchedule(scheduleId: string): Promise<ScheduleRecord | undefined>;
  listSchedules(owner: string): Promise<ScheduleRecord[]>;
  /** Active schedules whose next slot is at or before `nowIso`, earliest first (then by id),
   * after `after` when given. */
  dueSchedules(nowIso: string, limit: number, after?: DueCursor): Promise<ScheduleRecord[]>;
  setScheduleStatus(
    scheduleId: string,
    status: ScheduleStatus,
    nextRunAt: string | undefined,
    at: string,
  ): Promise<void>;
  deleteSchedule(scheduleId: string): Promise<boolean>;
  /**
   * Moves a schedule past its slot (`error.slot`) without a task (the slot cannot fire),
   * keeping `error` as its lastError; false if raced.
   */
  skipSchedule(
    scheduleId: string,
    error: ScheduleError,
    nextRunAt: string | undefined,
  ): Promise<boolean>;
  /** Keeps why a schedule's slot (`error.slot`, still due) did not fire, as its lastError. */
  scheduleFailed(scheduleId: string, error: ScheduleError): Promise<void>;
  /**
   * Fires a schedule's `slot`: inserts the task it creates and advances the schedule to
   * `nextRunAt`, in one transaction. Undefined (nothing written) when the schedule no longer
   * waits on that slot: paused, deleted, or fired by another process first.
   */
  fireSchedule(
    scheduleId: string,
    slot: string,
    nextRunAt: string | undefined,
    task: TaskRecord,
    initial: Mutation,
  ): Promise<AppliedChange | undefined>;

  insertTrigger(trigger: TriggerRecord): Promise<void>;
  getTrigger(triggerId: string): Promise<TriggerRecord | undefined>;
  findTriggerByTokenHash(tokenHash: string): Promise<TriggerRecord | undefined>;
  listTriggers(owner: string): Promise<TriggerRecord[]>;
  deleteTrigger(triggerId: string): Promise<boolean>;
  /** The task a trigger's firing with `fireKey` created, if one did. */
  triggerTaskForKey(triggerId: string, fireKey: string): Promise<string | undefined>;
  /**
   * Fires a trigger: inserts its task and counts the firing in one transaction. With a
   * `fireKey` already used, nothing is written and the earlier task's id is returned instead;
   * for a trigger deleted since the caller found it, nothing is written either (`gone`).
   */
  fireTrigger(
    triggerId: string,
    fireKey: string | undefined,
    task: TaskRecord,
    initial: Mutation,
  ): Promise<{ applied: AppliedChange } | { duplicateOf: string } | { gone: true }>;

  /** Stores a subscription; with `replay`, its outbox gets the task's past events too. */
  insertSubscription(subscription: SubscriptionRecord, replay?: boolean): Promise<void>;
  getSubscription(subscriptionId: string): Promise<SubscriptionRecord | undefined>;
  listSubscriptions(taskId: string): Promise<SubscriptionRecord[]>;
  listSubscriptionsByOwner(
    owner: string,
    filter: { taskId?: string; agent?: string },
  ): Promise<SubscriptionRecord[]>;
  /** Deactivates and cancels what it still owed; false when it was not active. */
  deactivateSubscription(subscriptionId: string, reason: string, at: string): Promise<boolean>;

  listDeliveries(taskId: string): Promise<DeliveryRecord[]>;
  findDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
  getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
  listAttempts(deliveryId: string): Promise<AttemptRecord[]>;
  /**
   * Leases due deliveries: per subscription only its oldest pending one, and per receiver
   * host no more than `hosts` allows.
   */
  claimDeliveries(
    owner: string,
    limit: number,
    now: Date,
    leaseMs: number,
    hosts: HostRoom,
  ): Promise<DeliveryJob[]>;
  recordAttempt(
    owner: string,
    attempt: Omit<AttemptRecord, 'attempt'>,
    plan: (delivery: DeliveryRecord, failingSince: string | undefined) => AttemptPlan,
  ): Promise<DeliveryRecord | undefined>;
  releaseDelivery(deliveryId: string, owner: string): Promise<void>;
  /** Queues a dead or canceled delivery again; false if it is pending or its subscription
   * inactive by the time of the write. */
  retryDelivery(deliveryId: string, at: string): Promise<boolean>;

  insertNotification(notification: NotificationRecord): Promise<void>;
  listNotifications(taskId: string): Promise<NotificationRecord[]>;

  /**
   * Leases up to `limit` tasks that owe a turn now and hold no live lease, most urgent first,
   * then oldest, without exceeding any agent's limit of leased tasks (counted across processes),
   * and applies `begin` to each in the same transaction (the turn's start, its run).
   */
  claimTurns(
    owner: string,
    limit: number,
    nowMs: number,
    leaseMs: number,
    agents: AgentLimits,
    begin: StartPlan,
  ): Promise<TaskRecord[]>;
  /** Live tasks whose deadline has passed. */
  overdueTasks(nowIso: string, limit: number): Promise<string[]>;
  /** The earliest deadline of a live task, if any has one. */
  nextDeadline(): Promise<string | undefined>;
  /** SUBMITTED tasks of `agent` (not multi-agent parents), not counting `leavingOut`'s. */
  countQueued(agent: string, leavingOut?: readonly string[]): Promise<number>;

  /** Takes `taskId`'s owed `stopped` hook for `owner` until `until`, unless another holds it. */
  takeOwedStop(
    taskId: string,
    owner: string,
    nowMs: number,
    until: number,
  ): Promise<OwedStop | undefined>;
  /** Takes up to `limit` owed `stopped` hooks of `agents` that nobody holds. */
  takeOwedStops(
    agents: string[],
    owner: string,
    nowMs: number,
    until: number,
    limit: number,
  ): Promise<OwedStop[]>;
  /** An owed stop told (or not owed after all): its row goes, if this take still holds it. */
  stopTold(stop: OwedStop): Promise<void>;
  /** An owed stop taken but not told now: free to take again. */
  releaseOwedStop(stop: OwedStop): Promise<void>;
  /** The turn that held the task heard its stop by its signal: no hook is owed. */
  forgetOwedStop(taskId: string): Promise<void>;
  /** Which agents have a `stopped` hook: only theirs are owed one (default: every agent). */
  hasStopHook: (agent: string) => boolean;

  endRun(runId: string, end: RunEnd): Promise<void>;
  listRuns(taskId: string): Promise<RunRecord[]>;
  /**
   * A running turn's own records (usage, checkpoints, status and progress). With `heldBy`,
   * written only while that owner's lease holds the task WORKING: false when not written.
   */
  addUsage(
    taskId: string,
    runId: string,
    tokens: number,
    cost: number,
    heldBy?: string,
  ): Promise<boolean>;
  saveCheckpoint(
    taskId: string,
    runId: string,
    data: JsonValue,
    at: string,
    heldBy?: string,
  ): Promise<boolean>;
  lastCheckpoint(taskId: string): Promise<CheckpointRecord | undefined>;
  setProgress(
    taskId: string,
    update: { internalStatus?: string | null; progress?: number | null },
    heldBy?: string,
  ): Promise<boolean>;
  /** Renews `owner`'s leases of these tasks; returns those it no longer held (none renewed). */
  renewLeases(owner: string, taskIds: string[], untilMs: number): Promise<string[]>;
  /**
   * Of these tasks (turns running here under `owner`'s lease), those stopped from outside
   * their turn: by a cancel or a deadline another process stored, or taken from this turn (the
   * task queued again, or its lease another process's now). Their handlers are to be aborted.
   */
  stoppedElsewhere(owner: string, taskIds: string[]): Promise<StoppedElsewhere[]>;
  releaseLease(taskId: string, owner: string): Promise<void>;

  /** False when the chat id is taken already (nothing written). */
  createChat(chat: Omit<ChatRecord, 'status' | 'messageCount'>): Promise<boolean>;
  getChat(chatId: string): Promise<ChatRecord | undefined>;
  /**
   * The chat after the message (its `updatedAt` now `at`, the server's time, whatever the
   * message's own timestamp), or undefined when it is closed (nothing added).
   */
  appendChatMessage(
    chatId: string,
    message: Message & { timestamp: string },
    at: string,
  ): Promise<ChatRecord | undefined>;
  /** The chat closed, or undefined when it was closed already (nothing written). */
  closeChat(chatId: string, reason: string, at: string): Promise<ChatRecord | undefined>;
  listChatMessages(chatId: string): Promise<Message[]>;

  /** Called after every commit that appended events or outbox rows (wakes senders, streams). */
  onCommit(listener: CommitListener): void;

  close(): Promise<void>;
}
