/**
 * The one table of ARC errors: each class knows its code, its default message and the
 * `details` keys real clients dereference. Methods throw these; only rpc/ serializes them.
 * Nothing here may put a stack or an internal message on the wire.
 */
import { PRIORITIES } from '../types';

export type ErrorDetails = Record<string, unknown>;

export class ArcError extends Error {
  readonly code: number;
  readonly details: ErrorDetails;

  constructor(code: number, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class ParseError extends ArcError {
  constructor(reason: string) {
    super(-32700, 'Parse error: the body is not valid JSON', { reason });
  }
}

export class InvalidRequestError extends ArcError {
  constructor(message: string, details: ErrorDetails = {}) {
    super(-32600, message, details);
  }
}

export class MethodNotFoundError extends ArcError {
  constructor(method: string, supportedMethods: string[]) {
    super(-32601, `Method not found: ${method}`, { method, supportedMethods });
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class InvalidParamsError extends ArcError {
  constructor(errors: FieldProblem[]) {
    const first = errors[0];
    const summary = first ? `${first.field || 'params'} ${first.message}` : 'invalid params';
    super(-32602, `Invalid params: ${summary}`, { errors });
  }
}

/** ARC's "task priority invalid": params whose only problem is `priority`. */
export class TaskPriorityInvalidError extends ArcError {
  constructor(errors: FieldProblem[]) {
    super(-42010, `Invalid task priority: must be one of ${PRIORITIES.join(', ')}`, {
      errors,
      supportedPriorities: [...PRIORITIES],
    });
  }
}

/** Params that fail their schema: -42010 when `priority` alone is wrong, else -32602. */
export function paramsError(errors: FieldProblem[]): ArcError {
  // task.list takes a list of priorities too: `priority.0` is one of them.
  const isPriority = ({ field }: FieldProblem) =>
    field === 'priority' || field.startsWith('priority.');
  return errors.every(isPriority)
    ? new TaskPriorityInvalidError(errors)
    : new InvalidParamsError(errors);
}

export class InternalError extends ArcError {
  /** `outcomeUnknown`: the call's change may or may not have been stored (check before redoing it). */
  constructor(errorId: string, outcomeUnknown = false) {
    super(
      -32603,
      outcomeUnknown
        ? `Internal error (error id ${errorId}): the change may or may not have been stored`
        : `Internal error (error id ${errorId})`,
      outcomeUnknown ? { errorId, stored: 'unknown' } : { errorId },
    );
  }
}

export class AgentNotFoundError extends ArcError {
  constructor(agentId: string, availableAgents: string[]) {
    super(-41001, `Agent not found: ${agentId}`, { agentId, availableAgents });
  }
}

export class AgentNotAvailableError extends ArcError {
  constructor(agentId: string, reason: string) {
    super(-41002, `Agent not available: ${agentId} (${reason})`, { agentId, reason });
  }
}

/** A chat reply not finished within the agent's declared `limits.timeoutMs`. */
export class AgentTimeoutError extends ArcError {
  constructor(agentId: string, timeoutMs: number) {
    super(-41006, `Agent timeout: ${agentId} did not reply within ${timeoutMs} ms`, {
      agentId,
      timeoutMs,
    });
  }
}

export class AgentCapacityExceededError extends ArcError {
  constructor(agentId: string, maxQueued: number) {
    super(-41011, `Agent capacity exceeded: ${agentId} has ${maxQueued} tasks waiting`, {
      agentId,
      maxQueued,
    });
  }
}

export class TaskNotFoundError extends ArcError {
  constructor(taskId: string) {
    super(-42001, `Task not found: ${taskId}`, { taskId });
  }
}

export class TaskAlreadyCompletedError extends ArcError {
  constructor(taskId: string) {
    super(-42002, `Task already completed: ${taskId}`, { taskId, status: 'COMPLETED' });
  }
}

export class TaskAlreadyCanceledError extends ArcError {
  constructor(taskId: string) {
    super(-42003, `Task already canceled: ${taskId}`, { taskId, status: 'CANCELED' });
  }
}

export class TaskExecutionError extends ArcError {
  constructor(taskId: string, message: string) {
    super(-42004, message, { taskId });
  }
}

export class InvalidTransitionError extends ArcError {
  constructor(taskId: string, from: string, to: string, message?: string) {
    super(-42006, message ?? `Invalid task status transition: ${from} → ${to}`, {
      taskId,
      currentStatus: from,
      requestedStatus: to,
    });
  }
}

/**
 * task.delete of a finished task that an unfinished task depends on; task.run or task.retry
 * of one whose completion released tasks not yet finished (they would see it run again).
 */
export class TaskStillNeededError extends ArcError {
  constructor(taskId: string, waitingDependents: string[], doing = 'deleted') {
    super(
      -42006,
      `Task ${taskId} is a dependency of tasks still waiting on it: it cannot be ${doing}`,
      { taskId, waitingDependents },
    );
  }
}

/** task.delete of a finished task whose subscribers are still owed webhook deliveries. */
export class DeliveriesOwedError extends ArcError {
  constructor(taskId: string, pendingDeliveries: number) {
    super(
      -42006,
      `Task ${taskId} still owes ${pendingDeliveries} webhook deliveries to its subscribers (delete with force: true to drop them)`,
      { taskId, pendingDeliveries },
    );
  }
}

/**
 * task.delete of a task canceled (or past its deadline) whose agent has not yet been told by
 * its `stopped` hook: deleted now, the hook would never be told (a remote task left running).
 */
export class StopOwedError extends ArcError {
  constructor(taskId: string) {
    super(
      -42006,
      `Task ${taskId} ended and its agent has not been told yet (its stopped hook, told by a process hosting the agent): try again once it is, or delete with force: true to skip telling it`,
      { taskId, stopOwed: true },
    );
  }
}

/** task.delete of one child of a multi-agent task: the family goes together, by its parent. */
export class TaskInFamilyError extends ArcError {
  constructor(taskId: string, parentTaskId: string) {
    super(
      -42006,
      `Task ${taskId} belongs to multi-agent task ${parentTaskId}: delete that one to remove them together`,
      { taskId, parentTaskId },
    );
  }
}

export class InvalidVersionError extends ArcError {
  constructor(received: unknown) {
    super(-45001, 'Invalid ARC version: this server speaks ARC 1.0', {
      supportedVersion: '1.0',
      // Told back as a version is (a short string), not whatever was sent in its place.
      receivedVersion:
        typeof received === 'string' ? received.slice(0, 64) : `(${jsonType(received)})`,
    });
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

export class MessageTooLargeError extends ArcError {
  constructor(limitBytes: number) {
    super(-45004, `Message too large: the limit is ${limitBytes} bytes`, { limitBytes });
  }
}

/** task.info of a task whose messages and artifacts together pass `--max-history-bytes`. */
export class HistoryTooLargeError extends ArcError {
  constructor(taskId: string, limitBytes: number) {
    super(
      -45004,
      `Task ${taskId}'s history is larger than one answer may be (${limitBytes} bytes): ask task.info with includeMessages: false or includeArtifacts: false, and read its events a page at a time (task.events)`,
      { taskId, limitBytes },
    );
  }
}

/** A part or a message over its configured size limit (the same code as an oversize body). */
export class PartTooLargeError extends ArcError {
  constructor(field: string, sizeBytes: number, limitBytes: number, what: 'part' | 'message') {
    super(
      -45004,
      `${what === 'part' ? 'Part' : 'Message'} too large: ${sizeBytes} bytes, the limit is ${limitBytes}`,
      {
        field,
        sizeBytes,
        limitBytes,
      },
    );
  }
}

export function isArcError(value: unknown): value is ArcError {
  return value instanceof ArcError;
}

export class AuthenticationError extends ArcError {
  constructor(reason: string) {
    super(-44001, `Authentication failed: ${reason}`, { reason });
  }
}

export class AuthorizationError extends ArcError {
  constructor(reason: string, details: ErrorDetails = {}) {
    super(-44002, `Authorization failed: ${reason}`, details);
  }
}

export class InsufficientScopeError extends ArcError {
  constructor(required: string[], provided: string[]) {
    super(-44003, `Insufficient scope: needs ${required.join(' ')}`, {
      required_scopes: required,
      provided_scopes: provided,
    });
  }
}

export class TokenExpiredError extends ArcError {
  constructor() {
    super(-44004, 'Token expired', { reason: 'the token has expired' });
  }
}

export class RateLimitError extends ArcError {
  constructor(limit: number, windowMs: number, retryAfterSeconds: number) {
    super(-44007, 'Rate limit exceeded', { limit, windowMs, retryAfterSeconds });
  }
}

export class ChatNotFoundError extends ArcError {
  constructor(chatId: string) {
    super(-43001, `Chat not found: ${chatId}`, { chatId });
  }
}

export class ChatClosedError extends ArcError {
  constructor(chatId: string) {
    super(-43002, `Chat already closed: ${chatId}`, { chatId, status: 'CLOSED' });
  }
}

export class InvalidChatMessageError extends ArcError {
  constructor(chatId: string | null, message: string) {
    super(-43005, message, { chatId });
  }
}
