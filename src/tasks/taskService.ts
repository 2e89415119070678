/**
 * The caller's side of tasks: create, send, read, cancel, subscribe, notify. Every write goes
 * through store.mutateTask with a plan from changes.ts; visibility is checked in that same
 * read. It tells the engine when a turn is owed or a running turn must stop, nothing more.
 */
import type { CallContext, JsonObject, Message, Priority, Task } from '../types';
import type {
  Mutation,
  MessageRecord,
  RunRecord,
  TaskRecord,
  TaskSettings,
} from '../store/records';
import type { AppliedChange, ChangePlan, Store } from '../store/store';
import type { TaskListFilter } from '../store/taskListQuery';
import { type EventPage, type HistoryBudget, HistoryOverBudget } from '../store/historyRows';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { extended } from '../extended';
import {
  AuthorizationError,
  type FieldProblem,
  InvalidParamsError,
  InvalidTransitionError,
  TaskNotFoundError,
  TaskInFamilyError,
  TaskStillNeededError,
  DeliveriesOwedError,
  HistoryTooLargeError,
  StopOwedError,
} from '../rpc/errors';
import { toUtcIso } from '../rpc/schemas';
import * as changes from './changes';
import { isTerminal, transitionError } from './states';
import { toWireTask } from './toWire';
import { rerunMessage } from './rerunInput';
import { refuseIfReleasedAtCommit, restartTask, retryFamily } from './familyRuns';
import { finishedByChildren } from './familyChanges';
import type { Expectation } from './taskWaiter';
import { type PartLimits, checkMessageParts } from '../parts/checkParts';
import type { DirectStart } from '../engine/runner';
import { callerAgentId } from '../engine/turnContext';
import { QueueRoom, type Release, releasedAfter } from './queueRoom';
import { DependencyLocks } from './dependencyLocks';
import { unlessDeletedMeanwhile } from './deletedMeanwhile';

/** task.events answers at most this much event data (as JSON), however many were asked for. */
const EVENTS_ANSWER_BYTES = 8 * 1024 * 1024;

export interface EngineHooks {
  /** A task now owes a turn (created, or resumed by input). */
  turnOwed(taskId: string): void;
  /** A new task's first turn, begun in its create's transaction, if the engine can run it now. */
  startNow(task: TaskRecord): DirectStart | undefined;
  /** A task was canceled: abort its running turn, if any. */
  canceled(taskId: string, reason: string): void;
  /** The queue bound of an agent (SUBMITTED tasks), if it has one. */
  maxQueued(agent: string): number | undefined;
  /** The agents hosted here (for multi-agent tasks). */
  agentIds(): string[];
  /** Starts waiting for the task to settle (finished or INPUT_REQUIRED), for at most `ms`. */
  expectSettled(taskId: string, ms: number): Expectation;
}

/**
 * A caller's message as stored, from caller `from` (its `agentId`: callerAgentId). A caller's
 * message passing for the agent's own would have its input skipped, an answer dropped.
 */
export function toMessageRecord(
  message: Message,
  at: string,
  from: string,
): Omit<MessageRecord, 'seq'> {
  const record: Omit<MessageRecord, 'seq'> = {
    messageId: newId('msg'),
    role: message.role,
    parts: message.parts,
    timestamp: message.timestamp ? toUtcIso(message.timestamp) : at,
  };
  const agentId = callerAgentId(message, from);
  if (agentId) record.agentId = agentId;
  return record;
}

/** The task exists, belongs to the target agent, and the caller created it or runs it. */
export function isVisible(task: TaskRecord, call: CallContext): boolean {
  return (
    task.assignedAgent === call.targetAgent &&
    (task.requestAgent === call.requestAgent || task.assignedAgent === call.requestAgent)
  );
}

/** A multi-agent parent runs no turn of its own: its children are retried or re-run instead. */
function notParent(task: TaskRecord): TaskRecord {
  if (task.childTaskIds) {
    throw new InvalidTransitionError(
      task.taskId,
      task.status,
      'SUBMITTED',
      `Task ${task.taskId} is a multi-agent parent: retry it (its failed children run again) or run its children again`,
    );
  }
  return task;
}

/** What task.create takes (also what schedules and triggers fill in). */
export interface NewTask {
  initialMessage: Message;
  priority?: Priority;
  metadata?: JsonObject;
  settings?: TaskSettings;
  deadline?: string;
  dependencies?: string[];
  /** A multi-agent task: one child per agent (targetAgent must be one of them). */
  assignedAgents?: string[];
}

export class TaskService {
  /** Places held in bounded queues by tasks being written (see queueRoom.ts). */
  private readonly room: QueueRoom;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly hooks: EngineHooks,
    private readonly partLimits: PartLimits,
    /** The most history (messages and artifacts, in characters) task.info answers. */
    private readonly maxHistoryBytes = Infinity,
    /** Held on a task run again (and its parent) while its dependents are checked and it restarts. */
    private readonly dependencyLocks = new DependencyLocks(),
  ) {
    this.room = new QueueRoom(
      (agent, leavingOut) => store.countQueued(agent, leavingOut),
      (agent) => hooks.maxQueued(agent),
    );
  }

  private visiblePlan(call: CallContext, taskId: string, plan: ChangePlan): ChangePlan {
    return (task) => {
      if (!isVisible(task, call)) throw new TaskNotFoundError(taskId);
      return plan(task);
    };
  }

  /** A retry or rerun of `task` (see familyRuns.ts: a finished parent reopens with it). */
  private async restartVisible(
    call: CallContext,
    task: TaskRecord,
    at: string,
    deadline: string | null | undefined,
    plan: ChangePlan,
  ) {
    const visible = this.visiblePlan(call, task.taskId, (current) => {
      // checkNotNeeded's check again, in the write (another process may release meanwhile).
      if (isTerminal(current.status))
        refuseIfReleasedAtCommit(this.store, task.taskId, 'run again');
      return plan(current);
    });
    const applied = await restartTask(this.store, task, visible, at, deadline);
    if (!applied) throw new TaskNotFoundError(task.taskId);
    return applied;
  }

  private async mutateVisible(call: CallContext, taskId: string, plan: ChangePlan) {
    const applied = await this.store.mutateTask(taskId, this.visiblePlan(call, taskId, plan));
    if (!applied) throw new TaskNotFoundError(taskId);
    return applied;
  }

  async getVisible(call: CallContext, taskId: string): Promise<TaskRecord> {
    const task = await this.store.getTask(taskId);
    if (!task || !isVisible(task, call)) throw new TaskNotFoundError(taskId);
    return task;
  }

  async create(call: CallContext, params: NewTask & { wait?: number }): Promise<Task> {
    const { wait, ...fields } = params;
    // A blocking create waits from before the task is stored, so it cannot miss its settling.
    let expectation: Expectation | undefined;
    const beforeInsert = (taskId: string) => {
      if (wait) expectation = this.hooks.expectSettled(taskId, wait);
    };
    let created: Task;
    try {
      created = fields.assignedAgents
        ? await this.createFanOut(call, fields, fields.assignedAgents, beforeInsert)
        : await this.createOne(call, fields, beforeInsert);
    } catch (error) {
      expectation?.cancel();
      // A dependency checked above and deleted before the insert (another call, the purge):
      // the caller's input, not a failure of arcd's.
      const code = (error as { code?: unknown } | undefined)?.code;
      if (fields.dependencies?.length && code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new InvalidParamsError([
          { field: 'dependencies', message: 'a task named was deleted meanwhile' },
        ]);
      }
      throw error;
    }
    if (!expectation) return created;
    // Answer once the task settles (or `wait` ms pass), with its history. The commits of this
    // process settle it at once; another process's (it may run the task) are read (TaskWaiter).
    const settled = await expectation.settled;
    // Not refused for its size as task.info may be: the task is stored, and its id must reach
    // the caller (whose retry would make another).
    if (!settled) return this.withHistory(await this.getVisible(call, created.taskId), {});
    return this.withHistory(settled, {}, expectation.messages());
  }

  private async createOne(
    call: CallContext,
    params: NewTask,
    beforeInsert: (taskId: string) => void,
  ): Promise<Task> {
    const { task, initial } = await this.prepare(call, params);
    beforeInsert(task.taskId);
    const start = this.hooks.startNow(task);
    let applied: AppliedChange;
    try {
      // A task started in its create's commit is never queued: it takes no place.
      const insert = () => this.store.insertTask(task, initial, start?.plan, start?.recorded);
      applied = await (start ? insert() : this.writeQueued(task, insert));
    } catch (error) {
      start?.cancel(error);
      throw error;
    }
    if (!start) {
      this.stored(applied);
      return toWireTask(applied.task);
    }
    const history = (initial.messages ?? []).map((message, i) => extended(message, { seq: i + 1 }));
    start.launch(applied.task, history);
    // ARC answers task.create with the task as created (SUBMITTED), as its TASK_CREATED event
    // has it; that its first turn began in the same commit, its TASK_STARTED event tells.
    return toWireTask(task);
  }

  /**
   * A multi-agent task: a parent addressed through `targetAgent` (one of the agents), which
   * runs no handler itself, and one child task per agent, all stored in one transaction.
   */
  private async createFanOut(
    call: CallContext,
    params: NewTask,
    agents: string[],
    beforeInsert: (taskId: string) => void,
  ): Promise<Task> {
    const known = this.hooks.agentIds();
    const problems: FieldProblem[] = agents.flatMap((agent, i) =>
      known.includes(agent)
        ? []
        : [{ field: `assignedAgents.${i}`, message: `no agent ${agent} here` }],
    );
    if (!agents.includes(call.targetAgent)) {
      problems.push({
        field: 'assignedAgents',
        message: `must include targetAgent ${call.targetAgent}`,
      });
    }
    if (params.dependencies?.length) {
      problems.push({ field: 'dependencies', message: 'cannot be combined with assignedAgents' });
    }
    if (problems.length > 0) throw new InvalidParamsError(problems);
    const shared: NewTask = { ...params };
    delete shared.assignedAgents;
    delete shared.dependencies; // none (a client sending `[]` always)
    const childSettings = { ...params.settings };
    delete childSettings.allowPartial;
    const holds: Release[] = [];
    return releasedAfter(holds, async () => {
      const children = [];
      for (const agent of agents) {
        const child = await this.prepare(
          extended(call, { targetAgent: agent }),
          // The caller's params (JSON): copied as a spread copies them (see src/extended.ts).
          // eslint-disable-next-line no-restricted-syntax -- client JSON
          {
            ...shared,
            settings: Object.keys(childSettings).length > 0 ? childSettings : undefined,
          },
        );
        await this.holdPlace(holds, child.task);
        children.push(child);
      }
      // The parent waits for its children, in no queue: it holds no place.
      const parent = await this.prepare(call, shared);
      parent.task.pendingTurn = false;
      parent.task.childTaskIds = children.map((child) => child.task.taskId);
      for (const child of children) child.task.parentTaskId = parent.task.taskId;
      beforeInsert(parent.task.taskId);
      const applied = await this.store.insertTaskGroup([parent, ...children]);
      applied.forEach((change) => this.stored(change));
      return toWireTask(applied[0]?.task ?? parent.task);
    });
  }

  /** Tells the engine about a task stored by someone else (a schedule or trigger firing). */
  stored(applied: AppliedChange): void {
    if (applied.task.pendingTurn) this.hooks.turnOwed(applied.task.taskId);
  }

  /**
   * A new task checked (deadline, dependencies, the agent's queue bound) and written by
   * `write`, its place in a bounded queue held until the write has settled: task.create writes
   * it alone, schedules and triggers together with their own bookkeeping.
   */
  async createWith<T>(
    call: CallContext,
    params: NewTask,
    write: (task: TaskRecord, initial: Mutation) => Promise<T>,
  ): Promise<T> {
    const { task, initial } = await this.prepare(call, params);
    return this.writeQueued(task, () => write(task, initial));
  }

  /** `write` of a task it queues, with the task's place in its agent's queue held meanwhile. */
  private writeQueued<T>(task: TaskRecord, write: () => Promise<T>): Promise<T> {
    const held = this.room.hold(task.assignedAgent, task.taskId);
    // An agent without a queue bound holds nothing (the common case: no wrapping).
    if (!held) return write();
    return held.then((release) => releasedAfter([release], write));
  }

  /** A new task and its creation change, checked but not written (its queue place neither). */
  private async prepare(
    call: CallContext,
    params: NewTask,
  ): Promise<{ task: TaskRecord; initial: Mutation }> {
    checkMessageParts(params.initialMessage, 'initialMessage', this.partLimits);
    const at = isoNow(this.clock);
    const deadline = this.futureDeadline(params.deadline, at);
    const dependencies = params.dependencies ?? [];
    await this.checkDependencies(call, dependencies);
    // The optional fields are set afterwards: with spreads inside the literal, V8 would add
    // every field after the first spread one at a time.
    const task: TaskRecord = {
      taskId: newId('task'),
      status: 'SUBMITTED',
      priority: params.priority ?? 'NORMAL',
      assignedAgent: call.targetAgent,
      requestAgent: call.requestAgent,
      createdAt: at,
      updatedAt: at,
      messageCount: 0,
      artifactCount: 0,
      lastSeq: 0,
      pendingTurn: dependencies.length === 0,
      attempt: 0,
      tokensUsed: 0,
      cost: 0,
      blocked: dependencies.length > 0,
    };
    if (params.metadata) task.metadata = params.metadata;
    if (call.traceId) task.traceId = call.traceId;
    if (params.settings) task.settings = params.settings;
    if (deadline) task.deadline = deadline;
    if (dependencies.length > 0) task.dependencies = dependencies;
    const first = toMessageRecord(params.initialMessage, at, call.requestAgent);
    return { task, initial: changes.created(task, first) };
  }

  /** task.retry's and task.run's `deadline`: null (none) kept, a time checked as a new one. */
  private newRunDeadline(deadline: string | null | undefined, at: string) {
    return deadline === null ? null : this.futureDeadline(deadline, at);
  }

  private futureDeadline(deadline: string | undefined, at: string): string | undefined {
    const utc = deadline ? toUtcIso(deadline) : undefined;
    if (utc && utc <= at) {
      throw new InvalidParamsError([{ field: 'deadline', message: 'must be in the future' }]);
    }
    return utc;
  }

  /**
   * Every dependency must be a task this caller created (or any task, for an admin). The new
   * task's id does not exist yet and dependencies never change after creation, so the graph
   * cannot gain a cycle: a task can only wait on tasks older than itself.
   */
  private async checkDependencies(call: CallContext, dependencies: string[]): Promise<void> {
    const problems: FieldProblem[] = [];
    for (const [i, taskId] of dependencies.entries()) {
      const task = await this.store.getTask(taskId);
      if (!task || !(call.admin || task.requestAgent === call.requestAgent)) {
        problems.push({ field: `dependencies.${i}`, message: `no task ${taskId} of yours` });
      }
    }
    if (problems.length > 0) throw new InvalidParamsError(problems);
  }

  async update(
    call: CallContext,
    params: { taskId: string } & Omit<changes.TaskUpdate, 'deadline'> & {
        deadline?: string | null;
      },
  ): Promise<Task> {
    const at = isoNow(this.clock);
    const { taskId, ...update } = params;
    if (update.deadline) update.deadline = this.futureDeadline(update.deadline, at);
    const plan: ChangePlan = (task) => changes.updated(task, update, at, call.requestAgent);
    if (update.deadline !== undefined) {
      const task = await this.getVisible(call, taskId);
      if (task.parentTaskId) await this.checkWithinParent(task.parentTaskId, update.deadline);
      if (task.childTaskIds) {
        // The children follow their parent's deadline: left on the old one, they would fail
        // by it, and the parent with them.
        const deadline = { deadline: update.deadline };
        const follow: ChangePlan = (child) =>
          isTerminal(child.status) ? null : changes.updated(child, deadline, at, call.requestAgent);
        const [applied] = await this.store.mutateTasks([
          { taskId, plan: this.visiblePlan(call, taskId, plan) },
          ...task.childTaskIds.map((childId) => ({ taskId: childId, plan: follow })),
        ]);
        if (!applied) throw new TaskNotFoundError(taskId);
        return toWireTask(applied.task);
      }
    }
    const applied = await this.mutateVisible(call, taskId, plan);
    return toWireTask(applied.task);
  }

  /**
   * A child's deadline (updated, or given to its new run) may not pass its live parent's: the
   * parent would fail by its own and cancel the child. The parent's update moves both.
   */
  private async checkWithinParent(parentId: string, deadline: string | null): Promise<void> {
    const parent = await this.store.getTask(parentId);
    if (!parent?.deadline || isTerminal(parent.status)) return;
    if (deadline !== null && deadline <= parent.deadline) return;
    throw new InvalidParamsError([
      {
        field: 'deadline',
        message: `is past the deadline of the parent task ${parentId} (${parent.deadline}): update the parent's, which its children follow`,
      },
    ]);
  }

  /**
   * The deadline of a task's new run: a child of a live parent runs under the parent's when
   * none is given (its own may be one the parent has moved since), and within it when one is.
   */
  private async childRunDeadline(
    task: TaskRecord,
    deadline: string | null | undefined,
  ): Promise<string | null | undefined> {
    if (!task.parentTaskId) return deadline;
    if (deadline !== undefined) {
      await this.checkWithinParent(task.parentTaskId, deadline);
      return deadline;
    }
    const parent = await this.store.getTask(task.parentTaskId);
    return parent && !isTerminal(parent.status) ? (parent.deadline ?? null) : undefined;
  }

  /**
   * A place in its agent's queue for `task`, about to be written queued (-41011 if there is
   * none), added to `holds`: the caller lets go of them once the write settled (releasedAfter).
   */
  private async holdPlace(holds: Release[], task: TaskRecord): Promise<void> {
    const held = this.room.hold(task.assignedAgent, task.taskId);
    if (held) holds.push(await held);
  }

  /**
   * -42006 when tasks its completion released are unfinished: they run on its result (their
   * turns read it as a dependency), which running it again would take from under them.
   */
  private async checkNotNeeded(task: TaskRecord): Promise<void> {
    await this.refuseIfReleased(task.taskId, 'run again');
    // A child run again reopens its finished parent (familyRuns.ts): the same for the tasks
    // the parent's completion released.
    if (!task.parentTaskId) return;
    const parent = await this.store.getTask(task.parentTaskId);
    if (parent && isTerminal(parent.status)) {
      await this.refuseIfReleased(
        parent.taskId,
        `reopened by its child ${task.taskId} running again`,
      );
    }
  }

  /** -42006 while tasks `taskId`'s completion released are unfinished (`doing`: what is refused). */
  private async refuseIfReleased(taskId: string, doing: string): Promise<void> {
    const released = await this.store.releasedDependents(taskId);
    if (released.length > 0) throw new TaskStillNeededError(taskId, released, doing);
  }

  async retry(
    call: CallContext,
    params: { taskId: string; deadline?: string | null },
  ): Promise<Task> {
    const found = await this.getVisible(call, params.taskId);
    const holds: Release[] = [];
    return this.lockedForRun(found, (task) =>
      releasedAfter(holds, async () => {
        // Only a task that would be queued again (else its status is what the caller is told).
        if (!task.childTaskIds && task.status === 'FAILED') {
          await this.checkNotNeeded(task);
          await this.holdPlace(holds, task);
        }
        if (task.childTaskIds && finishedByChildren(task)) {
          // A partial completion may have released dependents: they read the parent as it is.
          if (task.status === 'COMPLETED') await this.checkNotNeeded(task);
          // A family retried queues its failed and canceled children again, each on its agent.
          const again = (await this.store.childTasks(task.taskId)).filter(
            (child) => child.status === 'FAILED' || child.status === 'CANCELED',
          );
          for (const child of again) await this.holdPlace(holds, child);
        }
        return this.retryChecked(call, task, params.deadline);
      }),
    );
  }

  /**
   * Runs a run again's checks and write holding the dependency locks of the task and its
   * parent (whose dependents its reopening would take it from): see dependencyLocks.ts. The
   * checks are made on the task as read once the locks are held (`work`'s argument): a read
   * from before could miss a completion, and the release it made, while the locks were waited for.
   */
  private lockedForRun<T>(task: TaskRecord, work: (current: TaskRecord) => Promise<T>): Promise<T> {
    const ids = task.parentTaskId ? [task.taskId, task.parentTaskId] : [task.taskId];
    return this.dependencyLocks.holding(ids, async () => {
      const current = await this.store.getTask(task.taskId);
      if (!current) throw new TaskNotFoundError(task.taskId);
      return work(current);
    });
  }

  /** task.retry, its checks passed. */
  private async retryChecked(
    call: CallContext,
    task: TaskRecord,
    requested: string | null | undefined,
  ): Promise<Task> {
    const at = isoNow(this.clock);
    const deadline = await this.childRunDeadline(task, this.newRunDeadline(requested, at));
    if (task.childTaskIds) {
      const applied = await retryFamily(
        this.store,
        task,
        (plan) => this.visiblePlan(call, task.taskId, plan),
        at,
        call.requestAgent,
        deadline,
      );
      for (const change of applied)
        if (change?.task.pendingTurn) this.hooks.turnOwed(change.task.taskId);
      return toWireTask(applied[0]?.task ?? task);
    }
    const applied = await this.restartVisible(call, task, at, deadline, (current) =>
      changes.retried(notParent(current), at, call.requestAgent, deadline),
    );
    if (applied.task.pendingTurn) this.hooks.turnOwed(task.taskId);
    return toWireTask(applied.task);
  }

  /**
   * task.run: a finished task runs again as a new run. Its new message is `message`, or else
   * the task's first caller message, with `input` merged into its DataPart.
   */
  async run(
    call: CallContext,
    params: { taskId: string; input?: JsonObject; message?: Message; deadline?: string | null },
  ): Promise<Task> {
    const found = await this.getVisible(call, params.taskId);
    const holds: Release[] = [];
    return this.lockedForRun(found, (task) =>
      releasedAfter(holds, async () => {
        if (!task.childTaskIds && isTerminal(task.status)) {
          await this.checkNotNeeded(task);
          await this.holdPlace(holds, task);
        }
        return this.runChecked(call, task, params);
      }),
    );
  }

  /** task.run, its checks passed. */
  private async runChecked(
    call: CallContext,
    task: TaskRecord,
    params: { input?: JsonObject; message?: Message; deadline?: string | null },
  ): Promise<Task> {
    // The task's first message: the caller's, whatever role it was sent as.
    const [first] = await this.store.listMessages(task.taskId);
    const base = params.message ?? first ?? { role: 'user', parts: [] };
    const message = rerunMessage(base, params.input);
    if (message.parts.length === 0) {
      throw new InvalidParamsError([
        { field: 'input', message: 'is needed: the task has no message to run again' },
      ]);
    }
    checkMessageParts(message, params.message ? 'message' : 'input', this.partLimits);
    const at = isoNow(this.clock);
    const deadline = await this.childRunDeadline(task, this.newRunDeadline(params.deadline, at));
    const record = toMessageRecord(
      { role: message.role, parts: message.parts, agentId: message.agentId, timestamp: at },
      at,
      call.requestAgent,
    );
    const applied = await this.restartVisible(call, task, at, deadline, (current) =>
      changes.rerun(notParent(current), record, at, call.requestAgent, deadline),
    );
    if (applied.task.pendingTurn) this.hooks.turnOwed(task.taskId);
    return toWireTask(applied.task);
  }

  /**
   * Deletes a finished task with everything it owns, a multi-agent parent with its children;
   * live tasks, a child on its own, a task an unfinished one depends on, and (unless `force`)
   * one owing webhook deliveries or its agent's `stopped` hook answer -42006.
   */
  async delete(
    call: CallContext,
    params: { taskId: string; force?: boolean },
  ): Promise<TaskRecord> {
    const deleted = await this.store.deleteTask(params.taskId, (task, waiting, family, owed) => {
      if (!isVisible(task, call)) throw new TaskNotFoundError(params.taskId);
      if (family.parent) throw new TaskInFamilyError(task.taskId, family.parent.taskId);
      for (const member of [task, ...family.children]) {
        if (!isTerminal(member.status)) {
          throw new InvalidTransitionError(
            member.taskId,
            member.status,
            member.status,
            `Task ${member.taskId} is ${member.status}; only finished tasks can be deleted (cancel it first)`,
          );
        }
      }
      if (waiting.length > 0) throw new TaskStillNeededError(task.taskId, waiting);
      if (params.force) return;
      if (owed.deliveries > 0) throw new DeliveriesOwedError(task.taskId, owed.deliveries);
      if (owed.stops > 0) throw new StopOwedError(task.taskId);
    });
    if (!deleted) throw new TaskNotFoundError(params.taskId);
    return deleted;
  }

  async send(
    call: CallContext,
    params: { taskId: string; message: Message },
  ): Promise<{ routedTo?: string }> {
    checkMessageParts(params.message, 'message', this.partLimits);
    const at = isoNow(this.clock);
    const message = toMessageRecord(params.message, at, call.requestAgent);
    let parent: TaskRecord | undefined;
    const applied = await this.mutateVisible(call, params.taskId, (task) => {
      if (task.childTaskIds) {
        parent = task; // a multi-agent parent takes no messages: its waiting child does
        return null;
      }
      if (task.status === 'INPUT_REQUIRED') return changes.resumed(task, message, at);
      if (task.status === 'SUBMITTED' || task.status === 'WORKING') {
        // ARC's task.send answers a task waiting for input; one that is not is told so.
        throw new InvalidTransitionError(
          task.taskId,
          task.status,
          'WORKING',
          `Task ${task.taskId} is ${task.status}, not waiting for input: task.send answers an INPUT_REQUIRED task`,
        );
      }
      throw transitionError(task.taskId, task.status, 'WORKING');
    });
    if (parent) return this.sendToWaitingChild(call, parent, params);
    if (applied.task.pendingTurn) this.hooks.turnOwed(params.taskId);
    return {};
  }

  private async sendToWaitingChild(
    call: CallContext,
    parent: TaskRecord,
    params: { taskId: string; message: Message },
  ): Promise<{ routedTo: string }> {
    if (isTerminal(parent.status)) throw transitionError(parent.taskId, parent.status, 'WORKING');
    const children = await this.store.childTasks(parent.taskId);
    const waiting = children.find((child) => child.status === 'INPUT_REQUIRED');
    if (!waiting) {
      throw new InvalidTransitionError(
        parent.taskId,
        parent.status,
        'WORKING',
        `No child task of ${parent.taskId} waits for input`,
      );
    }
    await this.send(
      extended(call, { targetAgent: waiting.assignedAgent }),
      // eslint-disable-next-line no-restricted-syntax -- the caller's params (JSON), see src/extended.ts
      { ...params, taskId: waiting.taskId },
    );
    return { routedTo: waiting.taskId };
  }

  async info(
    call: CallContext,
    params: {
      taskId: string;
      includeMessages?: boolean;
      includeArtifacts?: boolean;
      includeRuns?: boolean;
    },
  ): Promise<Task> {
    const task = await this.getVisible(call, params.taskId);
    // Counted as it is read: a task holding many large files is refused, not read whole.
    const budget = { bytes: this.maxHistoryBytes };
    try {
      return await this.withHistory(task, params, undefined, budget);
    } catch (error) {
      if (error instanceof HistoryOverBudget) {
        throw new HistoryTooLargeError(task.taskId, this.maxHistoryBytes);
      }
      throw error;
    }
  }

  /** The wire task with the messages, artifacts and runs that `include` asks for. */
  private async withHistory(
    task: TaskRecord,
    params: { includeMessages?: boolean; includeArtifacts?: boolean; includeRuns?: boolean },
    knownMessages?: MessageRecord[],
    budget?: HistoryBudget,
  ): Promise<Task> {
    const [messages, artifacts, runs] = await Promise.all([
      params.includeMessages === false
        ? undefined
        : (knownMessages ?? this.store.listMessages(task.taskId, budget)),
      params.includeArtifacts === false
        ? undefined
        : task.artifactCount === 0 // the row counts every artifact stored with it
          ? []
          : this.store.listArtifacts(task.taskId, budget),
      params.includeRuns === true ? this.store.listRuns(task.taskId) : undefined,
    ]);
    return toWireTask(task, { messages, artifacts, runs });
  }

  async events(
    call: CallContext,
    params: { taskId: string; after?: number; limit?: number },
  ): Promise<EventPage> {
    const task = await this.getVisible(call, params.taskId);
    return this.store.eventPage(task.taskId, params.after ?? 0, {
      events: params.limit ?? 100,
      bytes: EVENTS_ANSWER_BYTES,
    });
  }

  /** The caller's own tasks; an admin sees every caller's (or those of `requestAgent`). */
  async list(call: CallContext, filter: TaskListFilter): Promise<TaskRecord[]> {
    if (call.admin) return this.store.listTasks(filter);
    if (filter.requestAgent !== undefined && filter.requestAgent !== call.requestAgent) {
      throw new AuthorizationError("only an admin may list another caller's tasks", {
        requestAgent: filter.requestAgent,
      });
    }
    return this.store.listTasks(extended(filter, { requestAgent: call.requestAgent }));
  }

  async runs(call: CallContext, params: { taskId: string }): Promise<RunRecord[]> {
    const task = await this.getVisible(call, params.taskId);
    return this.store.listRuns(task.taskId);
  }

  async cancel(call: CallContext, params: { taskId: string; reason?: string }): Promise<Task> {
    const at = isoNow(this.clock);
    const reason = params.reason ?? `Canceled by ${call.requestAgent}`;
    const applied = await this.mutateVisible(call, params.taskId, (task) =>
      changes.canceled(task, at, reason, call.requestAgent),
    );
    this.hooks.canceled(params.taskId, reason);
    return toWireTask(applied.task);
  }

  /**
   * task.notification: an agent telling the agent it runs a task for (`targetAgent`, the
   * task's requester) about that task; or, as any call about a task, one addressed to the agent
   * that runs it.
   */
  async notify(
    call: CallContext,
    params: { taskId: string; event: string; timestamp: string; data: JsonObject },
  ): Promise<void> {
    const task = await this.store.getTask(params.taskId);
    const toRequester =
      task?.assignedAgent === call.requestAgent && task.requestAgent === call.targetAgent;
    if (!task || !(toRequester || isVisible(task, call))) {
      throw new TaskNotFoundError(params.taskId);
    }
    const insert = this.store.insertNotification({
      notificationId: newId('ntf'),
      taskId: task.taskId,
      fromAgent: call.requestAgent,
      event: params.event,
      timestamp: toUtcIso(params.timestamp),
      data: params.data,
      receivedAt: isoNow(this.clock),
    });
    // The insert waits for batches in flight, behind which the task may be deleted.
    await unlessDeletedMeanwhile(task.taskId, insert);
  }
}
