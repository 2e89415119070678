/**
 * Every change a task can undergo, as a pure planner: task as stored + input → Mutation (row
 * patch, new messages/artifacts, events with their ARC `data`). The store applies a plan in one
 * transaction. Status moves are checked against states.ts here, inside that transaction.
 */
import type { EventType, JsonObject, JsonValue, TaskStatus } from '../types';
import type {
  TaskSettings,
  ArtifactRecord,
  EventDraft,
  MessageRecord,
  Mutation,
  TaskPatch,
  TaskRecord,
} from '../store/records';
import { InvalidParamsError, InvalidTransitionError } from '../rpc/errors';
import { assertTransition, isTerminal } from './states';
import { toWireArtifact, toWireMessage } from './toWire';
import { TASK_EXECUTION_FAILED } from './failureCodes';

type NewMessage = Omit<MessageRecord, 'seq'>;
type NewArtifact = Omit<ArtifactRecord, 'seq'>;

function msBetween(from: string | undefined, to: string): number {
  return from ? Math.max(0, Date.parse(to) - Date.parse(from)) : 0;
}

function event(type: EventType, status: TaskStatus, message: string, data: JsonObject): EventDraft {
  return { type, data: { status, message, ...data } };
}

/** A status move: the specific event, then STATUS_CHANGE, both carrying the new status. */
function move(
  task: TaskRecord,
  to: TaskStatus,
  at: string,
  specific: { type: EventType; message: string; data: JsonObject },
  reason?: string,
): EventDraft[] {
  assertTransition(task.taskId, task.status, to);
  return [
    event(specific.type, to, specific.message, specific.data),
    statusChange(task, to, at, reason ?? specific.message),
  ];
}

/** The STATUS_CHANGE event every status move ends with. */
function statusChange(task: TaskRecord, to: TaskStatus, at: string, reason: string): EventDraft {
  return event('STATUS_CHANGE', to, `Task status changed from ${task.status} to ${to}`, {
    changedAt: at,
    previousStatus: task.status,
    reason,
  });
}

function messageEvent(status: TaskStatus, message: NewMessage): EventDraft {
  return event('NEW_MESSAGE', status, `New ${message.role} message`, {
    messageContent: toWireMessage(message) as unknown as JsonObject,
  });
}

/** Two changes as one: `then` planned on the task as `first` leaves it. */
export function combined(first: Mutation, then: Mutation): Mutation {
  const both: Mutation = {
    patch: Object.assign({}, first.patch, then.patch),
    events: first.events.concat(then.events),
  };
  if (first.messages || then.messages) {
    both.messages = (first.messages ?? []).concat(then.messages ?? []);
  }
  if (first.artifacts || then.artifacts) {
    both.artifacts = (first.artifacts ?? []).concat(then.artifacts ?? []);
  }
  if (first.run || then.run) both.run = Object.assign({}, first.run, then.run);
  return both;
}

export function created(task: TaskRecord, first: NewMessage): Mutation {
  return {
    patch: { updatedAt: task.createdAt },
    messages: [first],
    events: [
      event('TASK_CREATED', task.status, `Task created for ${task.assignedAgent}`, {
        priority: task.priority,
        assignedAgent: task.assignedAgent,
        createdAt: task.createdAt,
      }),
      messageEvent(task.status, first),
    ],
  };
}

export function started(task: TaskRecord, at: string): Mutation {
  return {
    patch: { status: 'WORKING', startedAt: at, attempt: task.attempt + 1, updatedAt: at },
    events: move(task, 'WORKING', at, {
      type: 'TASK_STARTED',
      message: `${task.assignedAgent} started working on the task`,
      data: { startedAt: at },
    }),
  };
}

/** Another attempt at the owed turn of a WORKING task (a retry, or a rerun after a crash). */
export function attemptStarted(task: TaskRecord, at: string): Mutation {
  return { patch: { attempt: task.attempt + 1, nextAttemptAt: null, updatedAt: at }, events: [] };
}

/** A failed attempt with retries left: the turn stays owed, not before `retryAt` (epoch ms). */
export function retryLater(
  _task: TaskRecord,
  at: string,
  retryAt: number,
  error: JsonObject,
): Mutation {
  return {
    patch: { nextAttemptAt: retryAt, lastError: error, pendingTurn: true, updatedAt: at },
    events: [],
  };
}

export function messageAdded(task: TaskRecord, message: NewMessage, at: string): Mutation {
  return {
    patch: { updatedAt: at },
    messages: [message],
    events: [messageEvent(task.status, message)],
  };
}

export function artifactAdded(task: TaskRecord, artifact: NewArtifact, at: string): Mutation {
  return {
    patch: { updatedAt: at },
    artifacts: [artifact],
    events: [
      event('NEW_ARTIFACT', task.status, `New artifact: ${artifact.name}`, {
        artifact: toWireArtifact(artifact) as unknown as JsonObject,
        createdAt: artifact.createdAt,
      }),
    ],
  };
}

export function paused(
  task: TaskRecord,
  at: string,
  reason: string,
  requiredInput: JsonValue,
  prompt?: NewMessage,
): Mutation {
  const events = move(
    task,
    'INPUT_REQUIRED',
    at,
    {
      type: 'TASK_PAUSED',
      message: 'The agent needs input to continue',
      data: { pausedAt: at, reason, requiredInput },
    },
    reason,
  );
  return {
    patch: { status: 'INPUT_REQUIRED', pausedAt: at, pendingTurn: false, updatedAt: at },
    messages: prompt ? [prompt] : [],
    events: prompt ? [messageEvent('INPUT_REQUIRED', prompt), ...events] : events,
  };
}

export function resumed(task: TaskRecord, input: NewMessage, at: string): Mutation {
  const events = move(task, 'WORKING', at, {
    type: 'TASK_RESUMED',
    message: 'Input received; the task continues',
    data: { resumedAt: at, pauseDuration: msBetween(task.pausedAt, at) },
  });
  return {
    patch: {
      status: 'WORKING',
      pausedAt: null,
      pendingTurn: true,
      attempt: 0,
      nextAttemptAt: null,
      updatedAt: at,
    },
    messages: [input],
    events: [messageEvent(task.status, input), ...events],
  };
}

export function completed(task: TaskRecord, at: string): Mutation {
  return {
    patch: { status: 'COMPLETED', completedAt: at, pendingTurn: false, updatedAt: at },
    events: move(task, 'COMPLETED', at, {
      type: 'TASK_COMPLETED',
      message: 'Task completed',
      data: {
        completedAt: at,
        duration: msBetween(task.startedAt ?? task.createdAt, at),
        artifactCount: task.artifactCount,
        messageCount: task.messageCount,
      },
    }),
  };
}

export interface TaskFailure {
  code: number;
  message: string;
  [key: string]: JsonValue;
}

/**
 * A task ending while no live lease holds it (its turn's process died, the lease lapsed): the
 * run that process left `running` ends with it, `interrupted`, or it would stay `running` for
 * good (only a later claim closes such runs). A task that never ran has none; one whose turn
 * ends it holds its lease, and ends its own run.
 */
function lostRunsEnded(task: TaskRecord, at: string): Pick<Mutation, 'run'> {
  const leased = task.leaseOwner !== undefined && (task.leaseUntil ?? 0) > Date.parse(at);
  return task.attempt === 0 || leased ? {} : { run: { interruptRunning: true } };
}

export function failed(task: TaskRecord, error: TaskFailure, at: string): Mutation {
  const patch: TaskPatch = {
    status: 'FAILED',
    failedAt: at,
    reason: error.message,
    error,
    pendingTurn: false,
    blocked: false,
    updatedAt: at,
  };
  return {
    patch,
    events: move(
      task,
      'FAILED',
      at,
      {
        type: 'TASK_FAILED',
        message: `Task failed: ${error.message}`,
        data: { failedAt: at, duration: msBetween(task.startedAt ?? task.createdAt, at), error },
      },
      error.message,
    ),
    ...lostRunsEnded(task, at),
  };
}

export function canceled(task: TaskRecord, at: string, reason: string, by: string): Mutation {
  return {
    patch: {
      status: 'CANCELED',
      canceledAt: at,
      reason,
      pendingTurn: false,
      blocked: false,
      updatedAt: at,
    },
    events: move(
      task,
      'CANCELED',
      at,
      {
        type: 'TASK_CANCELED',
        message: `Task canceled: ${reason}`,
        data: { canceledAt: at, canceledBy: by, reason },
      },
      reason,
    ),
    ...lostRunsEnded(task, at),
  };
}

/** What task.update may change; `metadata` merges (a null value removes its key). */
export interface TaskUpdate {
  priority?: TaskRecord['priority'];
  metadata?: JsonObject;
  settings?: TaskSettings;
  deadline?: string | null;
}

/** `base` with `changes` merged in (a null value removes the key); any key, `__proto__` too. */
function mergeObject(base: JsonObject | undefined, changes: JsonObject): JsonObject | null {
  // A Map, not assignment: `merged['__proto__'] = value` would set the prototype instead.
  const merged = new Map(Object.entries(base ?? {}));
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) merged.delete(key);
    else merged.set(key, value);
  }
  return merged.size > 0 ? (Object.fromEntries(merged) as JsonObject) : null;
}

/** task.update on a live task: the row changes and one TASK_UPDATED event lists what changed. */
export function updated(task: TaskRecord, update: TaskUpdate, at: string, by: string): Mutation {
  if (isTerminal(task.status)) {
    throw new InvalidTransitionError(
      task.taskId,
      task.status,
      task.status,
      `Task ${task.taskId} is ${task.status}; only live tasks can be updated`,
    );
  }
  const patch: TaskPatch = { updatedAt: at };
  if (update.priority !== undefined) patch.priority = update.priority;
  if (update.metadata !== undefined) patch.metadata = mergeObject(task.metadata, update.metadata);
  if (update.settings !== undefined) {
    patch.settings = mergeObject(
      task.settings as JsonObject | undefined,
      update.settings as JsonObject,
    );
  }
  if (update.deadline !== undefined) patch.deadline = update.deadline;
  return {
    patch,
    events: [
      event('TASK_UPDATED', task.status, `Task updated by ${by}`, {
        updatedAt: at,
        updatedBy: by,
        changes: update as JsonObject,
      }),
    ],
  };
}

/**
 * The deadline a task run again runs under: `deadline` when given (null: none), else its own,
 * which must not have passed (the run would fail at once, as the last one may have).
 */
function nextDeadline(task: TaskRecord, at: string, deadline: string | null | undefined) {
  if (deadline !== undefined) return deadline;
  if (task.deadline && task.deadline <= at) {
    throw new InvalidParamsError([
      {
        field: 'deadline',
        message: `the task's deadline ${task.deadline} has passed: give a new one, or null for none`,
      },
    ]);
  }
  return task.deadline ?? null;
}

/** A finished task queued again as a new run: outcome fields cleared, history kept. */
function restarted(
  task: TaskRecord,
  at: string,
  specific: { type: EventType; message: string; data: JsonObject },
  deadline: string | null | undefined,
  input?: NewMessage,
): Mutation {
  const blocked = (task.dependencies?.length ?? 0) > 0;
  return {
    patch: {
      deadline: nextDeadline(task, at, deadline),
      status: 'SUBMITTED',
      pendingTurn: !blocked,
      blocked,
      attempt: 0,
      nextAttemptAt: null,
      lastError: null,
      error: null,
      reason: null,
      failedAt: null,
      completedAt: null,
      canceledAt: null,
      pausedAt: null,
      progress: null, // the last run's, not this one's
      internalStatus: null,
      startedAt: null, // set when the new run starts (its checkpoints are those after it)
      updatedAt: at,
    },
    messages: input ? [input] : [],
    events: [
      ...(input ? [messageEvent('SUBMITTED', input)] : []),
      event(specific.type, 'SUBMITTED', specific.message, specific.data),
      statusChange(task, 'SUBMITTED', at, specific.message),
    ],
  };
}

/** The TASK_RETRIED event of a retry by `by`. */
function retriedEvent(at: string, by: string) {
  return {
    type: 'TASK_RETRIED' as const,
    message: `Retried by ${by}`,
    data: { retriedAt: at, retriedBy: by },
  };
}

/**
 * A child its multi-agent parent's retry runs again: FAILED or CANCELED (the parent failed
 * over either), queued again as a new run like task.retry's; others are left as they are.
 */
export function retriedInFamily(
  task: TaskRecord,
  at: string,
  by: string,
  deadline?: string | null,
): Mutation | null {
  if (task.status !== 'FAILED' && task.status !== 'CANCELED') return null;
  return restarted(task, at, retriedEvent(at, by), deadline);
}

/**
 * A multi-agent parent its children finished, working again: retried by `by` (its failed
 * children run again), or because its child `childTaskId` runs again. Outcome fields cleared,
 * history kept; a new run from now (startedAt); it settles again when they are all finished.
 */
export function reopened(
  task: TaskRecord,
  at: string,
  why: { by: string } | { childTaskId: string },
  deadline?: string | null,
): Mutation {
  const { message, data } =
    'by' in why
      ? retriedEvent(at, why.by)
      : {
          message: `Child task ${why.childTaskId} runs again`,
          data: { retriedAt: at, reopenedFor: why.childTaskId },
        };
  return {
    patch: {
      status: 'WORKING',
      deadline: nextDeadline(task, at, deadline),
      startedAt: at,
      failedAt: null,
      completedAt: null,
      error: null,
      reason: null,
      updatedAt: at,
    },
    events: [
      event('TASK_RETRIED', 'WORKING', message, data),
      statusChange(task, 'WORKING', at, message),
    ],
  };
}

/** task.retry: a FAILED task is queued again as a new run; its history stays. */
export function retried(
  task: TaskRecord,
  at: string,
  by: string,
  deadline?: string | null,
): Mutation {
  if (task.status !== 'FAILED') {
    throw new InvalidTransitionError(
      task.taskId,
      task.status,
      'SUBMITTED',
      `Only a FAILED task can be retried; task ${task.taskId} is ${task.status}`,
    );
  }
  return restarted(task, at, retriedEvent(at, by), deadline);
}

/** task.run: a finished task runs again with `input` as the new turn's message. */
export function rerun(
  task: TaskRecord,
  input: NewMessage,
  at: string,
  by: string,
  deadline?: string | null,
): Mutation {
  if (!isTerminal(task.status)) {
    throw new InvalidTransitionError(
      task.taskId,
      task.status,
      'SUBMITTED',
      `Only a finished task can be run again; task ${task.taskId} is ${task.status}`,
    );
  }
  const again = restarted(
    task,
    at,
    { type: 'TASK_RERUN', message: `Run again by ${by}`, data: { rerunAt: at, rerunBy: by } },
    deadline,
    input,
  );
  // The run's conversation begins at its own message, the one appended now.
  again.patch.runFrom = task.messageCount;
  return again;
}

/** Every dependency COMPLETED: the task owes its first turn. */
export function dependenciesMet(task: TaskRecord, at: string): Mutation | null {
  if (!task.blocked || task.status !== 'SUBMITTED') return null;
  return { patch: { blocked: false, pendingTurn: true, updatedAt: at }, events: [] };
}

const DEPENDENCY_FATE = { FAILED: 'failed', CANCELED: 'was canceled', DELETED: 'was deleted' };

/** A dependency FAILED, was CANCELED or was deleted: the waiting task fails, naming it. */
export function dependencyFailed(
  task: TaskRecord,
  dependency: { taskId: string; status: keyof typeof DEPENDENCY_FATE },
  at: string,
): Mutation | null {
  if (!task.blocked || task.status !== 'SUBMITTED') return null;
  return failed(
    task,
    {
      code: TASK_EXECUTION_FAILED,
      message: `dependency ${dependency.taskId} ${DEPENDENCY_FATE[dependency.status]}`,
      dependency: dependency.taskId,
      dependencyStatus: dependency.status,
    },
    at,
  );
}
