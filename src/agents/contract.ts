/**
 * The agent contract: what a developer writes to host an agent in arcd. A handler is called
 * once per turn with a TurnContext; it publishes messages, artifacts and requests for input
 * through the context (each stored as an event at once) and never sets a status itself:
 * returning completes the task, throwing fails it.
 */
import type { Artifact, JsonObject, JsonValue, Message, Part, Task } from '../types';
import type { InputFile } from '../parts/fileParts';

/** A message a handler sends; role defaults to `agent`, timestamp to now. */
export type OutgoingMessage = string | { role?: Message['role']; parts: Part[] };

export interface ArtifactInput {
  name: string;
  parts: Part[];
  description?: string;
  version?: string;
  metadata?: JsonObject;
}

export interface InputRequest {
  /** Why the agent stops (stored as the task's TASK_PAUSED reason). */
  reason?: string;
  /** What the agent expects back, machine-readable (e.g. a JSON Schema or field list). */
  requiredInput?: JsonValue;
}

/** A finished dependency as its dependent's handler sees it. */
export interface DependencyOutput {
  taskId: string;
  agent: string;
  status: Task['status'];
  artifacts: Artifact[];
}

export interface TurnContext {
  /** The task as stored when the turn began (without messages and artifacts). */
  readonly task: Task;
  /** Every message of the task so far, oldest first, including `input`. */
  readonly history: readonly Message[];
  /** The caller's messages this turn answers: all since the agent last spoke. */
  readonly input: readonly Message[];
  /**
   * Where this run's conversation begins in `history`: 0, or, for a task run again with
   * `task.run`, the message that run was given (the earlier runs' messages stay before it).
   * A handler that relays the conversation elsewhere starts from here.
   */
  readonly runStart: number;
  /**
   * Which attempt at this turn this is, from 1: a failed turn is retried when the task's
   * settings allow, and a turn interrupted by a crash or shutdown is started again.
   */
  readonly attempt: number;
  /** The id of this attempt's run (task.runs lists them). */
  readonly runId: string;
  /**
   * The data of the run's last checkpoint (unless settings.enableMemory is false and the agent
   * does not declare `needsCheckpoints`).
   */
  readonly lastCheckpoint?: JsonValue;
  /** Aborted when the task is canceled or the server shuts down: stop promptly. */
  readonly signal: AbortSignal;
  /**
   * The text of `input`: its text parts and the contents of its text-like files (text/*,
   * JSON, XML, YAML, CSV), in order, joined by newlines.
   */
  text(): string;
  /** The files of `input` (FilePart, ImagePart, AudioPart), decoded: name, mimeType, size, data. */
  files(): InputFile[];
  /** The images among `files()` (image parts, or files with an image/* type). */
  images(): InputFile[];
  /**
   * The tasks this one depended on (`dependencies` at task.create), in the order given, each
   * with its agent and the artifacts of its latest run (a dependency run again keeps its
   * earlier runs' in its history): how a step of a chain reads what the steps before it made.
   */
  dependencies(): Promise<DependencyOutput[]>;
  reply(message: OutgoingMessage): Promise<void>;
  addArtifact(artifact: ArtifactInput): Promise<Artifact>;
  /**
   * Ends the turn waiting for the caller (→ INPUT_REQUIRED, TASK_PAUSED); the prompt is stored
   * as an agent message. Return right after, without a value: further calls in this turn, or a
   * value returned, break the contract (the task fails).
   */
  requestInput(prompt: OutgoingMessage, request?: InputRequest): Promise<void>;
  /** Saves where the work stands, so a retried or resumed turn can continue from there. */
  checkpoint(data: JsonValue): Promise<void>;
  /** Adds to the usage of this run and of the task. */
  reportUsage(usage: { tokens?: number; cost?: number }): Promise<void>;
  /** A short free-text status task.info shows (≤ 255 characters), e.g. "page 3 of 10". */
  setStatus(text: string): Promise<void>;
  /** Progress as a fraction from 0 to 1, shown by task.info. */
  progress(fraction: number): Promise<void>;
}

export interface ChatContext {
  readonly chatId: string;
  readonly metadata?: JsonObject;
  /** Every message of the chat so far, oldest first, including `message`. */
  readonly history: readonly Message[];
  /** The caller's new message. */
  readonly message: Message;
  /**
   * Aborted when a streaming caller goes away or the server shuts down (a caller waiting for
   * the whole reply without streaming is not watched: its reply is still stored).
   */
  readonly signal: AbortSignal;
  /** The text parts of `message`, joined by newlines. */
  text(): string;
}

/** A chat reply: its text at once, or its text as it is produced (streamed to the caller). */
export type ChatReply = string | Promise<string> | AsyncIterable<string>;

/** A returned string or message is stored as the agent's final reply before completion. */
/** What a handler returns: a final reply, or nothing (undefined, null or ''). */
export type TurnResult = void | undefined | null | OutgoingMessage;

export interface AgentSkill {
  id: string;
  name: string;
  description?: string;
  tags?: string[];
  examples?: string[];
}

/** What an agent declares about its own capacity and time; config can override concurrency. */
export interface AgentLimits {
  /** Turns of this agent running at once (default: only the global limit). */
  concurrency?: number;
  /** Tasks waiting SUBMITTED for this agent beyond which task.create answers -41011. */
  maxQueued?: number;
  /** Default per-turn time limit, when a task's settings name none. */
  timeoutMs?: number;
}

/** The mark of a FinalError (a registered symbol: the same in every copy of this module). */
const FINAL_ERROR = Symbol.for('arcd.final-error');

/**
 * Thrown by a handler: its task fails now, whatever retries its settings allow. For a failure
 * no retry can mend (input it cannot use, a decision taken elsewhere); any other error is
 * retried as `settings.maxRetries` says.
 */
export class FinalError extends Error {
  /** Known by this mark, not by its class alone: an agent may load another copy of this module. */
  readonly [FINAL_ERROR] = true;

  constructor(message: string) {
    super(message);
    this.name = 'FinalError';
  }
}

/** Whether `error` is a FinalError, from whichever copy of this module it came. */
export function isFinalError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[FINAL_ERROR] === true
  );
}

/** Why a task ended without its handler running: `stopped`'s cause. */
/**
 * Why a task ended without its handler running: canceled, failed by its deadline, or failed
 * because the processes running its turn kept stopping (`--lost-turn-limit`).
 */
export type StopCause = 'canceled' | 'deadline' | 'lost';

export interface AgentDefinition {
  /** The routing key callers put in `targetAgent`: letters, digits, `.`, `_`, `-`. */
  id: string;
  name?: string;
  description: string;
  version?: string;
  skills?: AgentSkill[];
  limits?: AgentLimits;
  /**
   * The handler only computes: it answers from its context, calls no other service and
   * changes nothing outside arcd. A new task's first turn may then run while the task's create
   * is still committing (its writes commit after the create's, or fail with it). Callers are
   * still told nothing before it is stored, but the handler may have run for a task that then
   * failed to be stored, so leave this unset for any agent with effects of its own.
   */
  pure?: boolean;
  /**
   * The handler's checkpoints are its bookkeeping (a forwarding agent's remote task), not
   * memory of the conversation: `ctx.lastCheckpoint` is given even when the task's
   * `settings.enableMemory` is false.
   */
  needsCheckpoints?: boolean;
  /**
   * The `stopped` hook must reach the agent: it is told of an end its running turn heard by
   * its signal too (once that turn has ended), and a hook that throws is told again once its
   * hold on the end lapses (the turn lease, `--lease-ms`), for up to a day after the end. For
   * a hook whose work the signal may not have done: the remote agent cancels its remote task
   * on the signal, and again from the hook, so a remote down at the time still hears it.
   */
  stoppedAlways?: boolean;
  /**
   * Called when one of the agent's tasks is canceled or fails by its deadline while no turn of
   * it runs here (it waits for input, for a retry, in the queue), or fails because its turns
   * kept being lost with their process (`lost`: no handler runs for it again), with the run's last
   * checkpoint: a chance to let go of what the agent holds for it elsewhere. A running turn is
   * told by its signal instead (unless `stoppedAlways`). Errors are logged, and the hook is
   * not told again (unless `stoppedAlways`).
   */
  stopped?(
    task: Task,
    cause: StopCause,
    lastCheckpoint: JsonValue | undefined,
  ): Promise<void> | void;
  /** Answers chat.start / chat.message; an agent without it does not chat (-41002). */
  chat?(ctx: ChatContext): ChatReply;
  handle(ctx: TurnContext): Promise<TurnResult> | TurnResult;
}

/** Identity function that gives agent modules their types. */
export function defineAgent(definition: AgentDefinition): AgentDefinition {
  return definition;
}
