/**
 * The client's typed errors: one class per ARC error code, each carrying `code` and the
 * server's `details`; `toArcClientError` picks the class for a code (unknown codes get the
 * base class). Transport failures are ArcTransportError.
 */

export class ArcClientError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ArcTransportError extends Error {
  /** The HTTP status of an answer that was no ARC answer (an error page): the server was reached. */
  readonly status?: number;

  constructor(message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = 'ArcTransportError';
    if (options?.status !== undefined) this.status = options.status;
  }
}

export class ParseError extends ArcClientError {}
export class InvalidRequestError extends ArcClientError {}
export class MethodNotFoundError extends ArcClientError {}
export class InvalidParamsError extends ArcClientError {}
export class InternalError extends ArcClientError {}
export class AgentNotFoundError extends ArcClientError {}
export class AgentNotAvailableError extends ArcClientError {}
export class AgentTimeoutError extends ArcClientError {}
export class AgentCapacityExceededError extends ArcClientError {}
export class TaskNotFoundError extends ArcClientError {}
export class TaskAlreadyCompletedError extends ArcClientError {}
export class TaskAlreadyCanceledError extends ArcClientError {}
export class TaskExecutionError extends ArcClientError {}
export class TaskTimeoutError extends ArcClientError {}
export class InvalidTaskTransitionError extends ArcClientError {}
export class TaskPriorityInvalidError extends ArcClientError {}
export class TaskDeadlineExceededError extends ArcClientError {}
export class ChatNotFoundError extends ArcClientError {}
export class ChatClosedError extends ArcClientError {}
export class InvalidChatMessageError extends ArcClientError {}
export class AuthenticationError extends ArcClientError {}
export class AuthorizationError extends ArcClientError {}
export class InsufficientScopeError extends ArcClientError {}
export class TokenExpiredError extends ArcClientError {}
export class RateLimitError extends ArcClientError {}
export class InvalidVersionError extends ArcClientError {}
export class MessageTooLargeError extends ArcClientError {}

type ErrorClass = new (
  message: string,
  code: number,
  details?: Record<string, unknown>,
) => ArcClientError;

const BY_CODE: Record<number, ErrorClass> = {
  [-32700]: ParseError,
  [-32600]: InvalidRequestError,
  [-32601]: MethodNotFoundError,
  [-32602]: InvalidParamsError,
  [-32603]: InternalError,
  [-41001]: AgentNotFoundError,
  [-41002]: AgentNotAvailableError,
  [-41006]: AgentTimeoutError,
  [-41011]: AgentCapacityExceededError,
  [-42001]: TaskNotFoundError,
  [-42002]: TaskAlreadyCompletedError,
  [-42003]: TaskAlreadyCanceledError,
  [-42004]: TaskExecutionError,
  [-42005]: TaskTimeoutError,
  [-42006]: InvalidTaskTransitionError,
  [-42010]: TaskPriorityInvalidError,
  [-42011]: TaskDeadlineExceededError,
  [-43001]: ChatNotFoundError,
  [-43002]: ChatClosedError,
  [-43005]: InvalidChatMessageError,
  [-44001]: AuthenticationError,
  [-44002]: AuthorizationError,
  [-44003]: InsufficientScopeError,
  [-44004]: TokenExpiredError,
  [-44007]: RateLimitError,
  [-45001]: InvalidVersionError,
  [-45004]: MessageTooLargeError,
};

export function toArcClientError(error: {
  code: number;
  message: string;
  details?: Record<string, unknown> | null;
}): ArcClientError {
  const Class = BY_CODE[error.code] ?? ArcClientError;
  return new Class(error.message, error.code, error.details ?? {});
}
