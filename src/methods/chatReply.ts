/**
 * The answer to chat.start and chat.message: the whole reply in a `{type:"chat"}` result, or
 * with `stream: true` the reply as SSE — `stream` events per chunk, then `done`; a failure
 * mid-stream becomes an `error` event (-43005) followed by `done` with status ERROR.
 */
import type { ChatExchange } from '../chat/chatService';
import { toWireChat } from '../chat/chatService';
import { type SseEvent, SseResult, chatErrorEvents } from '../rpc/sseResult';
import { ArcError, InvalidChatMessageError, isArcError } from '../rpc/errors';
import { extended } from '../extended';

async function* streamEvents(exchange: ChatExchange): AsyncIterable<SseEvent> {
  const chatId = exchange.chat.chatId;
  try {
    for await (const delta of exchange.deltas) {
      yield {
        event: 'stream',
        data: { chatId, message: { role: 'agent', parts: [{ type: 'TextPart', content: delta }] } },
      };
    }
  } catch (error) {
    yield* chatErrorEvents(chatId, replyFailure(chatId, error));
    return;
  }
  yield { event: 'done', data: { chatId, status: exchange.finished().chat.status, done: true } };
}

/**
 * A failed reply as the caller is told it: an ArcError says what it says (arcd's own failures
 * carry an error id, no internals); anything else is the agent's, told as it told it (-43005,
 * streamed or not).
 */
function replyFailure(chatId: string, error: unknown): ArcError {
  if (isArcError(error)) return error;
  return new InvalidChatMessageError(chatId, `the agent failed while replying: ${told(error)}`);
}

/** What an agent's failure says: an Error's message, a thrown string, else that it gave none. */
function told(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return 'it gave no reason';
}

export async function chatReply(exchange: ChatExchange, stream: boolean | undefined) {
  if (stream) return new SseResult(streamEvents(exchange), () => exchange.cancel());
  try {
    for await (const _delta of exchange.deltas) void _delta;
  } catch (error) {
    // With the chat's id, whatever the failure: a chat.start whose id the server chose is
    // open with the caller's message, and this is how the caller learns which chat to end.
    const chatId = exchange.chat.chatId;
    const failure = replyFailure(chatId, error);
    if ('chatId' in failure.details) throw failure;
    throw new ArcError(failure.code, failure.message, extended(failure.details, { chatId }), {
      cause: failure,
    });
  }
  const { chat, reply } = exchange.finished();
  return { type: 'chat', chat: toWireChat(chat, reply) };
}
