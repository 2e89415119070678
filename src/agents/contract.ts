/**
 * The agent contract: what a developer writes to host an agent in arcd. A handler is called
 * once per turn with a TurnContext; it publishes messages, artifacts and requests for input
 * through the context (each stored as an event at once) and never sets a status itself:
 * returning completes the task, throwing fails it.
 */
import type { Artifact, JsonObject, JsonValue, Message, Part, Task } from '../types';

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

export interface TurnContext {
  /** The task as stored when the turn began (without messages and artifacts). */
  readonly task: Task;
  /** Every message of the task so far, oldest first, including `input`. */
  readonly history: readonly Message[];
  /** The caller's messages this turn answers: all since the agent last spoke. */
  readonly input: readonly Message[];
  /** Which attempt at this turn this is, from 1 (a turn is retried only when its settings say so). */
  readonly attempt: number;
  /** Aborted when the task is canceled or the server shuts down: stop promptly. */
  readonly signal: AbortSignal;
  /** The text parts of `input`, joined by newlines. */
  text(): string;
  reply(message: OutgoingMessage): Promise<void>;
  addArtifact(artifact: ArtifactInput): Promise<Artifact>;
  /**
   * Ends the turn waiting for the caller (→ INPUT_REQUIRED, TASK_PAUSED); the prompt is stored
   * as an agent message. Return right after: further calls in this turn are refused.
   */
  requestInput(prompt: OutgoingMessage, request?: InputRequest): Promise<void>;
}

/** A returned string or message is stored as the agent's final reply before completion. */
export type TurnResult = void | undefined | OutgoingMessage;

export interface AgentSkill {
  id: string;
  name: string;
  description?: string;
  tags?: string[];
  examples?: string[];
}

export interface AgentDefinition {
  /** The routing key callers put in `targetAgent`: letters, digits, `.`, `_`, `-`. */
  id: string;
  name?: string;
  description: string;
  version?: string;
  skills?: AgentSkill[];
  handle(ctx: TurnContext): Promise<TurnResult> | TurnResult;
}

/** Identity function that gives agent modules their types. */
export function defineAgent(definition: AgentDefinition): AgentDefinition {
  return definition;
}
