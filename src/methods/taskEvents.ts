/**
 * task.events (extension): the activity log — the task's stored events after `after`
 * (default 0), oldest first, at most `limit` (default 100), and fewer when their data is large
 * (files): `more` tells the caller to ask again after the last. The same log webhooks and
 * streams read.
 */
import { defineMethod } from './method';

export const taskEvents = defineMethod<{ taskId: string; after?: number; limit?: number }>({
  name: 'task.events',
  schema: 'arc:methods/task.events',
  async handle(params, call, { tasks }) {
    const { events, more } = await tasks.events(call, params);
    return {
      type: 'events',
      taskId: params.taskId,
      events: events.map((e) => ({
        sequence: e.seq,
        event: e.type,
        timestamp: e.createdAt,
        data: e.data,
      })),
      more,
    };
  },
});
