/** task.notification: an agent reports on a task it runs for us; stored against that task. */
import type { JsonObject } from '../types';
import { defineMethod } from './method';

export const taskNotification = defineMethod<{
  taskId: string;
  event: string;
  timestamp: string;
  data: JsonObject;
}>({
  name: 'task.notification',
  schema: 'arc:methods/task.notification',
  async handle(params, call, { tasks }) {
    await tasks.notify(call, params);
    return { success: true };
  },
});
