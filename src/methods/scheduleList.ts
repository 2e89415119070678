/** schedule.list (extension): the caller's schedules, optionally only active or paused ones. */
import { toWireSchedule } from '../schedules/scheduleService';
import { defineMethod } from './method';

export const scheduleList = defineMethod<{ status?: 'active' | 'paused' }>({
  name: 'schedule.list',
  schema: 'arc:methods/schedule.list',
  async handle(params, call, { schedules }) {
    const all = await schedules.list(call);
    const wanted = params.status ? all.filter((s) => s.status === params.status) : all;
    return { type: 'schedules', schedules: wanted.map(toWireSchedule) };
  },
});
