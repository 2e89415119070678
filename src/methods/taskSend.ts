/** task.send: add the caller's message; an INPUT_REQUIRED task resumes with it. */
import type { Message } from '../types';
import { defineMethod } from './method';

export const taskSend = defineMethod<{ taskId: string; message: Message }>({
  name: 'task.send',
  schema: 'arc:methods/task.send',
  async handle(params, call, { tasks }) {
    await tasks.send(call, params);
    return { success: true };
  },
});
