/**
 * The engine's rows beside the task: runs (one per turn attempt), checkpoints, usage and
 * progress. None of these is an ARC event; they are bookkeeping the engine and task.info read.
 */
import type { Db } from './openDatabase';
import type { CheckpointRecord, RunOutcome, RunRecord } from './records';
import type { JsonObject, JsonValue } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';
import type { WriteRecorder } from './writeRecorder';

interface RunRow {
  run_id: string;
  task_id: string;
  attempt: number;
  owner: string;
  started_at: string;
  completed_at: string | null;
  duration_ms: number | null;
  outcome: string;
  error: string | null;
  tokens_used: number;
  cost: number;
}

function fromRunRow(row: RunRow): RunRecord {
  return compact({
    runId: row.run_id,
    taskId: row.task_id,
    attempt: row.attempt,
    owner: row.owner,
    startedAt: row.started_at,
    completedAt: optional(row.completed_at),
    durationMs: optional(row.duration_ms),
    outcome: row.outcome as RunOutcome,
    error: fromJson<JsonObject>(row.error),
    tokensUsed: row.tokens_used,
    cost: row.cost,
  });
}

export interface RunEnd {
  completedAt: string;
  durationMs: number;
  outcome: RunOutcome;
  error?: JsonObject;
}

/** The error of a run its process died in (found `running` by the next claim of its turn). */
export const LOST_WITH_PROCESS = { code: -32603, message: 'the process running this turn stopped' };

export class RunTables {
  private readonly insertRun;
  private readonly endRun;
  private readonly interrupt;
  private readonly selectRuns;
  private readonly usageOnRun;
  private readonly usageOnTask;
  private readonly insertCheckpoint;
  private readonly selectLastCheckpoint;
  private readonly deleteEarlierCheckpoints;
  private readonly updateProgress;

  constructor(db: Db, recorder: WriteRecorder) {
    this.insertRun = recorder.statement(
      db,
      'INSERT INTO runs (run_id, task_id, attempt, owner, started_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.endRun = recorder.statement(
      db,
      // An end once only, but for the pause's: a run ended by its requestInput (in the pause's
      // transaction) is ended again as its handler ends (a stop, a failure after asking).
      `UPDATE runs SET completed_at = ?, duration_ms = ?, outcome = ?,
      error = ? WHERE run_id = ? AND outcome IN ('running', 'input-required')`,
    );
    this.interrupt = recorder.statement(
      db,
      // Its duration is the time until it was found lost (its process's end is not known).
      `UPDATE runs SET outcome = 'interrupted', completed_at = ?,
      duration_ms = MAX(0, CAST(ROUND((julianday(?) - julianday(started_at)) * 86400000) AS INTEGER)),
      error = '${JSON.stringify(LOST_WITH_PROCESS)}' WHERE task_id = ? AND outcome = 'running'`,
    );
    this.selectRuns = db.prepare<[string], RunRow>(
      'SELECT * FROM runs WHERE task_id = ? ORDER BY started_at, attempt',
    );
    this.usageOnRun = db.prepare(
      'UPDATE runs SET tokens_used = tokens_used + ?, cost = cost + ? WHERE run_id = ?',
    );
    this.usageOnTask = db.prepare(
      'UPDATE tasks SET tokens_used = tokens_used + ?, cost = cost + ? WHERE task_id = ?',
    );
    this.insertCheckpoint = db.prepare(`INSERT INTO checkpoints (task_id, seq, run_id, data,
      created_at) SELECT @taskId, COALESCE(MAX(seq), 0) + 1, @runId, @data, @at FROM checkpoints
      WHERE task_id = @taskId`);
    this.deleteEarlierCheckpoints = db.prepare<[string, string]>(`DELETE FROM checkpoints
      WHERE task_id = ? AND seq < (SELECT MAX(seq) FROM checkpoints WHERE task_id = ?)`);
    this.selectLastCheckpoint = db.prepare<
      [string],
      { task_id: string; seq: number; run_id: string; data: string; created_at: string }
    >('SELECT * FROM checkpoints WHERE task_id = ? ORDER BY seq DESC LIMIT 1');
    this.updateProgress = db.prepare(`UPDATE tasks SET
      internal_status = CASE WHEN @setStatus THEN @status ELSE internal_status END,
      progress = CASE WHEN @setProgress THEN @progress ELSE progress END
      WHERE task_id = @taskId`);
  }

  start(run: Pick<RunRecord, 'runId' | 'taskId' | 'attempt' | 'owner' | 'startedAt'>): void {
    this.insertRun.run(run.runId, run.taskId, run.attempt, run.owner, run.startedAt);
  }

  end(runId: string, end: RunEnd): void {
    this.endRun.run(end.completedAt, end.durationMs, end.outcome, toJson(end.error), runId);
  }

  /** Runs left `running` by a process that died: their turn is being run again. */
  interruptRunning(taskId: string, at: string): void {
    this.interrupt.run(at, at, taskId);
  }

  runs(taskId: string): RunRecord[] {
    return this.selectRuns.all(taskId).map(fromRunRow);
  }

  addUsage(taskId: string, runId: string, tokens: number, cost: number): void {
    this.usageOnRun.run(tokens, cost, runId);
    this.usageOnTask.run(tokens, cost, taskId);
  }

  saveCheckpoint(taskId: string, runId: string, data: JsonValue, at: string): void {
    this.insertCheckpoint.run({ taskId, runId, data: JSON.stringify(data), at });
    // Only the last is ever read (lastCheckpoint): an agent checkpointing at every step of a
    // long task would keep every copy until the task is deleted.
    this.deleteEarlierCheckpoints.run(taskId, taskId);
  }

  lastCheckpoint(taskId: string): CheckpointRecord | undefined {
    const row = this.selectLastCheckpoint.get(taskId);
    return row
      ? {
          taskId: row.task_id,
          seq: row.seq,
          runId: row.run_id,
          data: JSON.parse(row.data) as JsonValue,
          createdAt: row.created_at,
        }
      : undefined;
  }

  setProgress(
    taskId: string,
    update: { internalStatus?: string | null; progress?: number | null },
  ): void {
    this.updateProgress.run({
      taskId,
      setStatus: 'internalStatus' in update ? 1 : 0,
      status: update.internalStatus ?? null,
      setProgress: 'progress' in update ? 1 : 0,
      progress: update.progress ?? null,
    });
  }
}
