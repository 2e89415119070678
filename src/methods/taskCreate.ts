/**
 * task.create: store a SUBMITTED task for the target agent and answer at once, or, with the
 * `wait` extension, once it is finished or needs input (with its messages and artifacts).
 */
import type { NewTask } from '../tasks/taskService';
import { defineMethod } from './method';

export const taskCreate = defineMethod<NewTask & { wait?: number }>({
  name: 'task.create',
  schema: 'arc:methods/task.create',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.create(call, params) };
  },
});
