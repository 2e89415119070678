/**
 * Schedules: cron expressions that create tasks. A schedule fires in the same transaction as
 * the task it creates (see SqliteStore.fireSchedule), so a crash can neither lose a firing nor
 * make one twice.
 */
import type { Db } from './openDatabase';
import type { TaskSettings } from './records';
import type { JsonObject, Message, Priority } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';

export type ScheduleStatus = 'active' | 'paused';

/** Where a walk through the due schedules stands: after this one (next slot, then id). */
export interface DueCursor {
  nextRunAt: string;
  scheduleId: string;
}

export interface ScheduleRecord {
  scheduleId: string;
  ownerAgent: string;
  targetAgent: string;
  cron: string;
  timezone: string;
  message: Message;
  priority: Priority;
  settings?: TaskSettings;
  metadata?: JsonObject;
  status: ScheduleStatus;
  /** The next slot, UTC ISO; absent when the expression has no future slot. */
  nextRunAt?: string;
  lastRunAt?: string;
  lastTaskId?: string;
  runCount: number;
  /** Why the last slot tried did not fire; cleared when one fires. */
  lastError?: ScheduleError;
  createdAt: string;
  updatedAt: string;
}

/** A slot that did not fire: the error as the caller would have been told it, and when. */
export interface ScheduleError {
  code: number;
  message: string;
  slot: string;
  at: string;
  /** The slot was skipped (refused for good), not kept due to be tried again. */
  skipped?: true;
}

interface ScheduleRow {
  schedule_id: string;
  owner_agent: string;
  target_agent: string;
  cron: string;
  timezone: string;
  message: string;
  priority: string;
  settings: string | null;
  metadata: string | null;
  status: string;
  next_run_at: string | null;
  last_run_at: string | null;
  last_task_id: string | null;
  run_count: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

function fromScheduleRow(row: ScheduleRow): ScheduleRecord {
  return compact({
    scheduleId: row.schedule_id,
    ownerAgent: row.owner_agent,
    targetAgent: row.target_agent,
    cron: row.cron,
    timezone: row.timezone,
    message: fromJson<Message>(row.message) as Message,
    priority: row.priority as Priority,
    settings: fromJson<TaskSettings>(row.settings),
    metadata: fromJson(row.metadata),
    status: row.status as ScheduleStatus,
    nextRunAt: optional(row.next_run_at),
    lastRunAt: optional(row.last_run_at),
    lastTaskId: optional(row.last_task_id),
    runCount: row.run_count,
    lastError: fromJson<ScheduleError>(row.last_error),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

export class ScheduleTable {
  private readonly insertOne;
  private readonly selectOne;
  private readonly byOwner;
  private readonly due;
  private readonly setState;
  private readonly fired;
  private readonly skipped;
  private readonly failed;
  private readonly deleteOne;

  constructor(db: Db) {
    this.insertOne = db.prepare(`INSERT INTO schedules (schedule_id, owner_agent, target_agent,
      cron, timezone, message, priority, settings, metadata, status, next_run_at, created_at,
      updated_at) VALUES (@schedule_id, @owner_agent, @target_agent, @cron, @timezone, @message,
      @priority, @settings, @metadata, @status, @next_run_at, @created_at, @updated_at)`);
    this.selectOne = db.prepare<[string], ScheduleRow>(
      'SELECT * FROM schedules WHERE schedule_id = ?',
    );
    this.byOwner = db.prepare<[string], ScheduleRow>(
      'SELECT * FROM schedules WHERE owner_agent = ? ORDER BY created_at, schedule_id',
    );
    this.due = db.prepare<[string, string, string, number], ScheduleRow>(`SELECT * FROM schedules
      WHERE status = 'active' AND next_run_at <= ? AND (next_run_at, schedule_id) > (?, ?)
      ORDER BY next_run_at, schedule_id LIMIT ?`);
    this.setState = db.prepare(`UPDATE schedules SET status = @status, next_run_at = @next_run_at,
      updated_at = @updated_at WHERE schedule_id = @schedule_id`);
    this.fired = db.prepare(`UPDATE schedules SET next_run_at = @next_run_at,
      last_run_at = @last_run_at, last_task_id = @last_task_id, run_count = run_count + 1,
      last_error = NULL, updated_at = @last_run_at
      WHERE schedule_id = @schedule_id AND status = 'active' AND next_run_at = @slot`);
    this.skipped = db.prepare(`UPDATE schedules SET next_run_at = @next_run_at,
      last_error = @last_error, updated_at = @at
      WHERE schedule_id = @schedule_id AND status = 'active' AND next_run_at = @slot`);
    this.failed = db.prepare(`UPDATE schedules SET last_error = @last_error
      WHERE schedule_id = @schedule_id AND next_run_at = @slot`);
    this.deleteOne = db.prepare<[string]>('DELETE FROM schedules WHERE schedule_id = ?');
  }

  insert(s: ScheduleRecord): void {
    this.insertOne.run({
      schedule_id: s.scheduleId,
      owner_agent: s.ownerAgent,
      target_agent: s.targetAgent,
      cron: s.cron,
      timezone: s.timezone,
      message: toJson(s.message),
      priority: s.priority,
      settings: toJson(s.settings),
      metadata: toJson(s.metadata),
      status: s.status,
      next_run_at: s.nextRunAt ?? null,
      created_at: s.createdAt,
      updated_at: s.updatedAt,
    });
  }

  get(scheduleId: string): ScheduleRecord | undefined {
    const row = this.selectOne.get(scheduleId);
    return row ? fromScheduleRow(row) : undefined;
  }

  owned(owner: string): ScheduleRecord[] {
    return this.byOwner.all(owner).map(fromScheduleRow);
  }

  dueAt(nowIso: string, limit: number, after?: DueCursor): ScheduleRecord[] {
    return this.due
      .all(nowIso, after?.nextRunAt ?? '', after?.scheduleId ?? '', limit)
      .map(fromScheduleRow);
  }

  setStatus(scheduleId: string, status: ScheduleStatus, nextRunAt: string | undefined, at: string) {
    this.setState.run({
      schedule_id: scheduleId,
      status,
      next_run_at: nextRunAt ?? null,
      updated_at: at,
    });
  }

  /**
   * Moves a schedule past its slot without firing it (`error.slot`, refused for good); false
   * when it no longer waits on it.
   */
  markSkipped(scheduleId: string, error: ScheduleError, nextRunAt: string | undefined) {
    const { slot, at } = error;
    const next_run_at = nextRunAt ?? null;
    const last_error = toJson(error);
    return (
      this.skipped.run({ schedule_id: scheduleId, slot, next_run_at, at, last_error }).changes > 0
    );
  }

  /** Notes why its slot (`error.slot`, kept due) did not fire, while it still waits on it. */
  markFailed(scheduleId: string, error: ScheduleError): void {
    this.failed.run({ schedule_id: scheduleId, slot: error.slot, last_error: toJson(error) });
  }

  /** Advances a schedule past `slot`; false when it no longer waits on that slot (raced). */
  markFired(
    scheduleId: string,
    slot: string,
    fired: { nextRunAt: string | undefined; at: string; taskId: string },
  ): boolean {
    return (
      this.fired.run({
        schedule_id: scheduleId,
        slot,
        next_run_at: fired.nextRunAt ?? null,
        last_run_at: fired.at,
        last_task_id: fired.taskId,
      }).changes > 0
    );
  }

  delete(scheduleId: string): boolean {
    return this.deleteOne.run(scheduleId).changes > 0;
  }
}
