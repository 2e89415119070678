/** task.info (alias task.get): the task, with messages and artifacts unless turned off. */
import { defineMethod } from './method';

export const taskInfo = defineMethod<{
  taskId: string;
  includeMessages?: boolean;
  includeArtifacts?: boolean;
  includeRuns?: boolean;
}>({
  name: 'task.info',
  schema: 'arc:methods/task.info',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.info(call, params) };
  },
});
