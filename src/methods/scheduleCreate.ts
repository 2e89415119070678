/** schedule.create (extension): a cron expression in an IANA time zone that creates tasks. */
import type { NewSchedule } from '../schedules/scheduleService';
import { toWireSchedule } from '../schedules/scheduleService';
import { defineMethod } from './method';

export const scheduleCreate = defineMethod<NewSchedule>({
  name: 'schedule.create',
  schema: 'arc:methods/schedule.create',
  async handle(params, call, { schedules }) {
    return { type: 'schedule', schedule: toWireSchedule(await schedules.create(call, params)) };
  },
});
