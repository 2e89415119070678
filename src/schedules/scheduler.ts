/**
 * Fires due schedules: each due schedule creates its task like task.create would, and moves
 * to its next slot after *now*, in one transaction. So a schedule missed while the server was
 * down fires once when it is back (not once per missed slot), and the task's metadata says so:
 * `schedule.late` is set and `schedule.skippedSlots` counts the later slots that also passed
 * and were folded into this one firing.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { DueCursor, ScheduleError, ScheduleRecord } from '../store/scheduleRows';
import type { TaskService } from '../tasks/taskService';
import { type Clock, isoNow } from '../clock';
import { nextSlot, slotsBetween } from './cronTimes';
import { SerialPump } from '../serialPump';
import { AgentCapacityExceededError, AgentNotFoundError, isArcError } from '../rpc/errors';

const BATCH = 50;
/** A slot fired later than this is reported as late (missed while down or overloaded). */
const LATE_AFTER_MS = 60_000;

/** Slots a late firing counts as skipped, at most (each a cron step to walk). */
const MAX_SLOTS_COUNTED = 1000;

/**
 * The time a firing of `slot` reckons from: now, or the slot itself when the clock reads
 * earlier (stepped back by NTP past it, "now" would give the same slot again: fired twice).
 */
function notBefore(slot: string, now: Date): Date {
  return new Date(Math.max(now.getTime(), Date.parse(slot)));
}

export class Scheduler {
  private timer?: NodeJS.Timeout;
  /**
   * Slots passed since a late firing's own, counted up to `upTo`, per schedule: a firing held
   * back (a full queue) counts only the slots since its last try, not all again every tick.
   */
  private readonly passed = new Map<string, { slot: string; upTo: Date; count: number }>();
  /** Stopped: the tick under way fires no more (its walk may be thousands of schedules long). */
  private stopping = false;
  private readonly pump = new SerialPump(
    async () => {
      await this.fireDue(() => this.stopping);
    },
    (error) => this.logger.error({ err: error }, 'schedule tick failed'),
  );

  constructor(
    private readonly store: Store,
    private readonly tasks: TaskService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** The agents this process hosts (a schedule of another is left to a process hosting it). */
    private readonly hosted: () => string[],
  ) {}

  start(pollMs: number): void {
    this.stopping = false;
    this.pump.resume();
    this.pump.poke();
    this.timer = setInterval(() => this.pump.poke(), pollMs);
  }

  /** No more firings; resolves once the one under way (if any) has ended. */
  stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    return this.pump.stop();
  }

  /**
   * Fires every schedule due now, each at most once a call: one that fails (its agent's queue
   * full, say) stays due and is tried again on the next tick. Between batches the event loop
   * gets a turn; once `stopped` says so (the server stopping), no more fire. Returns the
   * ids of the tasks created.
   */
  async fireDue(stopped: () => boolean = () => false): Promise<string[]> {
    const created: string[] = [];
    const now = isoNow(this.clock);
    let after: DueCursor | undefined;
    const seen = new Set<string>();
    for (;;) {
      const due = await this.store.dueSchedules(now, BATCH, after);
      for (const schedule of due) {
        if (stopped()) return created;
        seen.add(schedule.scheduleId);
        const taskId = await this.fire(schedule).catch((error: unknown) =>
          this.notFired(schedule, error),
        );
        if (taskId) created.push(taskId);
      }
      const last = due[due.length - 1];
      if (due.length < BATCH || !last?.nextRunAt) {
        // Counts kept for firings held back of schedules no longer due (paused, deleted).
        for (const scheduleId of this.passed.keys()) {
          if (!seen.has(scheduleId)) this.passed.delete(scheduleId);
        }
        return created;
      }
      after = { nextRunAt: last.nextRunAt, scheduleId: last.scheduleId };
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * A firing that failed. Its agent's queue full (-41011) or its agent not hosted here
   * (-41001: a task made now would never run, nor could its caller reach it here), or a
   * failure of arcd's own (a write): the slot stays due and is tried again next tick, firing late once it can. Refused
   * for good (an ARC error about the schedule's own task, such as a message over the part
   * limits lowered since): the slot is skipped, so that the schedule goes on to its next slot
   * rather than failing every tick. Either way the schedule keeps why as its `lastError`
   * (schedule.list), and the log says so once, not every tick the same failure repeats.
   */
  private async notFired(schedule: ScheduleRecord, error: unknown): Promise<undefined> {
    const { scheduleId, nextRunAt: slot } = schedule;
    if (!slot) return undefined;
    const now = this.clock();
    const told = isArcError(error) ? error : undefined; // else arcd's own: no internals shown
    const failure: ScheduleError = {
      code: told?.code ?? -32603,
      message: told?.message ?? 'internal error (logged)',
      slot,
      at: now.toISOString(),
    };
    try {
      if (
        !told ||
        error instanceof AgentCapacityExceededError ||
        error instanceof AgentNotFoundError
      ) {
        const last = schedule.lastError;
        if (last?.slot === slot && last.code === failure.code && last.message === failure.message)
          return undefined; // told already
        // Not hosted here, and the slot's failure already said (by a process that hosts the
        // agent, whose word it is, or by this one): not said over it, tick after tick.
        if (error instanceof AgentNotFoundError && last?.slot === slot) return undefined;
        this.logger.warn(
          { err: error, scheduleId, slot },
          'schedule not fired; tried again next tick',
        );
        await this.store.scheduleFailed(scheduleId, failure);
        return undefined;
      }
      const next = nextSlot(schedule.cron, schedule.timezone, notBefore(slot, now))?.toISOString();
      await this.store.skipSchedule(scheduleId, { ...failure, skipped: true }, next);
      this.logger.warn({ err: error, scheduleId, slot, next }, 'schedule slot skipped: refused');
    } catch (writeError) {
      this.logger.error({ err: writeError, scheduleId }, 'schedule failure could not be kept');
    }
    return undefined;
  }

  private async fire(schedule: ScheduleRecord): Promise<string | undefined> {
    const slot = schedule.nextRunAt;
    if (!slot) return undefined;
    const hosted = this.hosted();
    if (!hosted.includes(schedule.targetAgent)) {
      // Another process on the file may host it: left to it until the slot is late.
      if (this.clock().getTime() - Date.parse(slot) <= LATE_AFTER_MS) return undefined;
      throw new AgentNotFoundError(schedule.targetAgent, hosted);
    }
    const now = notBefore(slot, this.clock());
    const late = now.getTime() - Date.parse(slot) > LATE_AFTER_MS;
    const skippedSlots = late ? this.slotsPassed(schedule, slot, now) : 0;
    const next = nextSlot(schedule.cron, schedule.timezone, now)?.toISOString();
    const applied = await this.tasks.createWith(
      { requestAgent: schedule.ownerAgent, targetAgent: schedule.targetAgent },
      {
        // Each firing's message is of its own time, not of the one stored with the schedule.
        initialMessage: { ...schedule.message, timestamp: undefined },
        priority: schedule.priority,
        ...(schedule.settings ? { settings: schedule.settings } : {}),
        metadata: {
          ...schedule.metadata,
          schedule: {
            scheduleId: schedule.scheduleId,
            scheduledFor: slot,
            ...(late ? { late: true, skippedSlots } : {}),
          },
        },
      },
      (task, initial) => this.store.fireSchedule(schedule.scheduleId, slot, next, task, initial),
    );
    this.passed.delete(schedule.scheduleId);
    if (!applied) return undefined;
    this.tasks.stored(applied);
    return applied.task.taskId;
  }

  /** The slots after `slot` up to `now` (at most MAX_SLOTS_COUNTED), counted on from the last try's count. */
  private slotsPassed(schedule: ScheduleRecord, slot: string, now: Date): number {
    const known = this.passed.get(schedule.scheduleId);
    const from = known?.slot === slot ? known : { slot, upTo: new Date(slot), count: 0 };
    const more = MAX_SLOTS_COUNTED - from.count;
    const count = from.count + slotsBetween(schedule.cron, schedule.timezone, from.upTo, now, more);
    this.passed.set(schedule.scheduleId, { slot, upTo: now, count });
    return count;
  }
}
