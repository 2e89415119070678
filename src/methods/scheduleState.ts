/** schedule.pause, schedule.resume, schedule.delete (extensions): one schedule by its id. */
import { toWireSchedule } from '../schedules/scheduleService';
import { defineMethod } from './method';

type Params = { scheduleId: string };

export const schedulePause = defineMethod<Params>({
  name: 'schedule.pause',
  schema: 'arc:methods/schedule.pause',
  async handle(params, call, { schedules }) {
    const schedule = await schedules.pause(call, params.scheduleId);
    return { type: 'schedule', schedule: toWireSchedule(schedule) };
  },
});

export const scheduleResume = defineMethod<Params>({
  name: 'schedule.resume',
  schema: 'arc:methods/schedule.resume',
  async handle(params, call, { schedules }) {
    const schedule = await schedules.resume(call, params.scheduleId);
    return { type: 'schedule', schedule: toWireSchedule(schedule) };
  },
});

export const scheduleDelete = defineMethod<Params>({
  name: 'schedule.delete',
  schema: 'arc:methods/schedule.delete',
  async handle(params, call, { schedules }) {
    await schedules.delete(call, params.scheduleId);
    return { type: 'deleted', scheduleId: params.scheduleId };
  },
});
