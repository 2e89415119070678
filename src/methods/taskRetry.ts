/** task.retry (extension): a FAILED task runs again as a new run; other statuses get -42006. */
import { defineMethod } from './method';

export const taskRetry = defineMethod<{ taskId: string; deadline?: string | null }>({
  name: 'task.retry',
  schema: 'arc:methods/task.retry',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.retry(call, params) };
  },
});
