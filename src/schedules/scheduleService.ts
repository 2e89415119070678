/**
 * The caller's side of schedules: create, list, pause, resume, delete. A schedule belongs to
 * the requestAgent that made it (an admin may manage any); others are told it does not exist.
 * Resuming starts from the next slot after now: slots passed while paused are not made up.
 */
import type { CallContext, JsonObject, Message, Priority } from '../types';
import type { TaskSettings } from '../store/records';
import type { ScheduleRecord } from '../store/scheduleRows';
import type { Store } from '../store/store';
import { type Clock, isoNow } from '../clock';
import { newId } from '../ids';
import { InvalidParamsError } from '../rpc/errors';
import { type PartLimits, checkMessageParts } from '../parts/checkParts';
import { compact } from '../store/rowMapping';
import { cronProblem, nextSlot } from './cronTimes';

export interface NewSchedule {
  cron: string;
  timezone?: string;
  initialMessage: Message;
  priority?: Priority;
  settings?: TaskSettings;
  metadata?: JsonObject;
  paused?: boolean;
}

export function toWireSchedule(s: ScheduleRecord) {
  return compact({
    scheduleId: s.scheduleId,
    targetAgent: s.targetAgent,
    requestAgent: s.ownerAgent,
    cron: s.cron,
    timezone: s.timezone,
    status: s.status,
    nextRunAt: s.status === 'active' ? s.nextRunAt : undefined,
    lastRunAt: s.lastRunAt,
    lastTaskId: s.lastTaskId,
    runCount: s.runCount,
    lastError: s.lastError,
    priority: s.priority,
    initialMessage: s.message,
    settings: s.settings,
    metadata: s.metadata,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  });
}

export class ScheduleService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly partLimits: PartLimits,
  ) {}

  private nextAfterNow(s: Pick<ScheduleRecord, 'cron' | 'timezone'>): string | undefined {
    return nextSlot(s.cron, s.timezone, this.clock())?.toISOString();
  }

  async create(call: CallContext, params: NewSchedule): Promise<ScheduleRecord> {
    const timezone = params.timezone ?? 'UTC';
    const problem = cronProblem(params.cron, timezone);
    if (problem) {
      const field = problem.startsWith('unknown time zone') ? 'timezone' : 'cron';
      throw new InvalidParamsError([{ field, message: problem }]);
    }
    // As task.create would check it at each slot: refused now, not at every firing.
    checkMessageParts(params.initialMessage, 'initialMessage', this.partLimits);
    const at = isoNow(this.clock);
    const nextRunAt = this.nextAfterNow({ cron: params.cron, timezone });
    if (!nextRunAt) {
      throw new InvalidParamsError([{ field: 'cron', message: 'has no future slot' }]);
    }
    const schedule: ScheduleRecord = {
      scheduleId: newId('sch'),
      ownerAgent: call.requestAgent,
      targetAgent: call.targetAgent,
      cron: params.cron,
      timezone,
      message: params.initialMessage,
      priority: params.priority ?? 'NORMAL',
      ...(params.settings ? { settings: params.settings } : {}),
      ...(params.metadata ? { metadata: params.metadata } : {}),
      status: params.paused ? 'paused' : 'active',
      nextRunAt,
      runCount: 0,
      createdAt: at,
      updatedAt: at,
    };
    await this.store.insertSchedule(schedule);
    return schedule;
  }

  async list(call: CallContext): Promise<ScheduleRecord[]> {
    return this.store.listSchedules(call.requestAgent);
  }

  private async owned(call: CallContext, scheduleId: string): Promise<ScheduleRecord> {
    const schedule = await this.store.getSchedule(scheduleId);
    if (!schedule || !(call.admin || schedule.ownerAgent === call.requestAgent)) {
      throw new InvalidParamsError([
        { field: 'scheduleId', message: `no schedule ${scheduleId} of yours` },
      ]);
    }
    return schedule;
  }

  async pause(call: CallContext, scheduleId: string): Promise<ScheduleRecord> {
    const schedule = await this.owned(call, scheduleId);
    await this.store.setScheduleStatus(
      scheduleId,
      'paused',
      schedule.nextRunAt,
      isoNow(this.clock),
    );
    return this.owned(call, scheduleId);
  }

  async resume(call: CallContext, scheduleId: string): Promise<ScheduleRecord> {
    const schedule = await this.owned(call, scheduleId);
    // Already active: nothing to write. Writing back the slot read above could undo a firing
    // committed meanwhile, and fire that slot again.
    if (schedule.status !== 'active') {
      const next = this.nextAfterNow(schedule);
      await this.store.setScheduleStatus(scheduleId, 'active', next, isoNow(this.clock));
    }
    return this.owned(call, scheduleId);
  }

  async delete(call: CallContext, scheduleId: string): Promise<void> {
    await this.owned(call, scheduleId);
    await this.store.deleteSchedule(scheduleId);
  }
}
