/**
 * A hosted agent that is really another arcd (ARC endpoint): each turn forwards to the remote
 * task (created on the first turn, sent the caller's answers when it asks) and mirrors the remote
 * task's events into the local task as they stream in — replies, artifacts, requests for input,
 * completion, failure. Where the work stands is checkpointed (the remote task, the last event
 * mirrored, the caller's messages passed on), so a turn run again after a crash or a shutdown
 * resumes the same remote task; a task created whose answer was lost is found again by the key
 * it was created with. The remote task is canceled when the local one is canceled or fails by
 * its deadline (while a turn runs, or not: `stopped`), or its turn times out; a retry after a
 * failure or a timeout starts another.
 */
import { ArcClient, type TaskEvent } from '../client/arcClient';
import { ArcClientError, ArcTransportError } from '../client/errors';
import { newId } from '../ids';
import {
  MAX_REASON_CHARS,
  TurnEndedError,
  isOwnMessage,
  neverRetried,
} from '../engine/turnContext';
import { isTerminal } from '../tasks/states';
import {
  type Artifact,
  type JsonObject,
  type JsonValue,
  type Message,
  type Part,
  TASK_STATUSES,
  type Task,
  type TaskStatus,
} from '../types';
import { type AgentDefinition, FinalError, type StopCause, type TurnContext } from './contract';
import { isAgentId } from './registry';

export interface RemoteAgentOptions {
  /** The local id callers use as targetAgent. */
  id: string;
  /** The remote server's base URL (its ARC route is `<endpoint>/arc`). */
  endpoint: string;
  /** The agent id on the remote server (default: the same id). */
  remoteAgent?: string;
  token?: string;
  /** The requestAgent this server uses towards the remote one. */
  requestAgent?: string;
  description?: string;
}

/** The remote's request for input, kept until the local task has asked it too. */
interface Asked {
  parts: Part[];
  reason?: string;
  requiredInput?: JsonValue;
  /** How many local messages there were before the prompt: more once it is stored here. */
  before: number;
}

interface Progress {
  /** The remote task's metadata.forwardKey: finds it again if its create's answer was lost. */
  key: string;
  remoteTaskId?: string;
  /** The last remote event mirrored here. */
  lastSeq: number;
  /** The local caller messages passed on (at least once), by place in the task's history. */
  sent: number[];
  /**
   * The caller message a send was under way for (saved before the send): a turn stopped
   * before it could save the send's outcome leaves it, and the next asks the remote task how
   * many caller messages it holds instead of sending it again (as the answer to its next
   * question, it would be taken for what it is not).
   */
  sending?: number;
  /**
   * The remote task's requests for input mirrored so far: the k-th is answered by the caller's
   * (k+1)-th message (the first went with the create), passed on already if `sent` has it.
   */
  pauses: number;
  asked?: Asked;
  /** The remote task failed or was canceled, and that was mirrored: a retry starts another. */
  ended?: true;
}

/** Why the turn was stopped → the remote task's cancel reason; others (shutdown) keep it. */
const CANCEL_REASONS: Record<string, string> = {
  canceled: 'canceled upstream: the task was canceled',
  deadline: 'canceled upstream: deadline exceeded',
  lost: 'canceled upstream: the forwarding task failed, its turns lost too often',
  timeout: 'canceled upstream: the forwarding turn timed out',
};
/** A cancel's refusals that say the remote task has nothing left to cancel. */
const ENDED_CODES = new Set([-42001, -42002, -42003, -42006]);
/** Tries of a remote task's cancel that meets a network failure: over ~10 s (0.5, 2, 8 s apart). */
const CANCEL_TRIES = 4;
/** The cancel reason of a remote task whose forwarding turn failed here (see `forward`). */
const FAILED_HERE = 'canceled upstream: the forwarding turn failed';
/**
 * Cancels of this server's met again by a later turn, which then starts a new remote task: a
 * timed-out attempt's (its retry comes after it), and the bare 'canceled upstream' an earlier
 * version gave every stop, shutdown included. A cancel for the task's own cancel or deadline
 * is final (another process may meet it before it hears of the stop).
 */
const RESTARTING = new Set([CANCEL_REASONS.timeout, FAILED_HERE, 'canceled upstream']);

/** The remote task failed or was canceled on its side, and that was mirrored. */
class RemoteTaskEnded extends Error {}
/** Canceled on its side (not by this server for a timed-out attempt): final, never retried
 * here with a new remote task, which would undo the cancel. */
class RemoteTaskCanceled extends FinalError {}
/** task.info asked only where the remote task stands: its history may be large, and is not read. */
const STATUS_ONLY = { includeMessages: false, includeArtifacts: false };

/** Progress saved by this turn's run, as this version or the one before (a `forwarded` count). */
function savedProgress(ctx: TurnContext): Progress | undefined {
  const saved = ctx.lastCheckpoint as (Partial<Progress> & { forwarded?: number }) | undefined;
  if (!saved || typeof saved !== 'object' || saved.ended) return undefined;
  if (typeof saved.remoteTaskId !== 'string' && typeof saved.key !== 'string') return undefined;
  const sent =
    saved.sent ??
    callerMessages(ctx.history.slice(0, saved.forwarded ?? 1), ctx.task.assignedAgent);
  // Saved by a version that did not count: each answer passed on followed a pause, and one
  // saved as it asked has its pause unanswered.
  const pauses = saved.pauses ?? (saved.asked ? sent.length : Math.max(0, sent.length - 1));
  return { key: saved.key ?? '', lastSeq: 0, ...saved, sent, pauses } as Progress;
}

/** Where the caller's messages (not the agent's, `agentId`'s) are in `history`. */
function callerMessages(history: readonly Message[], agentId: string): number[] {
  return history.flatMap((m, at) => (isOwnMessage(m, agentId) ? [] : [at]));
}

/**
 * Where the caller's messages of this run's conversation are: from `runStart` on (a task run
 * again with task.run starts a new conversation with its message; the earlier runs' are not
 * passed on).
 */
function conversation(ctx: TurnContext): number[] {
  return callerMessages(ctx.history, ctx.task.assignedAgent).filter((at) => at >= ctx.runStart);
}

/** Whether the remote task has ended (a status it sent that is none of ARC's: not ended). */
const remoteEnded = (status: string) =>
  (TASK_STATUSES as readonly string[]).includes(status) && isTerminal(status as TaskStatus);

export function createRemoteAgent(options: RemoteAgentOptions): AgentDefinition {
  const remoteAgent = options.remoteAgent ?? options.id;
  const client = new ArcClient({
    endpoint: options.endpoint,
    requestAgent: options.requestAgent ?? 'arcd',
    ...(options.token ? { token: options.token } : {}),
  });

  /** The remote task created with `key`, if its create committed although its answer was lost. */
  async function createdWith(key: string): Promise<string | undefined> {
    const { tasks } = await client.task.list(remoteAgent, { metadata: { forwardKey: key } });
    return tasks[0]?.taskId;
  }

  /** Creates the remote task with the first message (or finds the one a lost answer hid). */
  async function start(
    ctx: TurnContext,
    resumed: Progress | undefined,
    creating: { key?: string },
  ): Promise<Progress> {
    const first = ctx.history[ctx.runStart] as Message;
    const found = resumed?.key ? await createdWith(resumed.key) : undefined;
    const key = resumed?.key || newId('fwd');
    creating.key = key; // a create whose answer is lost may have made the remote task
    const progress: Progress = { key, lastSeq: 0, sent: [ctx.runStart], pauses: 0 };
    if (!found) await ctx.checkpoint(progress as unknown as JsonObject); // the key, before
    const remoteTaskId =
      found ??
      (
        await client.task.create(remoteAgent, first, {
          metadata: { forwardedFrom: ctx.task.taskId, forwardKey: key },
        })
      ).taskId;
    return { ...progress, remoteTaskId };
  }

  /** Sends the caller's message `at`, saved as `sending` first (see Progress.sending). */
  async function sendMarked(ctx: TurnContext, progress: Progress, at: number): Promise<void> {
    await ctx.checkpoint({ ...progress, sending: at } as unknown as JsonObject);
    await client.task.send(remoteAgent, progress.remoteTaskId!, ctx.history[at]!);
  }

  /**
   * `progress` with the caller messages the remote task holds as sent, as it says: the first
   * so many of the conversation (all of them once it has ended, as it takes no more).
   */
  async function heldByRemote(ctx: TurnContext, progress: Progress): Promise<Progress> {
    const remote = await client.task.info(remoteAgent, progress.remoteTaskId!, {
      includeArtifacts: false,
    });
    const rest = { ...progress };
    delete rest.sending;
    if (remoteEnded(remote.status)) return { ...rest, sent: conversation(ctx) };
    // The first went with the create, whether or not the remote shows its messages.
    const held = Math.max(1, (remote.messages ?? []).filter((m) => m.role !== 'agent').length);
    return { ...rest, sent: conversation(ctx).slice(0, held) };
  }

  /**
   * Passes on the caller's messages the remote task has not had, in order, while it waits for
   * input (ARC's task.send answers only that); 'again' when the remote task was canceled
   * meanwhile (a timed-out attempt's, say): another is started. A remote task not waiting
   * keeps the rest: it has the caller's messages it holds (a send whose answer was lost, one
   * started anew with the first message only), and is given each next one as its answer when
   * it asks (`mirror`). One that has ended takes no more: what it did is mirrored.
   */
  async function passOn(ctx: TurnContext, progress: Progress): Promise<Progress | 'again'> {
    let sent = progress.sent;
    for (const at of conversation(ctx).filter((i) => !sent.includes(i))) {
      try {
        await sendMarked(ctx, { ...progress, sent }, at);
        sent = [...sent, at];
      } catch (error) {
        if (!(error instanceof ArcClientError)) throw error;
        if (error.code === -42002 || error.code === -42006) return heldByRemote(ctx, progress);
        if (error.code !== -42003) throw error;
        // Canceled: by this server for a timed-out attempt, a new remote task; else final.
        const remote = await client.task.info(remoteAgent, progress.remoteTaskId!, STATUS_ONLY);
        if (RESTARTING.has(String(remote.reason))) return 'again';
        const ended = { ...progress, ended: true };
        await ctx.checkpoint(ended as unknown as JsonObject);
        throw new RemoteTaskCanceled(`remote task was canceled: ${String(remote.reason ?? '')}`);
      }
    }
    return { ...progress, sent };
  }

  /**
   * Mirrors the remote task's events until it completes ('done'), asks for input ('asked'),
   * or was canceled for an earlier attempt's timeout ('again'). A stream that ends before
   * the task does is opened again after the last event; a remote failure throws.
   */
  async function mirror(
    ctx: TurnContext,
    progress: Progress,
    turn: { local: number },
  ): Promise<'done' | 'asked' | 'again'> {
    const current = progress;
    let prompt: Part[] | undefined;
    let quiet = 0;
    /** A finished remote task's stored events that no stream brought (see below). */
    let stored: TaskEvent[] | undefined;
    while (!ctx.signal.aborted) {
      let received = 0;
      const events =
        stored ??
        client.task.watch(current.remoteTaskId!, { after: current.lastSeq, signal: ctx.signal });
      stored = undefined;
      for await (const event of events) {
        received += 1;
        const data = event.data as JsonObject & { status: string };
        if (event.event === 'NEW_MESSAGE') {
          const message = data.messageContent as unknown as Message;
          if (message.role === 'agent' && data.status === 'INPUT_REQUIRED') {
            // Not marked mirrored: a turn resumed before its TASK_PAUSED reads it again.
            prompt = message.parts;
            continue;
          }
          if (message.role === 'agent') {
            await ctx.reply({ parts: message.parts });
            turn.local += 1;
          }
        } else if (event.event === 'NEW_ARTIFACT') {
          const artifact = data.artifact as unknown as Artifact;
          await ctx.addArtifact({
            name: artifact.name,
            parts: artifact.parts,
            ...(artifact.description ? { description: artifact.description } : {}),
            metadata: {
              ...((artifact.metadata as JsonObject | undefined) ?? {}),
              remoteArtifactId: artifact.artifactId,
            },
          });
        } else if (event.event === 'TASK_PAUSED' && prompt) {
          const parts = prompt;
          prompt = undefined;
          current.pauses += 1;
          current.lastSeq = event.sequence;
          // Answered already (passed on before this pause was read), or asking what the caller
          // has answered before (a remote task started anew goes through the conversation
          // again): that answer goes on, and nobody is asked twice.
          const next = conversation(ctx).find((at) => !current.sent.includes(at));
          const answered = current.sent.length > current.pauses;
          if (!answered && next !== undefined) {
            await sendMarked(ctx, current, next);
            current.sent = [...current.sent, next];
          }
          if (answered || next !== undefined) {
            await ctx.checkpoint(current as unknown as JsonObject);
            continue;
          }
          const asked: Asked = { parts, before: turn.local };
          // Bounded as an agent's own reason is (an older remote gave its whole prompt).
          if (typeof data.reason === 'string')
            asked.reason = data.reason.slice(0, MAX_REASON_CHARS);
          if (data.requiredInput !== undefined) asked.requiredInput = data.requiredInput;
          await ctx.checkpoint({
            ...current,
            lastSeq: event.sequence,
            asked,
          } as unknown as JsonObject);
          await ask(ctx, asked);
          return 'asked';
        } else if (event.event === 'TASK_CANCELED' && RESTARTING.has(String(data.reason))) {
          return 'again';
        } else if (event.event === 'TASK_FAILED' || event.event === 'TASK_CANCELED') {
          const ended = { ...current, lastSeq: event.sequence, ended: true };
          await ctx.checkpoint(ended as unknown as JsonObject);
          const message = remoteEnd(event.event, data);
          if (event.event === 'TASK_CANCELED') throw new RemoteTaskCanceled(message);
          throw new RemoteTaskEnded(message);
        }
        current.lastSeq = event.sequence;
        await ctx.checkpoint(current as unknown as JsonObject);
        if (event.event === 'TASK_COMPLETED') return 'done';
      }
      if (ctx.signal.aborted) break;
      // The stream ended before the task did (a proxy, a restarting remote): ask where the
      // task stands (a reply that is no ARC answer fails the turn here), then watch again.
      const remote = await client.task.info(remoteAgent, current.remoteTaskId!, STATUS_ONLY);
      if (received === 0 && remote.status === 'COMPLETED') {
        // No stream brought anything more. Either all was mirrored, its completion too (a turn
        // run again after the process stopped before the local completion was written), or
        // the streams kept ending empty (a proxy's), which the watch takes as the end: the
        // stored events after the last one mirrored say which.
        const rest = await client.task.eventPage(remoteAgent, current.remoteTaskId!, {
          after: current.lastSeq,
        });
        if (rest.events.length === 0) return 'done';
        stored = rest.events as TaskEvent[];
        continue;
      }
      quiet = received > 0 ? 0 : quiet + 1;
      if (quiet >= 5) {
        throw new Error(`the remote task's event stream keeps ending while it is ${remote.status}`);
      }
      if (!remoteEnded(remote.status)) await pause(1_000, ctx.signal);
    }
    return 'done'; // stopped: what happens next follows from why, not from this result
  }

  async function ask(ctx: TurnContext, asked: Asked): Promise<void> {
    await ctx.requestInput(
      { parts: asked.parts },
      {
        ...(asked.reason !== undefined ? { reason: asked.reason } : {}),
        ...(asked.requiredInput !== undefined ? { requiredInput: asked.requiredInput } : {}),
      },
    );
  }

  async function forward(ctx: TurnContext): Promise<undefined> {
    let progress = savedProgress(ctx);
    let cancelAs: string | undefined;
    const cancelRemote = () => {
      const id = progress?.remoteTaskId;
      if (id && cancelAs) void cancelRemoteTask(id, cancelAs).catch(() => undefined);
    };
    const onStop = () => {
      cancelAs = CANCEL_REASONS[(ctx.signal.reason as { kind?: string } | undefined)?.kind ?? ''];
      cancelRemote();
    };
    ctx.signal.addEventListener('abort', onStop, { once: true });
    if (ctx.signal.aborted) onStop();
    // The remote task's input was asked for but the local prompt never stored (the process
    // stopped in between): ask it now.
    if (progress?.asked && ctx.history.length <= progress.asked.before) {
      try {
        await ask(ctx, progress.asked);
      } finally {
        ctx.signal.removeEventListener('abort', onStop);
      }
      return undefined;
    }
    // Local messages, counting the replies mirrored in this turn (from every remote task).
    const turn = { local: ctx.history.length };
    /** The key of the remote task being created, once its create is under way. */
    const creating: { key?: string } = {};
    try {
      // A send under way when the last turn stopped: did the remote task get it?
      const unsure = progress?.sending;
      if (progress?.remoteTaskId && unsure !== undefined && !progress.sent.includes(unsure)) {
        progress = await heldByRemote(ctx, progress);
      }
      for (;;) {
        if (!progress?.remoteTaskId) {
          progress = await start(ctx, progress, creating);
          cancelRemote(); // stopped while it was created: it goes too
        }
        const passed = await passOn(ctx, progress);
        if (passed !== 'again') {
          delete passed.asked; // answered: passed on just now
          await ctx.checkpoint(passed as unknown as JsonObject);
          progress = passed;
          if ((await mirror(ctx, passed, turn)) !== 'again') return undefined;
        }
        progress = undefined;
      }
    } catch (error) {
      // Failed here (a remote call refused, a reply past this server's part limits, a page
      // that is no ARC answer): the remote task would run on, orphaned, so it goes too,
      // unless it ended on its side or the turn was stopped (onStop has dealt with that).
      // A retry of the turn meets the cancel and starts another (RESTARTING).
      // Not for a turn that lost its task (its lease passed to another process, which follows
      // the same remote task on, or a stop it has not heard yet): not this turn's to cancel.
      // Nor while a retry follows (attempts left, and an error the engine retries): the retry
      // resumes the same remote task, which must live on for it.
      const maxRetries = (ctx.task as { maxRetries?: number }).maxRetries ?? 0;
      const retried = !neverRetried(error) && ctx.attempt <= maxRetries;
      if (
        !(error instanceof RemoteTaskEnded) &&
        !(error instanceof RemoteTaskCanceled) &&
        !(error instanceof TurnEndedError) &&
        !ctx.signal.aborted &&
        !retried
      ) {
        cancelAs = FAILED_HERE;
        if (progress?.remoteTaskId) cancelRemote();
        // The remote unreachable even after the cancel's tries: as with any cancel lost
        // (cancelRemote's too), the remote task runs on.
        else if (creating.key) void cancelCreatedWith(creating.key, FAILED_HERE).catch(() => {});
      }
      throw error;
    } finally {
      ctx.signal.removeEventListener('abort', onStop);
    }
  }

  /** The local task ended while no turn ran (waiting for input, say): its remote task goes. */
  async function stopped(_task: Task, cause: StopCause, checkpoint: JsonValue | undefined) {
    const saved = checkpoint as Partial<Progress> | undefined;
    if (!saved || saved.ended) return;
    const reason = CANCEL_REASONS[cause];
    if (typeof saved.remoteTaskId === 'string') {
      await cancelRemoteTask(saved.remoteTaskId, reason);
    } else if (typeof saved.key === 'string' && saved.key) {
      // Only the key saved: the create's answer was lost (the task waits for a retry), and the
      // remote task may exist all the same.
      await cancelCreatedWith(saved.key, reason);
    }
  }

  /** Cancels the remote task created with `key`, if its create committed after all. */
  async function cancelCreatedWith(key: string, reason: string | undefined): Promise<void> {
    const remoteTaskId = await createdWith(key);
    if (remoteTaskId) await cancelRemoteTask(remoteTaskId, reason);
  }

  /**
   * Cancels the remote task, trying again after a network failure or an error page (a remote
   * restarting): a cancel lost so leaves the remote task running for good, since nothing
   * asks again. One that has ended already is left so; other ARC refusals are thrown.
   */
  async function cancelRemoteTask(remoteTaskId: string, reason: string | undefined) {
    for (let tried = 1; ; tried += 1) {
      try {
        await client.task.cancel(remoteAgent, remoteTaskId, reason);
        return;
      } catch (error) {
        // Ended already (completed, canceled, failed: -42006), or gone (retention: -42001).
        if (error instanceof ArcClientError && ENDED_CODES.has(error.code)) return;
        if (!(error instanceof ArcTransportError) || tried >= CANCEL_TRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * 4 ** (tried - 1)));
      }
    }
  }

  return {
    id: options.id,
    description: options.description ?? `Remote agent ${remoteAgent} at ${options.endpoint}`,
    needsCheckpoints: true,
    handle: forward,
    // The signal's cancel is one try of ~10 s: a remote down that long, or this process
    // stopping meanwhile, would leave the remote task running. The hook cancels again, durably.
    stoppedAlways: true,
    stopped,
  };
}

function remoteEnd(event: string, data: JsonObject): string {
  if (event === 'TASK_CANCELED') return `remote task was canceled: ${String(data.reason ?? '')}`;
  const error = data.error as JsonObject | undefined;
  const code = typeof error?.code === 'number' ? ` (remote code ${error.code})` : '';
  return `remote task failed: ${String(error?.message ?? data.message)}${code}`;
}

/** Waits `ms`, or less if the turn is stopped meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Parses `ARCD_REMOTE_AGENTS`: `id=http://host:port[/remoteAgentId]`, comma-separated. */
export function parseRemoteAgents(value: string): RemoteAgentOptions[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const [id, url] = item.split(/=(.*)/s);
      if (!id || !url) throw new Error(`ARCD_REMOTE_AGENTS: expected id=url, got "${item}"`);
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new Error(`ARCD_REMOTE_AGENTS: ${id}'s URL must be http or https, got "${url}"`);
      }
      const remoteAgent = parsed.pathname.replace(/^\/+|\/+$/g, '');
      // The path names the remote agent (one id), not the remote's endpoint path: an agent
      // card's `url` (…/arc) or a gateway prefix would forward to an agent that is not there.
      if (remoteAgent && (!isAgentId(remoteAgent) || remoteAgent === 'arc')) {
        throw new Error(
          `ARCD_REMOTE_AGENTS: ${id}=${url}: the path names the agent on the remote server (http://host:port/agentId), not "${remoteAgent}"`,
        );
      }
      return { id, endpoint: parsed.origin, ...(remoteAgent ? { remoteAgent } : {}) };
    });
}
