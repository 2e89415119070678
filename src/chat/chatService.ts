/**
 * ARC chats: start, message, end. Each exchange stores the caller's message, asks the agent's
 * chat handler for a reply (whole or streamed), and stores the reply once it is complete. A
 * chat is visible only to the caller that started it, through the agent it talks to.
 */
import type { AgentRegistry } from '../agents/registry';
import type { ChatReply } from '../agents/contract';
import type { ChatRecord } from '../store/chatRows';
import type { Store } from '../store/store';
import type { CallContext, JsonObject, Message } from '../types';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { asArcError } from '../rpc/asArcError';
import type { Logger } from 'pino';
import { callerAgentId, textOf } from '../engine/turnContext';
import { toUtcIso } from '../rpc/schemas';
import { type PartLimits, checkMessageParts } from '../parts/checkParts';
import {
  AgentNotAvailableError,
  AgentTimeoutError,
  ChatClosedError,
  ChatNotFoundError,
  InvalidParamsError,
} from '../rpc/errors';

export interface ChatExchange {
  chat: ChatRecord;
  /** The reply as it is produced; iterate once. The reply is stored when it ends. */
  deltas: AsyncIterable<string>;
  /** The chat and stored reply, once `deltas` has been drained. */
  finished(): { chat: ChatRecord; reply: Message };
  /** The caller went away: the handler's signal is aborted (and no reply is stored). */
  cancel(): void;
}

async function* asDeltas(reply: ChatReply): AsyncIterable<string> {
  const value = await (reply as Promise<string> | string | AsyncIterable<string>);
  if (typeof value === 'string') yield value;
  else yield* value;
}

export function toWireChat(chat: ChatRecord, reply?: Message) {
  return {
    chatId: chat.chatId,
    status: chat.status,
    ...(reply ? { message: reply } : {}),
    participants: [chat.requestAgent, chat.assignedAgent],
    createdAt: chat.createdAt,
    updatedAt: chat.updatedAt,
    ...(chat.closedAt ? { closedAt: chat.closedAt } : {}),
    ...(chat.reason ? { reason: chat.reason } : {}),
    ...(chat.metadata ? { metadata: chat.metadata } : {}),
  };
}

/** How often a reply being produced looks whether its chat was ended by another process. */
const CLOSED_LOOK_MS = 1_000;

export class ChatService {
  /** How to stop each reply being produced, with its chat. */
  private readonly active = new Map<(reason: Error) => void, string>();

  constructor(
    private readonly store: Store,
    private readonly agents: AgentRegistry,
    private readonly clock: Clock,
    private readonly partLimits: PartLimits,
    private readonly logger: Logger,
  ) {}

  private async visible(call: CallContext, chatId: string): Promise<ChatRecord> {
    const chat = await this.store.getChat(chatId);
    if (
      !chat ||
      chat.assignedAgent !== call.targetAgent ||
      chat.requestAgent !== call.requestAgent
    ) {
      throw new ChatNotFoundError(chatId);
    }
    return chat;
  }

  async start(
    call: CallContext,
    params: { initialMessage: Message; chatId?: string; metadata?: JsonObject },
  ): Promise<ChatExchange> {
    this.chatHandler(call.targetAgent);
    checkMessageParts(params.initialMessage, 'initialMessage', this.partLimits);
    const chatId = params.chatId ?? newId('chat');
    const taken = () =>
      new InvalidParamsError([
        { field: 'chatId', message: 'is already in use: send chat.message' },
      ]);
    if (await this.store.getChat(chatId)) throw taken();
    const at = isoNow(this.clock);
    // Checked again by the insert: two starts with one id at once, the second is told so.
    const created = await this.store.createChat({
      chatId,
      assignedAgent: call.targetAgent,
      requestAgent: call.requestAgent,
      ...(params.metadata ? { metadata: params.metadata } : {}),
      createdAt: at,
      updatedAt: at,
    });
    if (!created) throw taken();
    return this.exchange(call, chatId, params.initialMessage);
  }

  async message(call: CallContext, params: { chatId: string; message: Message }) {
    const chat = await this.visible(call, params.chatId);
    if (chat.status === 'CLOSED') throw new ChatClosedError(chat.chatId);
    checkMessageParts(params.message, 'message', this.partLimits);
    return this.exchange(call, chat.chatId, params.message);
  }

  async end(call: CallContext, params: { chatId: string; reason?: string }) {
    const chat = await this.visible(call, params.chatId);
    if (chat.status === 'CLOSED') throw new ChatClosedError(chat.chatId);
    const closed = await this.store.closeChat(
      chat.chatId,
      params.reason ?? `ended by ${call.requestAgent}`,
      isoNow(this.clock),
    );
    if (!closed) throw new ChatClosedError(chat.chatId); // ended by another call meanwhile
    // A reply still being produced here is stopped: nothing more goes into a closed chat.
    for (const [stop, chatId] of this.active) {
      if (chatId === chat.chatId) stop(new ChatClosedError(chatId));
    }
    return toWireChat(closed);
  }

  /** Stops every reply being produced (the server is shutting down). */
  stop(): void {
    for (const stop of this.active.keys()) stop(new Error('the server is shutting down'));
  }

  private chatHandler(agentId: string) {
    const agent = this.agents.get(agentId);
    if (!agent?.chat) throw new AgentNotAvailableError(agentId, 'this agent does not chat');
    return { handler: agent.chat.bind(agent), timeoutMs: agent.limits?.timeoutMs };
  }

  private async exchange(
    call: CallContext,
    chatId: string,
    message: Message,
  ): Promise<ChatExchange> {
    const { handler, timeoutMs } = this.chatHandler(call.targetAgent);
    const stamped = {
      ...message,
      timestamp: message.timestamp ? toUtcIso(message.timestamp) : isoNow(this.clock),
    };
    // Never passing for the agent's own replies in the history its handler reads.
    const sentAs = callerAgentId(message, call.requestAgent);
    if (sentAs) stamped.agentId = sentAs;
    const controller = new AbortController();
    const stopped: { reason?: Error } = {};
    // A stop ends the reply whether or not its handler heeds the signal (a model call that
    // never returns): the reply is no longer waited for.
    let halt: (reason: Error) => void = () => undefined;
    const halted = new Promise<never>((_, reject) => (halt = reject));
    halted.catch(() => undefined); // raced below; unraced when the reply ends first
    const stop = (reason: Error) => {
      stopped.reason ??= reason;
      controller.abort(reason);
      halt(reason);
      // Also when the reply never started (its caller gone before the stream was read): the
      // reply's own end, which otherwise lets go of it, then never comes.
      this.active.delete(stop);
    };
    const active = this.active;
    // Known before the message is stored: a chat.end from now on stops this reply, before its
    // handler starts if it comes first.
    active.set(stop, chatId);
    let chat: ChatRecord;
    let history: Message[];
    try {
      const appended = await this.store.appendChatMessage(chatId, stamped, isoNow(this.clock));
      if (!appended) throw new ChatClosedError(chatId); // ended meanwhile
      chat = appended;
      history = await this.store.listChatMessages(chatId);
    } catch (error) {
      active.delete(stop);
      throw error;
    }
    let result: { chat: ChatRecord; reply: Message } | undefined;
    const store = this.store;
    const clock = this.clock;
    const logger = this.logger;
    const agentId = call.targetAgent;
    // A reply is one TextPart: the limits a caller's message is held to hold for it too.
    const { maxPartBytes, maxMessageBytes } = this.partLimits;
    const maxReplyBytes = Math.min(maxPartBytes, maxMessageBytes);
    const deltas = (async function* () {
      if (stopped.reason) {
        // Stopped before it started (its chat ended, its caller gone): its handler never runs.
        active.delete(stop);
        throw stopped.reason;
      }
      let text = '';
      let bytes = 0;
      // The agent's declared time limit for a turn holds for a reply too (-41006), counting
      // the agent's own time: not while a delta waits for a slow reader (the stream holds the
      // reply back until it has read), when the agent, pulled for its next, is not running.
      let left = timeoutMs ?? Infinity;
      let timer: NodeJS.Timeout | undefined;
      let armedAt = 0;
      const arm = () => {
        if (timeoutMs === undefined) return;
        armedAt = Date.now();
        timer = setTimeout(() => stop(new AgentTimeoutError(agentId, timeoutMs)), left);
      };
      const disarm = () => {
        clearTimeout(timer);
        left -= Date.now() - armedAt;
      };
      arm();
      let produced: AsyncIterator<string> | undefined;
      let lookedAt = Date.now();
      try {
        const reply = handler({
          chatId,
          ...(chat.metadata ? { metadata: chat.metadata } : {}),
          history,
          message: stamped,
          signal: controller.signal,
          text: () => textOf([stamped]),
        });
        produced = asDeltas(reply)[Symbol.asyncIterator]();
        for (;;) {
          const next = await Promise.race([produced.next(), halted]);
          if (next.done) break;
          const delta = next.value;
          if (typeof delta !== 'string') throw new TypeError('a chat reply yields strings');
          if (delta === '') continue; // a TextPart is never empty: nothing to send
          bytes += Buffer.byteLength(delta);
          if (bytes > maxReplyBytes) {
            throw new Error(`its reply passed the message limit (${maxReplyBytes} bytes)`);
          }
          text += delta;
          disarm();
          yield delta;
          // Ended by another process (this one's chat.end stops it at once): looked at now and
          // then, between deltas.
          if (Date.now() - lookedAt >= CLOSED_LOOK_MS) {
            lookedAt = Date.now();
            // A failed look is no reason to stop (nor the agent's failure): logged, looked again.
            const now = await store.getChat(chatId).catch((error: unknown) => {
              logger.warn({ err: error, chatId }, 'looking whether a chat was ended failed');
              return undefined;
            });
            if (now?.status === 'CLOSED') stop(new ChatClosedError(chatId));
          }
          arm();
        }
      } finally {
        clearTimeout(timer);
        controller.abort();
        active.delete(stop);
        // Let go of a reply left unfinished (not waited for: its handler may never return).
        produced?.return?.().catch(() => undefined);
      }
      // The caller went away or the server is stopping: no reply to keep (the caller's
      // message stays, answered by none, as after a failed reply).
      if (stopped.reason) throw stopped.reason;
      // No message without a part, nor a TextPart without text: the agent failed to reply.
      if (text === '') throw new Error('its reply was empty');
      const replyMessage: Message = {
        role: 'agent',
        parts: [{ type: 'TextPart', content: text }],
        agentId: call.targetAgent,
        timestamp: isoNow(clock),
      };
      let stored: ChatRecord | undefined;
      try {
        stored = await store.appendChatMessage(
          chatId,
          { ...replyMessage, timestamp: replyMessage.timestamp as string },
          replyMessage.timestamp as string,
        );
      } catch (error) {
        // Not the agent's failure: logged, and the caller gets an error id, not the store's text.
        throw asArcError(error, logger, { chatId }, 'storing a chat reply failed');
      }
      if (!stored) throw new ChatClosedError(chatId); // ended elsewhere while it was produced
      chat = stored;
      result = { chat, reply: replyMessage };
    })();
    return {
      chat,
      deltas,
      finished: () => {
        if (!result) throw new Error('the chat reply has not finished');
        return result;
      },
      cancel: () => stop(new Error('the caller went away')),
    };
  }
}
