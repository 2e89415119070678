/** chat.start: open a chat with the target agent and answer its first message. */
import type { JsonObject, Message } from '../types';
import { chatReply } from './chatReply';
import { defineMethod } from './method';

export const chatStart = defineMethod<{
  initialMessage: Message;
  chatId?: string;
  stream?: boolean;
  metadata?: JsonObject;
}>({
  name: 'chat.start',
  schema: 'arc:methods/chat.start',
  async handle(params, call, { chats }) {
    return chatReply(await chats.start(call, params), params.stream);
  },
});
