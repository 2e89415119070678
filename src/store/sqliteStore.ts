/**
 * The SQLite backend (better-sqlite3, WAL). Every public call is one transaction behind an
 * async signature; IMMEDIATE transactions take the write lock up front so that two processes
 * on one file never interleave a read-check-write. The hot writes (a task's creation and its
 * changes) are recorded on the event loop and committed by a writer thread (writeRecorder.ts);
 * every other write goes through `writes` too, so none runs while a batch is on the thread.
 */
import type {
  AppliedChange,
  ChangePlan,
  CommitListener,
  StartPlan,
  StoppedElsewhere,
  Store,
  TaskFamily,
} from './store';
import type {
  AgentLimits,
  CheckpointRecord,
  RunRecord,
  AttemptPlan,
  AttemptRecord,
  ArtifactRecord,
  DeliveryRecord,
  EventRecord,
  MessageRecord,
  Mutation,
  RunWrites,
  TaskPatch,
  NotificationRecord,
  SubscriptionRecord,
  TaskRecord,
} from './records';
import { CONNECTION_PRAGMAS, type Db, openDatabase } from './openDatabase';
import { compact } from './rowMapping';
import { type HistoryCounts, TaskTable, PRIORITY_RANK } from './taskRows';
import { type EventBudget, type EventPage, type HistoryBudget, HistoryTables } from './historyRows';
import { BlobTable } from './blobRows';
import { SubscriptionTables } from './subscriptionRows';
import { type DeliveryFilter, DeliveryTables, type HostRoom } from './deliveryRows';
import { type RunEnd, RunTables } from './runRows';
import { type TaskListFilter, listTasks } from './taskListQuery';
import { type ChatRecord, ChatTables } from './chatRows';
import { type DependencyState, DependencyTables } from './dependencyRows';
import { type PurgeBatch, TaskRemoval } from './taskRemoval';
import {
  type DueCursor,
  type ScheduleError,
  type ScheduleRecord,
  type ScheduleStatus,
  ScheduleTable,
} from './scheduleRows';
import { type TriggerRecord, TriggerTable } from './triggerRows';
import type { EventType, JsonValue, Message, TaskStatus } from '../types';
import { newId } from '../ids';
import { isoAt } from '../clock';
import { extended } from '../extended';
import { GroupCommit } from './groupCommit';
import { BACKSTOP_PAGES, WalCheckpointer } from './walCheckpointer';
import { WriteRecorder } from './writeRecorder';
import { type RestartOptions, SupervisedWriter } from './supervisedWriter';
import { TurnClaims, isOwed } from './turnClaims';
import { UnwatchedTasks } from './unwatchedTasks';
import { isTerminal } from '../tasks/states';
import { combined } from '../tasks/changes';
import { TASK_DEADLINE_EXCEEDED } from '../tasks/failureCodes';
import { stopCauseOf } from '../tasks/stopCause';
import { type OwedStop, StopTables } from './stopRows';
import type { StopCause } from '../agents/contract';

/**
 * The task as a patch leaves it, computed rather than read back: every TaskPatch key is the
 * TaskRecord field of the same name, and `null` clears it.
 */
function patched(task: TaskRecord, patch: TaskPatch, counts: HistoryCounts): TaskRecord {
  const next: Record<string, unknown> = extended(task, counts);
  let cleared = false;
  for (const key in patch) {
    const value = patch[key as keyof TaskPatch];
    if (value === undefined) continue;
    if (value === null) cleared = true;
    next[key] = value === null ? undefined : value;
  }
  // A cleared field is absent, as a read would have it (set to undefined first, then dropped
  // in one copy: `delete` would leave the record a slow dictionary-mode object).
  return (cleared ? compact(next) : next) as unknown as TaskRecord;
}

/** The history counters after a mutation's messages, artifacts and events. */
function countsAfter(task: TaskRecord, mutation: Mutation): HistoryCounts {
  return {
    messageCount: task.messageCount + (mutation.messages?.length ?? 0),
    artifactCount: task.artifactCount + (mutation.artifacts?.length ?? 0),
    lastSeq: task.lastSeq + mutation.events.length,
  };
}

interface NewTaskRows {
  task: TaskRecord;
  initial: Mutation;
}

/** A change as applied, with the mirrored change of its parent's log, if any. */
interface Applied extends AppliedChange {
  parent?: Applied;
  /** See CommitListener. */
  stopOwed?: StopCause;
  /** The length of the events' data as JSON (see CommitListener). */
  eventChars?: number;
}

type FireOutcome = { applied: Applied } | { duplicateOf: string } | { gone: true };

export class SqliteStore implements Store {
  readonly db: Db;
  private readonly tasks: TaskTable;
  private readonly blobs: BlobTable;
  private readonly history: HistoryTables;
  private readonly subs: SubscriptionTables;
  private readonly unwatched: UnwatchedTasks;
  private readonly deliveries: DeliveryTables;
  private readonly claims: TurnClaims;
  private readonly renew;
  private readonly stoppedOnes;
  private readonly release;
  private readonly turnHeld;
  private readonly overdue;
  private readonly firstDeadline;
  private readonly lastSeqsOf;
  private readonly queued;
  private readonly queuedLeavingOut;
  private readonly runs: RunTables;
  private readonly stops: StopTables;
  private readonly chats: ChatTables;
  private readonly dependencies: DependencyTables;
  private readonly removal: TaskRemoval;
  private readonly schedules: ScheduleTable;
  private readonly triggers: TriggerTable;
  private readonly listeners: CommitListener[] = [];
  private readonly writes: GroupCommit;
  private readonly checkpointer?: WalCheckpointer;
  private readonly writer?: SupervisedWriter;

  /**
   * `writerThread`: commit the hot writes on a second connection (files only; default on).
   * `writerRestarts`: told when that thread stops (writes then go on on the main connection)
   * and when a new one has started; and how soon one does (supervisedWriter.ts).
   */
  constructor(
    file: string,
    options: { writerThread?: boolean; writerRestarts?: RestartOptions } = {},
  ) {
    this.db = openDatabase(file);
    const recorder = new WriteRecorder();
    if (file !== ':memory:') {
      this.checkpointer = new WalCheckpointer(this.db, file, 100);
      if (options.writerThread !== false) {
        this.writer = new SupervisedWriter(
          file,
          recorder,
          [...CONNECTION_PRAGMAS, `wal_autocheckpoint = ${BACKSTOP_PAGES}`],
          options.writerRestarts,
        );
      }
    }
    this.writes = new GroupCommit(this.db, this.writer);
    this.tasks = new TaskTable(this.db, recorder);
    this.blobs = new BlobTable(this.db, recorder);
    this.history = new HistoryTables(this.db, this.blobs, recorder);
    this.subs = new SubscriptionTables(this.db, recorder);
    this.unwatched = new UnwatchedTasks(this.db, recorder);
    this.deliveries = new DeliveryTables(this.db, this.blobs);
    this.runs = new RunTables(this.db, recorder);
    this.stops = new StopTables(this.db, recorder);
    this.chats = new ChatTables(this.db);
    this.dependencies = new DependencyTables(this.db, recorder);
    this.removal = new TaskRemoval(this.db);
    this.schedules = new ScheduleTable(this.db);
    this.triggers = new TriggerTable(this.db);
    this.claims = new TurnClaims(this.db);
    this.overdue = this.db.prepare<[string, number], { task_id: string }>(`SELECT task_id
      FROM tasks WHERE deadline IS NOT NULL AND deadline <= ?
        AND status IN ('SUBMITTED','WORKING','INPUT_REQUIRED')
      ORDER BY deadline LIMIT ?`);
    this.lastSeqsOf = this.db.prepare<[string], { task_id: string; last_seq: number }>(
      'SELECT task_id, last_seq FROM tasks WHERE task_id IN (SELECT value FROM json_each(?))',
    );
    this.firstDeadline = this.db.prepare<[], { deadline: string | null }>(`SELECT MIN(deadline)
      AS deadline FROM tasks WHERE deadline IS NOT NULL
        AND status IN ('SUBMITTED','WORKING','INPUT_REQUIRED')`);
    // An agent's queue (its tasks_queued index): SUBMITTED, multi-agent parents left out.
    const queuedOf = `assigned_agent = @agent AND status = 'SUBMITTED' AND child_task_ids IS NULL`;
    this.queued = this.db.prepare<[{ agent: string }], { n: number }>(
      `SELECT COUNT(*) AS n FROM tasks WHERE ${queuedOf}`,
    );
    // One statement, so one snapshot: a task committing between two reads is counted once.
    this.queuedLeavingOut = this.db.prepare<[{ agent: string; ids: string }], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM tasks WHERE ${queuedOf})
        - (SELECT COUNT(*) FROM tasks
          WHERE task_id IN (SELECT value FROM json_each(@ids)) AND ${queuedOf}) AS n`,
    );
    this.renew = this.db.prepare(
      'UPDATE tasks SET lease_until = ? WHERE task_id = ? AND lease_owner = ?',
    );
    // Besides a cancel or a deadline: a task queued again (canceled and run again elsewhere
    // within a heartbeat), or one whose live turn another process now leases.
    this.stoppedOnes = this.db.prepare<
      [string, string],
      { task_id: string; status: string; reason: string | null }
    >(
      `SELECT task_id, status, reason FROM tasks WHERE task_id IN (SELECT value FROM json_each(?))
        AND (status IN ('CANCELED', 'SUBMITTED')
          OR (status = 'FAILED' AND json_extract(error, '$.code') = ${TASK_DEADLINE_EXCEEDED})
          OR (status IN ('WORKING', 'INPUT_REQUIRED') AND lease_owner IS NOT ?))`,
    );
    this.turnHeld = this.db.prepare<[string, string], { one: number }>(
      "SELECT 1 AS one FROM tasks WHERE task_id = ? AND lease_owner = ? AND status = 'WORKING'",
    );
    this.release = this.db.prepare(
      'UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE task_id = ? AND lease_owner = ?',
    );
  }

  /**
   * A write of several statements as one IMMEDIATE transaction on the main connection, run at
   * once or, while batches are on the writer thread, after them (GroupCommit.now).
   */
  private exclusive<T>(work: () => T): Promise<T> {
    return this.writes.now(() => this.db.transaction(work).immediate());
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  private committed(taskId: string, written: Parameters<CommitListener>[1]): void {
    for (const listener of this.listeners) listener(taskId, written);
  }

  /** Tells listeners about a committed change, and about its parent's mirrored events. */
  private notify(applied: Applied): void {
    const { task, deliveries, events, eventChars, messages, noDependents, stopOwed } = applied;
    this.committed(task.taskId, {
      deliveries,
      task,
      events,
      eventChars,
      messages,
      noDependents,
      stopOwed,
    });
    if (applied.parent) this.notify(applied.parent);
  }

  /** Group-committed (see GroupCommit): the writes of one event-loop turn share a commit. */
  async insertTask(
    task: TaskRecord,
    initial: Mutation,
    start?: StartPlan,
    recorded?: (planned: AppliedChange) => void,
  ): Promise<AppliedChange> {
    const applied = await this.writes.record(() => {
      const planned = this.insert(task, initial, start);
      if (recorded) queueMicrotask(() => recorded(planned));
      return planned;
    });
    this.notify(applied);
    return applied;
  }

  async insertTaskGroup(group: NewTaskRows[]): Promise<AppliedChange[]> {
    const applied = await this.writes.record(() =>
      group.map(({ task, initial }) => this.insert(task, initial)),
    );
    for (const change of applied) this.notify(change);
    return applied;
  }

  /**
   * The new row is written once, as its first change (and a direct start, if any) leave it:
   * the creation and the start are one change with both their events.
   */
  private insert(task: TaskRecord, initial: Mutation, start?: StartPlan): Applied {
    if (!start) return this.apply(task, initial, true);
    const created = patched(task, initial.patch, countsAfter(task, initial));
    const started = start(created, created.updatedAt);
    return this.apply(task, started ? combined(initial, started) : initial, true);
  }

  /** Group-committed, like insertTask. */
  async mutateTask(
    taskId: string,
    plan: ChangePlan,
    known?: TaskRecord,
  ): Promise<AppliedChange | undefined> {
    const applied = await this.writes.record(() => this.change(taskId, plan, known));
    if (applied && applied.events.length > 0) this.notify(applied);
    return applied;
  }

  /** Group-committed, like insertTask: the changes are one write of the batch. */
  async mutateTasks(
    changes: Array<{ taskId: string; plan: ChangePlan }>,
  ): Promise<Array<AppliedChange | undefined>> {
    const applied = await this.writes.record(() =>
      changes.map(({ taskId, plan }) => this.change(taskId, plan)),
    );
    for (const change of applied) if (change && change.events.length > 0) this.notify(change);
    return applied;
  }

  /** One task's change, planned on the row as it is now; must run inside a write. */
  private change(taskId: string, plan: ChangePlan, known?: TaskRecord): Applied | undefined {
    const task = known && this.tasks.isUnchanged(known) ? known : this.tasks.get(taskId);
    if (!task) return undefined;
    const mutation = plan(task);
    if (!mutation) return { task, events: [], deliveries: 0 };
    return this.apply(task, mutation);
  }

  /**
   * Writes one mutation; must run inside a transaction. A child task's events are appended
   * to its parent's log as well, tagged with `childTaskId` and `childAgent`, so that the
   * parent's subscribers and streams see them.
   */
  private apply(task: TaskRecord, mutation: Mutation, inserted = false): Applied {
    const at = mutation.patch.updatedAt ?? isoAt(Date.now());
    const counts = countsAfter(task, mutation);
    const patch = extended(mutation.patch, { updatedAt: at });
    const updated = patched(task, patch, counts);
    // The row first: history rows reference it.
    if (inserted) {
      this.tasks.insert(updated);
      this.unwatched.created(updated);
    } else this.tasks.patch(updated, patch, counts);
    const messages = (mutation.messages ?? []).map((message, i) => {
      const stored = extended(message, { seq: task.messageCount + i + 1 });
      this.history.addMessage(task.taskId, stored);
      return stored;
    });
    (mutation.artifacts ?? []).forEach((artifact, i) =>
      this.history.addArtifact(
        task.taskId,
        extended(artifact, { seq: task.artifactCount + i + 1 }),
      ),
    );
    // Built field by field in the order a read makes them (fromEventRow): one object shape
    // for every event, and no object spread (a generic copy, ~0.5 µs an event).
    const events: EventRecord[] = mutation.events.map((draft, i) => ({
      taskId: task.taskId,
      seq: task.lastSeq + i + 1,
      eventId: newId('evt'),
      type: draft.type,
      data: draft.data,
      createdAt: at,
    }));
    let eventChars = 0;
    for (const event of events) eventChars += this.history.addEvent(event);
    if (mutation.run) this.writeRuns(task.taskId, at, mutation.run);
    // A task being created has no subscriptions yet (they reference its row); for one that
    // nothing was attached to since, a guard checks there are none instead of a read.
    const unwatched = !inserted && events.length > 0 && this.unwatched.stillUnwatched(task.taskId);
    const deliveries = inserted || unwatched ? 0 : this.subs.enqueueDeliveries(task.taskId, events);
    const finished = isTerminal(updated.status);
    if (finished) this.unwatched.forget(task.taskId);
    const noDependents = unwatched && finished;
    const stopOwed = finished && !isTerminal(task.status) ? this.oweStop(task, events) : undefined;
    // Running again (a retry, a rerun): a hook owed for its end is no longer owed.
    if (!finished && isTerminal(task.status)) this.stops.forget(task.taskId);
    const parent = task.parentTaskId ? this.tasks.get(task.parentTaskId) : undefined;
    if (!parent || events.length === 0) {
      return { task: updated, events, eventChars, messages, deliveries, noDependents, stopOwed };
    }
    const mirrored = this.apply(parent, {
      patch: { updatedAt: at },
      events: events.map((e) => ({
        type: e.type,
        data: extended(e.data, { childTaskId: task.taskId, childAgent: task.assignedAgent }),
      })),
    });
    return {
      task: updated,
      events,
      eventChars,
      messages,
      deliveries,
      noDependents,
      stopOwed,
      parent: mirrored,
    };
  }

  /**
   * A task ending by a cancel or its deadline owes its agent's `stopped` hook, if the agent has
   * one: recorded with the change (see stopRows.ts for a turn that still holds the task).
   */
  private oweStop(task: TaskRecord, events: EventRecord[]): StopCause | undefined {
    // A multi-agent parent runs no handler: its children, ended with it, are told each.
    if (task.childTaskIds) return undefined;
    const cause = stopCauseOf(events);
    if (!cause || !this.hasStopHook(task.assignedAgent)) return undefined;
    this.stops.owe(task.taskId, task.assignedAgent, cause);
    return cause;
  }

  /**
   * Which agents have a `stopped` hook (those a process here hosts without one never get
   * rows); every agent until told.
   */
  hasStopHook: (agent: string) => boolean = () => true;

  async forgetOwedStop(taskId: string): Promise<void> {
    await this.writes.record(() => this.stops.forget(taskId));
  }

  async takeOwedStop(taskId: string, owner: string, nowMs: number, until: number) {
    return this.exclusive(() => this.stops.take(taskId, owner, nowMs, until));
  }

  async takeOwedStops(
    agents: string[],
    owner: string,
    nowMs: number,
    until: number,
    limit: number,
  ) {
    // Read first: a write transaction here waits for the writer thread's batches to drain.
    if (agents.length === 0 || limit <= 0 || !this.stops.anyFor(agents, nowMs)) return [];
    return this.exclusive(() => this.stops.takeFor(agents, owner, nowMs, until, limit));
  }

  async stopTold(stop: OwedStop): Promise<void> {
    return this.writes.now(() => this.stops.done(stop));
  }

  async releaseOwedStop(stop: OwedStop): Promise<void> {
    return this.writes.now(() => this.stops.release(stop));
  }

  async childTasks(parentTaskId: string): Promise<TaskRecord[]> {
    return this.tasks.children(parentTaskId);
  }

  async parentsToSettle(limit: number, after = ''): Promise<string[]> {
    return this.tasks.parentsToSettle(limit, after);
  }

  /**
   * A run's own end first: the sweep of runs left `running` would otherwise take it for one
   * lost with its process (a turn failing its task after its lease lapsed, no one else having
   * taken it, writes both). The sweep before a new run's start, which it must not close.
   */
  private writeRuns(taskId: string, at: string, run: RunWrites): void {
    if (run.end) {
      const { runId, ...end } = run.end;
      this.runs.end(runId, end);
    }
    if (run.interruptRunning) this.runs.interruptRunning(taskId, at);
    if (run.start) this.runs.start(run.start);
  }

  async isCurrent(known: TaskRecord): Promise<boolean> {
    return this.tasks.isCurrent(known);
  }

  inFlightAnswered(): Promise<void> {
    return this.writes.answered();
  }

  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    return this.tasks.get(taskId);
  }

  async lastSeqs(taskIds: string[]): Promise<Map<string, number>> {
    const rows = this.lastSeqsOf.all(JSON.stringify(taskIds));
    return new Map(rows.map((row) => [row.task_id, row.last_seq]));
  }

  async listTasks(filter: TaskListFilter): Promise<TaskRecord[]> {
    return listTasks(this.db, filter);
  }

  async deleteTask(
    taskId: string,
    check: (
      task: TaskRecord,
      waiting: string[],
      family: TaskFamily,
      owed: { deliveries: number; stops: number },
    ) => void,
  ): Promise<TaskRecord | undefined> {
    return this.exclusive(() => {
      const task = this.tasks.get(taskId);
      if (!task) return undefined;
      const parent = task.parentTaskId ? this.tasks.get(task.parentTaskId) : undefined;
      const children = task.childTaskIds ? this.tasks.children(taskId) : [];
      const waiting = [task, ...children].flatMap((t) => this.dependencies.needing(t.taskId));
      const family = parent ? { parent, children } : { children };
      // A child is refused as such (it goes with its parent): what it owes is not asked.
      check(
        task,
        waiting,
        family,
        parent ? { deliveries: 0, stops: 0 } : this.removal.owed(taskId),
      );
      this.removal.delete(taskId);
      return task;
    });
  }

  async purgeFinished(
    beforeIso: string,
    limit: number,
    budgetMs: number,
    stopsBeforeIso = '',
  ): Promise<PurgeBatch> {
    return this.exclusive(() => this.removal.purge(beforeIso, limit, budgetMs, stopsBeforeIso));
  }

  async purgeClosedChats(beforeIso: string, limit: number, budgetMs: number): Promise<PurgeBatch> {
    return this.exclusive(() => this.chats.purge(beforeIso, limit, budgetMs));
  }

  async purgeTriggerKeys(beforeIso: string, limit: number): Promise<PurgeBatch> {
    return this.exclusive(() => {
      const deleted = this.triggers.forgetKeys(beforeIso, limit);
      return { deleted, more: deleted === limit };
    });
  }

  async insertSchedule(schedule: ScheduleRecord): Promise<void> {
    return this.writes.now(() => this.schedules.insert(schedule));
  }

  async getSchedule(scheduleId: string): Promise<ScheduleRecord | undefined> {
    return this.schedules.get(scheduleId);
  }

  async listSchedules(owner: string): Promise<ScheduleRecord[]> {
    return this.schedules.owned(owner);
  }

  async dueSchedules(nowIso: string, limit: number, after?: DueCursor): Promise<ScheduleRecord[]> {
    return this.schedules.dueAt(nowIso, limit, after);
  }

  async setScheduleStatus(
    scheduleId: string,
    status: ScheduleStatus,
    nextRunAt: string | undefined,
    at: string,
  ): Promise<void> {
    return this.writes.now(() => this.schedules.setStatus(scheduleId, status, nextRunAt, at));
  }

  async deleteSchedule(scheduleId: string): Promise<boolean> {
    return this.writes.now(() => this.schedules.delete(scheduleId));
  }

  async fireSchedule(
    scheduleId: string,
    slot: string,
    nextRunAt: string | undefined,
    task: TaskRecord,
    initial: Mutation,
  ): Promise<AppliedChange | undefined> {
    const applied = await this.exclusive(() => {
      const fired = { nextRunAt, at: task.createdAt, taskId: task.taskId };
      if (!this.schedules.markFired(scheduleId, slot, fired)) return undefined;
      return this.insert(task, initial);
    });
    if (applied) this.notify(applied);
    return applied;
  }

  async skipSchedule(
    scheduleId: string,
    error: ScheduleError,
    nextRunAt: string | undefined,
  ): Promise<boolean> {
    return this.writes.now(() => this.schedules.markSkipped(scheduleId, error, nextRunAt));
  }

  async scheduleFailed(scheduleId: string, error: ScheduleError): Promise<void> {
    return this.writes.now(() => this.schedules.markFailed(scheduleId, error));
  }

  async insertTrigger(trigger: TriggerRecord): Promise<void> {
    return this.writes.now(() => this.triggers.insert(trigger));
  }

  async getTrigger(triggerId: string): Promise<TriggerRecord | undefined> {
    return this.triggers.get(triggerId);
  }

  async findTriggerByTokenHash(tokenHash: string): Promise<TriggerRecord | undefined> {
    return this.triggers.withTokenHash(tokenHash);
  }

  async listTriggers(owner: string): Promise<TriggerRecord[]> {
    return this.triggers.owned(owner);
  }

  async deleteTrigger(triggerId: string): Promise<boolean> {
    return this.writes.now(() => this.triggers.delete(triggerId));
  }

  async triggerTaskForKey(triggerId: string, fireKey: string): Promise<string | undefined> {
    return this.triggers.taskForKey(triggerId, fireKey);
  }

  async fireTrigger(
    triggerId: string,
    fireKey: string | undefined,
    task: TaskRecord,
    initial: Mutation,
  ): Promise<{ applied: AppliedChange } | { duplicateOf: string } | { gone: true }> {
    const outcome = await this.exclusive((): FireOutcome => {
      // Deleted since the caller found it: no task for a trigger that is gone.
      if (!this.triggers.get(triggerId)) return { gone: true };
      const earlier =
        fireKey === undefined ? undefined : this.triggers.taskForKey(triggerId, fireKey);
      if (earlier) return { duplicateOf: earlier };
      const applied = this.insert(task, initial);
      this.triggers.markFired(triggerId, fireKey, task.taskId, task.createdAt);
      return { applied };
    });
    if ('applied' in outcome) this.notify(outcome.applied);
    return outcome;
  }

  async dependencyStates(taskId: string): Promise<DependencyState[]> {
    return this.dependencies.states(taskId);
  }

  async blockedDependents(taskId: string): Promise<string[]> {
    return this.dependencies.dependents(taskId);
  }

  async releasedDependents(taskId: string): Promise<string[]> {
    return this.dependencies.released(taskId);
  }

  releasedAtCommit(taskId: string): string[] {
    return this.dependencies.releasedAtCommit(taskId);
  }

  unmetAtCommit(taskId: string): string[] {
    return this.dependencies.unmetAtCommit(taskId);
  }

  statusAtCommit(taskId: string, status: TaskStatus): boolean {
    return this.dependencies.statusAtCommit(taskId, status);
  }

  async blockedTasks(limit: number, after = ''): Promise<string[]> {
    return this.dependencies.blockedAfter(after, limit);
  }

  async listMessages(taskId: string, budget?: HistoryBudget): Promise<MessageRecord[]> {
    return this.history.messages(taskId, budget);
  }

  async listArtifacts(taskId: string, budget?: HistoryBudget): Promise<ArtifactRecord[]> {
    return this.history.artifacts(taskId, budget);
  }

  async artifactIdsSince(taskId: string, since: string): Promise<string[]> {
    return this.history.artifactIdsSince(taskId, since);
  }

  async lastOwnEvent(taskId: string, type: EventType): Promise<EventRecord | undefined> {
    return this.history.lastOwnEvent(taskId, type);
  }

  async listEvents(taskId: string, afterSeq = 0, limit?: number): Promise<EventRecord[]> {
    return this.history.events(taskId, afterSeq, limit);
  }

  async eventPage(taskId: string, afterSeq: number, budget: EventBudget): Promise<EventPage> {
    return this.history.eventPage(taskId, afterSeq, budget);
  }

  async insertSubscription(subscription: SubscriptionRecord, replay = false): Promise<void> {
    this.unwatched.attached(subscription.taskId);
    const queued = await this.exclusive(() => {
      this.subs.addSubscription(subscription);
      return replay
        ? this.subs.enqueueFor([subscription], this.history.eventHeads(subscription.taskId))
        : 0;
    });
    if (queued > 0) this.committed(subscription.taskId, { deliveries: queued });
  }

  async getSubscription(subscriptionId: string): Promise<SubscriptionRecord | undefined> {
    return this.subs.subscription(subscriptionId);
  }

  async listSubscriptions(taskId: string): Promise<SubscriptionRecord[]> {
    return this.subs.subscriptions(taskId);
  }

  async listSubscriptionsByOwner(
    owner: string,
    filter: { taskId?: string; agent?: string },
  ): Promise<SubscriptionRecord[]> {
    return this.subs.byOwner(owner, filter.taskId, filter.agent);
  }

  async deactivateSubscription(subscriptionId: string, reason: string, at: string) {
    return this.exclusive(() => this.deliveries.deactivateSubscription(subscriptionId, reason, at));
  }

  async listDeliveries(taskId: string): Promise<DeliveryRecord[]> {
    return this.deliveries.byTask(taskId);
  }

  async findDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    return this.deliveries.filtered(filter);
  }

  async getDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.deliveries.get(deliveryId);
  }

  async listAttempts(deliveryId: string): Promise<AttemptRecord[]> {
    return this.deliveries.attempts(deliveryId);
  }

  async claimDeliveries(owner: string, limit: number, now: Date, leaseMs: number, hosts: HostRoom) {
    return this.writes.now(() => this.deliveries.claimDue(owner, limit, now, leaseMs, hosts));
  }

  async recordAttempt(
    owner: string,
    attempt: Omit<AttemptRecord, 'attempt'>,
    plan: (delivery: DeliveryRecord, failingSince: string | undefined) => AttemptPlan,
  ): Promise<DeliveryRecord | undefined> {
    return this.writes.now(() => this.deliveries.record(owner, attempt, plan));
  }

  async releaseDelivery(deliveryId: string, owner: string): Promise<void> {
    return this.writes.now(() => this.deliveries.releaseLease(deliveryId, owner));
  }

  async retryDelivery(deliveryId: string, at: string): Promise<boolean> {
    return this.writes.now(() => this.deliveries.retryNow(deliveryId, at));
  }

  async insertNotification(notification: NotificationRecord): Promise<void> {
    return this.writes.now(() => this.subs.addNotification(notification));
  }

  async listNotifications(taskId: string): Promise<NotificationRecord[]> {
    return this.subs.notifications(taskId);
  }

  async claimTurns(
    owner: string,
    limit: number,
    nowMs: number,
    leaseMs: number,
    agents: AgentLimits,
    begin: StartPlan,
  ): Promise<TaskRecord[]> {
    if (limit <= 0) return [];
    const at = isoAt(nowMs);
    const leaseUntil = nowMs + leaseMs;
    // Planned from rows read before the batch (on the writer thread, when it is on): each
    // candidate is guarded, and one changed meanwhile has the claim planned again. Per-agent
    // limits count the leases of every process inside the transaction, so with limits the
    // claim stays one transaction on this connection.
    const plan = () => {
      const changes: Applied[] = [];
      const tasks = this.claims.choose({ limit, nowMs, agents }).flatMap((row) => {
        const task = this.tasks.candidate(row);
        if (!isOwed(task, nowMs)) return []; // started or leased by a batch not yet committed
        const mutation = begin(task, at);
        if (!mutation) return [this.tasks.lease(task, owner, leaseUntil)];
        // One UPDATE: the lease and the turn's start together.
        const lease = { leaseOwner: owner, leaseUntil };
        const applied = this.apply(
          task,
          extended(mutation, { patch: extended(mutation.patch, lease) }),
        );
        changes.push(applied);
        return [applied.task];
      });
      return { tasks, changes };
    };
    const limited = Object.keys(agents.limits).length > 0;
    const { tasks, changes } = await (limited ? this.exclusive(plan) : this.writes.record(plan));
    for (const applied of changes) this.notify(applied);
    return tasks.sort(
      (a, b) =>
        PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] ||
        a.createdAt.localeCompare(b.createdAt) ||
        a.taskId.localeCompare(b.taskId),
    );
  }

  async overdueTasks(nowIso: string, limit: number): Promise<string[]> {
    return this.overdue.all(nowIso, limit).map((row) => row.task_id);
  }

  async nextDeadline(): Promise<string | undefined> {
    return this.firstDeadline.get()?.deadline ?? undefined;
  }

  async countQueued(agent: string, leavingOut: readonly string[] = []): Promise<number> {
    if (leavingOut.length === 0) return this.queued.get({ agent })?.n ?? 0;
    const ids = JSON.stringify(leavingOut);
    return this.queuedLeavingOut.get({ agent, ids })?.n ?? 0;
  }

  async endRun(runId: string, end: RunEnd): Promise<void> {
    return this.writes.now(() => this.runs.end(runId, end));
  }

  async listRuns(taskId: string): Promise<RunRecord[]> {
    return this.runs.runs(taskId);
  }

  async addUsage(
    taskId: string,
    runId: string,
    tokens: number,
    cost: number,
    heldBy?: string,
  ): Promise<boolean> {
    return this.turnWrite(taskId, heldBy, () => this.runs.addUsage(taskId, runId, tokens, cost));
  }

  async saveCheckpoint(
    taskId: string,
    runId: string,
    data: JsonValue,
    at: string,
    heldBy?: string,
  ): Promise<boolean> {
    return this.turnWrite(taskId, heldBy, () => this.runs.saveCheckpoint(taskId, runId, data, at));
  }

  /** `write` in one transaction with the check that `heldBy` (if given) holds the turn. */
  private turnWrite(taskId: string, heldBy: string | undefined, write: () => void) {
    return this.exclusive(() => {
      if (heldBy !== undefined && !this.turnHeld.get(taskId, heldBy)) return false;
      write();
      return true;
    });
  }

  async lastCheckpoint(taskId: string): Promise<CheckpointRecord | undefined> {
    return this.runs.lastCheckpoint(taskId);
  }

  async setProgress(
    taskId: string,
    update: { internalStatus?: string | null; progress?: number | null },
    heldBy?: string,
  ): Promise<boolean> {
    return this.turnWrite(taskId, heldBy, () => this.runs.setProgress(taskId, update));
  }

  async createChat(chat: Omit<ChatRecord, 'status' | 'messageCount'>): Promise<boolean> {
    return this.writes.now(() => this.chats.create(chat));
  }

  async getChat(chatId: string): Promise<ChatRecord | undefined> {
    return this.chats.get(chatId);
  }

  async appendChatMessage(chatId: string, message: Message & { timestamp: string }, at: string) {
    return this.writes.now(() => this.chats.append(chatId, message, at));
  }

  async closeChat(chatId: string, reason: string, at: string): Promise<ChatRecord | undefined> {
    return this.writes.now(() => this.chats.closeChat(chatId, reason, at));
  }

  async listChatMessages(chatId: string): Promise<Message[]> {
    return this.chats.messages(chatId);
  }

  async renewLeases(owner: string, taskIds: string[], untilMs: number): Promise<string[]> {
    return this.exclusive(() =>
      taskIds.filter((taskId) => this.renew.run(untilMs, taskId, owner).changes === 0),
    );
  }

  async stoppedElsewhere(owner: string, taskIds: string[]) {
    if (taskIds.length === 0) return [];
    return this.stoppedOnes.all(JSON.stringify(taskIds), owner).map((row): StoppedElsewhere => {
      if (row.status === 'CANCELED')
        return { taskId: row.task_id, kind: 'canceled', reason: row.reason ?? 'canceled' };
      if (row.status === 'FAILED') {
        return { taskId: row.task_id, kind: 'deadline', reason: row.reason ?? 'deadline exceeded' };
      }
      const reason =
        row.status === 'SUBMITTED'
          ? 'the task was queued again by another process'
          : 'the turn is leased by another process now';
      return { taskId: row.task_id, kind: 'interrupted', reason };
    });
  }

  async releaseLease(taskId: string, owner: string): Promise<void> {
    await this.writes.now(() => this.release.run(taskId, owner));
  }

  async close(): Promise<void> {
    await this.writes.close();
    await this.writer?.close();
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
