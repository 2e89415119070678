/**
 * task.send: add the caller's message; an INPUT_REQUIRED task resumes with it. Sent to a
 * multi-agent parent, it goes to the child waiting for input (`routedTo` names it).
 */
import type { Message } from '../types';
import { defineMethod } from './method';

export const taskSend = defineMethod<{ taskId: string; message: Message }>({
  name: 'task.send',
  schema: 'arc:methods/task.send',
  async handle(params, call, { tasks }) {
    const { routedTo } = await tasks.send(call, params);
    return { success: true, ...(routedTo ? { routedTo } : {}) };
  },
});
