/** task.update (extension): priority, metadata (merged), settings (merged), deadline of a live task. */
import type { TaskUpdate } from '../tasks/changes';
import { defineMethod } from './method';

export const taskUpdate = defineMethod<{ taskId: string } & TaskUpdate>({
  name: 'task.update',
  schema: 'arc:methods/task.update',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.update(call, params) };
  },
});
