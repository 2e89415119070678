/** chat.end: close a chat; further messages are refused with -43002. */
import { defineMethod } from './method';

export const chatEnd = defineMethod<{ chatId: string; reason?: string }>({
  name: 'chat.end',
  schema: 'arc:methods/chat.end',
  async handle(params, call, { chats }) {
    return { type: 'chat', chat: await chats.end(call, params) };
  },
});
