/**
 * Builds the TurnContext a handler receives, from what is stored (so a turn after a restart
 * sees exactly what a turn before it would have). Each ctx call is validated against the ARC
 * schemas and stored as one event at once, but only while this turn still holds the task.
 */
import {
  type ArtifactInput,
  isFinalError,
  type InputRequest,
  type OutgoingMessage,
  type TurnContext,
} from '../agents/contract';
import type { Artifact, JsonObject, JsonValue, Message, Part, Role } from '../types';
import type { MessageRecord, Mutation, RunOutcome, RunWrites, TaskRecord } from '../store/records';
import type { Store } from '../store/store';
import type { RunEnd } from '../store/runRows';
import type { SchemaRegistry } from '../rpc/schemas';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import * as changes from '../tasks/changes';
import { toWireArtifact, toWireMessage, toWireTask } from '../tasks/toWire';
import { filesOf, readableText } from '../parts/fileParts';
import type { TurnStop } from './stopReason';
import { latestArtifacts } from './latestArtifacts';
import { withSpecTypeNames } from '../parts/partTypeNames';
import { type PartLimits, checkMessageParts } from '../parts/checkParts';

/** The handler broke the agent contract (bad message, call after the turn ended, …). */
export class ContractError extends Error {}

/**
 * Whether a handler's failure is never retried, whatever retries are left: a broken contract
 * (the handler would break it again, replies and all) or a FinalError (the handler says no
 * retry can help).
 */
export function neverRetried(error: unknown): boolean {
  return error instanceof ContractError || isFinalError(error);
}

/** The turn no longer holds its task (canceled, or its lease passed to another process). */
export class TurnEndedError extends Error {}

export interface TurnState {
  /** Set once the handler asked for input: the turn ends without completing the task. */
  paused: boolean;
  /** Set when the handler returned or threw: later ctx calls are contract breaches. */
  finished: boolean;
  /** The task as this turn's last write left it (as the turn began, before any): no re-read. */
  latest: TaskRecord;
}

export interface TurnDeps {
  store: Store;
  schemas: SchemaRegistry;
  clock: Clock;
  owner: string;
  /** The limits a caller's parts are held to, an agent's too (none: not checked). */
  partLimits?: PartLimits;
}

/**
 * An agent's parts, held to the rules a caller's are (size limits, files that decode and are
 * what they say): else the agent broke the contract, and is told which rule.
 */
function checkAgentParts(deps: TurnDeps, what: string, parts: Part[]): void {
  if (!deps.partLimits) return;
  try {
    checkMessageParts({ role: 'agent', parts }, what, deps.partLimits);
  } catch (error) {
    const problems = (error as { details?: { errors?: Array<{ field: string; message: string }> } })
      .details?.errors;
    const why = problems?.length
      ? problems.map((p) => `${p.field} ${p.message}`).join('; ')
      : (error as Error).message;
    throw new ContractError(`invalid ${what} from agent: ${why}`);
  }
}

/**
 * The message limit (`--max-message-bytes`) when `text` takes more bytes than it, else
 * undefined. A text of at most a third of it in characters cannot (3 bytes a character at most
 * in UTF-8): its bytes are not counted.
 */
function passedMessageLimit(deps: TurnDeps, text: string): number | undefined {
  const limit = deps.partLimits?.maxMessageBytes;
  if (limit === undefined || text.length <= limit / 3) return undefined;
  return Buffer.byteLength(text) > limit ? limit : undefined;
}

/** The longest reason an agent may give for asking (as a caller's cancel reason). */
export const MAX_REASON_CHARS = 4096;
/** A prompt standing in for its reason is cut to this many characters. */
const DEFAULT_REASON_CHARS = 255;

function shortened(text: string): string {
  return text.length <= DEFAULT_REASON_CHARS ? text : `${text.slice(0, DEFAULT_REASON_CHARS - 1)}…`;
}

const isTextPart = (part: Part) => part.type === 'TextPart' || part.type === 'text';

/**
 * Whether `agentId` wrote the message: its replies and the system notes it wrote, which carry
 * its id (a caller's agent or system message carries the caller's: toMessageRecord). An agent
 * message with no id at all was stored before ids were stamped: the agent's.
 */
export function isOwnMessage(m: Message, agentId: string): boolean {
  return (
    m.role !== 'user' && (m.agentId === agentId || (m.role === 'agent' && m.agentId === undefined))
  );
}

/**
 * The `agentId` a caller's message is stored with: the caller's (`caller`) for one it sends as
 * `agent` or `system`, whatever id it named, so that it never passes for the agent's own
 * (isOwnMessage); a `user` message keeps the one it named, if any.
 */
export function callerAgentId(message: Message, caller: string): string | undefined {
  return message.role === 'user' ? message.agentId : caller;
}

/**
 * The turn's input: the caller's last messages, those after the agent last spoke before them
 * (the whole history on a first turn). The agent's own messages after them (replies of an
 * attempt that failed or was cut short) do not hide them: every attempt at a turn, a retry or
 * a run after a restart, sees the input its first attempt saw.
 */
export function turnInput(history: readonly Message[], agentId: string): Message[] {
  const own = (m: Message) => isOwnMessage(m, agentId);
  let end = history.length;
  while (end > 0 && own(history[end - 1]!)) end -= 1;
  let start = end;
  while (start > 0 && !own(history[start - 1]!)) start -= 1;
  return history.slice(start, end);
}

export function textOf(messages: readonly Message[]): string {
  return messages
    .flatMap((m) => m.parts.filter(isTextPart).map((p) => String(p.content)))
    .join('\n');
}

export function toAgentMessage(
  deps: TurnDeps,
  agentId: string,
  outgoing: OutgoingMessage,
): Omit<MessageRecord, 'seq'> {
  const draft =
    typeof outgoing === 'string'
      ? { role: 'agent' as Role, parts: [{ type: 'TextPart', content: outgoing }] }
      : { role: outgoing?.role ?? ('agent' as Role), parts: outgoing?.parts };
  const problems = deps.schemas.check('arc:objects/message', draft);
  if (problems.length > 0) {
    const first = problems[0];
    throw new ContractError(`invalid message from agent: ${first?.field} ${first?.message}`);
  }
  if (draft.role === 'user') {
    // The next turn would take it for the caller's input.
    throw new ContractError('invalid message from agent: an agent speaks as "agent" or "system"');
  }
  checkAgentParts(deps, 'message', draft.parts as Part[]);
  return {
    messageId: newId('msg'),
    role: draft.role,
    parts: withSpecTypeNames(draft.parts as Part[]),
    agentId,
    timestamp: isoNow(deps.clock),
  };
}

/** A run's end at `at`: its duration counts from `startedAt` (never below 0, a clock stepped back). */
export function runEndFrom(
  startedAt: Date,
  at: string,
  outcome: RunOutcome,
  error?: JsonObject,
): RunEnd {
  const durationMs = Math.max(0, Date.parse(at) - startedAt.getTime());
  const end: RunEnd = { completedAt: at, durationMs, outcome };
  if (error) end.error = error;
  return end;
}

/** A run's end as a change carries it (with its run's id), made at `at`. */
export function runEndAt(
  run: Pick<TurnAttempt, 'runId' | 'startedAt'>,
  at: string,
  outcome: RunOutcome,
  error?: JsonObject,
): NonNullable<RunWrites['end']> {
  return { runId: run.runId, ...runEndFrom(run.startedAt, at, outcome, error) };
}

/** `mutation` (a plan made just now) with its run's end, written in its transaction. */
export function withRunEnd(mutation: Mutation, end: NonNullable<RunWrites['end']>): Mutation {
  mutation.run = Object.assign(mutation.run ?? {}, { end });
  return mutation;
}

export interface TurnAttempt {
  attempt: number;
  runId: string;
  /** When the run began (its duration counts from then). */
  startedAt: Date;
  lastCheckpoint?: JsonValue;
}

/**
 * The context a turn's handler gets, given the task's messages (the caller reads them, or
 * already has them for a task just created here): made without an await, so a turn that
 * needs no read starts its handler in the same tick.
 */
export function createTurnContext(
  deps: TurnDeps,
  task: TaskRecord,
  stop: TurnStop,
  state: TurnState,
  run: TurnAttempt,
  messages: readonly MessageRecord[],
): TurnContext {
  const history = messages.map(toWireMessage);
  const agentId = task.assignedAgent;
  const input = turnInput(history, agentId);

  const assertOpen = () => {
    if (state.finished) throw new ContractError('the turn has ended: its context is closed');
    if (state.paused) throw new ContractError('the turn asked for input: it must return now');
    if (stop.reason) throw new TurnEndedError('the turn was aborted');
  };

  /**
   * A turn's own record written (usage, a checkpoint, status): only while this process's lease
   * holds the task WORKING, as every change of the task (a turn taken over or stopped
   * elsewhere, not yet told by the heartbeat, writes nothing more).
   */
  const held = (written: boolean) => {
    if (!written) throw new TurnEndedError('the task is no longer held by this turn');
  };

  /** Applies a change only while this turn still holds a live task. */
  const write = async (plan: (current: TaskRecord, at: string) => Mutation) => {
    assertOpen();
    const at = isoNow(deps.clock);
    const applied = await deps.store.mutateTask(
      task.taskId,
      (current) => {
        if (current.leaseOwner !== deps.owner || current.status !== 'WORKING') {
          throw new TurnEndedError('the task is no longer held by this turn');
        }
        return plan(current, at);
      },
      state.latest,
    );
    if (!applied) throw new TurnEndedError('the task no longer exists');
    state.latest = applied.task;
  };

  const context: { -readonly [K in keyof TurnContext]: TurnContext[K] } = {
    task: toWireTask(task),
    history,
    runStart: task.runFrom ?? 0,
    input,
    attempt: run.attempt,
    runId: run.runId,
    get signal() {
      return stop.signal;
    },
    text: () => readableText(input),
    files: () => filesOf(input),
    images: () =>
      filesOf(input).filter(
        (file) =>
          file.partType === 'ImagePart' ||
          file.partType === 'image' ||
          file.mimeType.toLowerCase().startsWith('image/'), // media types ignore case
      ),
    async dependencies() {
      const outputs = [];
      for (const dependencyId of task.dependencies ?? []) {
        const dependency = await deps.store.getTask(dependencyId);
        if (!dependency) continue; // deleted since it completed
        const artifacts = await latestArtifacts(deps.store, dependency);
        outputs.push({
          taskId: dependencyId,
          agent: dependency.assignedAgent,
          status: dependency.status,
          artifacts: artifacts.map(toWireArtifact),
        });
      }
      return outputs;
    },
    async reply(outgoing) {
      const message = toAgentMessage(deps, agentId, outgoing);
      await write((current, at) => changes.messageAdded(current, message, at));
    },
    async addArtifact(artifactInput: ArtifactInput): Promise<Artifact> {
      const problems = deps.schemas.check('arc:objects/artifact', artifactInput);
      if (problems.length > 0) {
        const first = problems[0];
        throw new ContractError(`invalid artifact from agent: ${first?.field} ${first?.message}`);
      }
      checkAgentParts(deps, 'artifact', artifactInput.parts as Part[]);
      // Its words about itself are held to the message limit too (the parts are, above).
      const about = JSON.stringify([artifactInput.description ?? '', artifactInput.metadata ?? {}]);
      const limit = passedMessageLimit(deps, about);
      if (limit !== undefined) {
        throw new ContractError(
          `invalid artifact from agent: its description and metadata pass the message limit (${limit} bytes)`,
        );
      }
      // The agent's own object (any keys its schema allows): copied as a spread copies it.
      // eslint-disable-next-line no-restricted-syntax -- the agent's object, see src/extended.ts
      const artifact = {
        ...artifactInput,
        parts: withSpecTypeNames(artifactInput.parts),
        artifactId: newId('art'),
        createdBy: agentId,
        createdAt: isoNow(deps.clock),
      };
      await write((current, at) => changes.artifactAdded(current, artifact, at));
      return toWireArtifact(artifact);
    },
    async requestInput(prompt: OutgoingMessage, request: InputRequest = {}) {
      const message = toAgentMessage(deps, agentId, prompt);
      if (
        request.reason !== undefined &&
        (typeof request.reason !== 'string' || request.reason.length > MAX_REASON_CHARS)
      ) {
        throw new ContractError(
          `an input request's reason is text of at most ${MAX_REASON_CHARS} characters`,
        );
      }
      // By default the prompt's opening words: the whole prompt is its message already.
      const reason = request.reason ?? (shortened(textOf([message])) || 'input required');
      // The run ends with the pause, in its transaction: a process dying after the pause left
      // the run `running` while the task waited (nothing claims a task waiting for input).
      // A stop or a failure of the handler after this ends it again (RunRows.end).
      await write((current, at) =>
        withRunEnd(
          changes.paused(current, at, reason, request.requiredInput ?? null, message),
          runEndAt(run, at, 'input-required'),
        ),
      );
      state.paused = true;
    },
    async checkpoint(data: JsonValue) {
      assertOpen();
      let text: string | undefined;
      try {
        text = JSON.stringify(data); // a BigInt or a cycle: the agent's to hear of
      } catch (error) {
        throw new ContractError(`a checkpoint must be JSON: ${(error as Error).message}`);
      }
      // undefined, a function, a symbol: JSON.stringify writes nothing for them.
      if (text === undefined) throw new ContractError('a checkpoint needs JSON data');
      const limit = passedMessageLimit(deps, text);
      if (limit !== undefined) {
        throw new ContractError(`a checkpoint passes the message limit (${limit} bytes)`);
      }
      held(
        await deps.store.saveCheckpoint(
          task.taskId,
          run.runId,
          data,
          isoNow(deps.clock),
          deps.owner,
        ),
      );
    },
    async reportUsage(usage: { tokens?: number; cost?: number }) {
      assertOpen();
      const tokens = usage.tokens ?? 0;
      const cost = usage.cost ?? 0;
      if (!Number.isInteger(tokens) || tokens < 0 || !Number.isFinite(cost) || cost < 0) {
        throw new ContractError('usage must be a whole number of tokens and a cost, both ≥ 0');
      }
      held(await deps.store.addUsage(task.taskId, run.runId, tokens, cost, deps.owner));
    },
    async setStatus(text: string) {
      assertOpen();
      if (typeof text !== 'string' || text.length > 255) {
        throw new ContractError('a status is a string of at most 255 characters');
      }
      held(await deps.store.setProgress(task.taskId, { internalStatus: text }, deps.owner));
    },
    async progress(fraction: number) {
      assertOpen();
      if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
        throw new ContractError('progress is a number from 0 to 1');
      }
      held(await deps.store.setProgress(task.taskId, { progress: fraction }, deps.owner));
    },
  };
  // Set afterwards rather than spread into the literal above: V8 would then add the getter
  // and every method after the spread one at a time, every turn.
  if (run.lastCheckpoint !== undefined) context.lastCheckpoint = run.lastCheckpoint;
  return context;
}
