/** chat.message: the next message of an open chat, answered by the agent. */
import type { Message } from '../types';
import { chatReply } from './chatReply';
import { defineMethod } from './method';

export const chatMessage = defineMethod<{ chatId: string; message: Message; stream?: boolean }>({
  name: 'chat.message',
  schema: 'arc:methods/chat.message',
  async handle(params, call, { chats }) {
    return chatReply(await chats.message(call, params), params.stream);
  },
});
