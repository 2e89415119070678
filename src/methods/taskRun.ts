/** task.run (extension): a finished task runs again as a new run, optionally with new input. */
import type { JsonObject, Message } from '../types';
import { defineMethod } from './method';

export const taskRun = defineMethod<{
  taskId: string;
  input?: JsonObject;
  message?: Message;
  deadline?: string | null;
}>({
  name: 'task.run',
  schema: 'arc:methods/task.run',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.run(call, params) };
  },
});
