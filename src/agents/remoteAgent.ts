/**
 * A hosted agent that is really another arcd (ARC endpoint): each turn forwards to the remote
 * task (created on the first turn, sent the new input on later ones) and mirrors the remote
 * task's events into the local task as they stream in — replies, artifacts, requests for input,
 * completion, failure. The remote task id and the last mirrored event are checkpointed, so a
 * turn run again after a crash resumes the same remote task instead of starting another.
 */
import { ArcClient } from '../client/arcClient';
import type { Artifact, JsonObject, Message } from '../types';
import type { AgentDefinition, TurnContext } from './contract';

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

interface Progress {
  remoteTaskId: string;
  /** The last remote event mirrored here. */
  lastSeq: number;
  /** How many local history messages have been passed on (crash-safe: at least once). */
  forwarded: number;
}

function isProgress(value: unknown): value is Progress {
  return !!value && typeof (value as Progress).remoteTaskId === 'string';
}

export function createRemoteAgent(options: RemoteAgentOptions): AgentDefinition {
  const remoteAgent = options.remoteAgent ?? options.id;
  const client = new ArcClient({
    endpoint: options.endpoint,
    requestAgent: options.requestAgent ?? 'arcd',
    ...(options.token ? { token: options.token } : {}),
  });

  async function forward(ctx: TurnContext): Promise<string | undefined> {
    const saved = isProgress(ctx.lastCheckpoint) ? ctx.lastCheckpoint : undefined;
    let progress: Progress;
    if (!saved) {
      const [first] = ctx.history;
      const created = await client.task.create(remoteAgent, first as Message, {
        metadata: { forwardedFrom: ctx.task.taskId },
      });
      progress = { remoteTaskId: created.taskId, lastSeq: 0, forwarded: 1 };
      await ctx.checkpoint(progress as unknown as JsonObject);
    } else {
      progress = { ...(saved as Progress) };
    }
    // The caller's messages not yet passed on (sent while queued, or answers to a request).
    const unsent = ctx.history.slice(progress.forwarded);
    for (const message of unsent) {
      if (message.role !== 'agent')
        await client.task.send(remoteAgent, progress.remoteTaskId, message);
    }
    if (unsent.length > 0) {
      progress = { ...progress, forwarded: ctx.history.length };
      await ctx.checkpoint(progress as unknown as JsonObject);
    }
    const current: Progress = progress;
    const onAbort = () =>
      void client.task
        .cancel(remoteAgent, current.remoteTaskId, 'canceled upstream')
        .catch(() => undefined);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const events = client.task.watch(current.remoteTaskId, {
        after: current.lastSeq,
        signal: ctx.signal,
      });
      for await (const event of events) {
        const data = event.data as JsonObject & { status: string };
        if (event.event === 'NEW_MESSAGE') {
          const message = data.messageContent as unknown as Message;
          if (message.role === 'agent' && data.status === 'INPUT_REQUIRED') {
            // The remote paused: its prompt is followed by TASK_PAUSED and STATUS_CHANGE in the
            // same commit, so the next turn resumes after those two.
            await ctx.checkpoint({
              ...current,
              lastSeq: event.sequence + 2,
              forwarded: current.forwarded + 1,
            } as unknown as JsonObject);
            await ctx.requestInput({ parts: message.parts });
            return undefined;
          }
          if (message.role === 'agent') {
            await ctx.reply({ parts: message.parts });
            current.forwarded += 1; // the local history grew by a message not to pass back
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
        } else if (event.event === 'TASK_FAILED') {
          const error = data.error as JsonObject | undefined;
          throw new Error(`remote task failed: ${String(error?.message ?? data.message)}`);
        } else if (event.event === 'TASK_CANCELED') {
          throw new Error(`remote task was canceled: ${String(data.reason ?? '')}`);
        }
        current.lastSeq = event.sequence;
        await ctx.checkpoint(current as unknown as JsonObject);
        if (event.event === 'TASK_COMPLETED') return undefined;
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    return undefined;
  }

  return {
    id: options.id,
    description: options.description ?? `Remote agent ${remoteAgent} at ${options.endpoint}`,
    handle: forward,
  };
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
      const remoteAgent = parsed.pathname.replace(/^\/+|\/+$/g, '');
      return { id, endpoint: parsed.origin, ...(remoteAgent ? { remoteAgent } : {}) };
    });
}
