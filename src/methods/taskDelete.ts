/** task.delete (extension): removes a finished task and everything it owns; live ones get -42006. */
import { defineMethod } from './method';

export const taskDelete = defineMethod<{ taskId: string; force?: boolean }>({
  name: 'task.delete',
  schema: 'arc:methods/task.delete',
  async handle(params, call, { tasks }) {
    const deleted = await tasks.delete(call, params);
    return { type: 'deleted', taskId: deleted.taskId, status: deleted.status };
  },
});
