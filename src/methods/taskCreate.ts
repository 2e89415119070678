/**
 * task.create: store a SUBMITTED task for the target agent and answer at once, or, with the
 * `wait` extension, once it is finished or needs input (with its messages and artifacts).
 */
import type { JsonObject, Message, Priority } from '../types';
import type { TaskSettings } from '../store/records';
import { defineMethod } from './method';

export const taskCreate = defineMethod<{
  initialMessage: Message;
  priority?: Priority;
  metadata?: JsonObject;
  settings?: TaskSettings;
  deadline?: string;
  dependencies?: string[];
  assignedAgents?: string[];
  wait?: number;
}>({
  name: 'task.create',
  schema: 'arc:methods/task.create',
  async handle(params, call, { tasks }) {
    return { type: 'task', task: await tasks.create(call, params) };
  },
});
