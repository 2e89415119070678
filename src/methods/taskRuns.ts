/** task.runs (extension): every attempt of every turn of a task, oldest first. */
import { toWireRun } from '../tasks/toWire';
import { defineMethod } from './method';

export const taskRuns = defineMethod<{ taskId: string }>({
  name: 'task.runs',
  schema: 'arc:methods/task.runs',
  async handle(params, call, { tasks }) {
    return {
      type: 'runs',
      taskId: params.taskId,
      runs: (await tasks.runs(call, params)).map(toWireRun),
    };
  },
});
