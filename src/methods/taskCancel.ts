/** task.cancel: any live task → CANCELED; a running handler is aborted. */
import { defineMethod } from './method';

export const taskCancel = defineMethod<{ taskId: string; reason?: string }>({
  name: 'task.cancel',
  schema: 'arc:methods/task.cancel',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.cancel(call, params) };
  },
});
