/**
 * Task rows: the SQL that reads and writes the tasks table, and the row ↔ record mapping.
 */
import type { Db } from './openDatabase';
import type { TaskPatch, TaskRecord } from './records';
import type { Priority, TaskStatus } from '../types';
import { compact, fromJson, optional, toJson } from './rowMapping';
import { extended } from '../extended';
import type { RecordedStatement, SqlParam, WriteRecorder } from './writeRecorder';

export interface TaskRow {
  task_id: string;
  status: string;
  priority: string;
  priority_rank: number;
  assigned_agent: string;
  request_agent: string;
  metadata: string | null;
  reason: string | null;
  error: string | null;
  trace_id: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  paused_at: string | null;
  completed_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  message_count: number;
  artifact_count: number;
  last_seq: number;
  pending_turn: number;
  lease_owner: string | null;
  lease_until: number | null;
  settings: string | null;
  deadline: string | null;
  attempt: number;
  next_attempt_at: number | null;
  last_error: string | null;
  internal_status: string | null;
  progress: number | null;
  tokens_used: number;
  cost: number;
  dependencies: string | null;
  blocked: number;
  parent_task_id: string | null;
  child_task_ids: string | null;
  run_from: number;
}

/** The columns that tell whether a task row changed since it was last seen. */
const VERSION_COLUMNS = [
  'status',
  'updated_at',
  'last_seq',
  'lease_owner',
  'lease_until', // a renewal: the owner still runs it, and a claim read before must not pass
  'attempt',
  'tokens_used',
  'cost',
  'internal_status',
  'progress',
] as const satisfies ReadonlyArray<keyof TaskRow>;

type VersionRow = Pick<TaskRow, (typeof VERSION_COLUMNS)[number]>;

const VERSION_SQL = `SELECT ${VERSION_COLUMNS.join(', ')} FROM tasks WHERE task_id = ?`;

/** The version columns' values for `task`, in VERSION_COLUMNS order. */
function versionOf(task: TaskRecord): SqlParam[] {
  return [
    task.status,
    task.updatedAt,
    task.lastSeq,
    task.leaseOwner ?? null,
    task.leaseUntil ?? null,
    task.attempt,
    task.tokensUsed,
    task.cost,
    task.internalStatus ?? null,
    task.progress ?? null,
  ];
}

/** A task's history counters, kept on its row. */
export type HistoryCounts = Pick<TaskRecord, 'messageCount' | 'artifactCount' | 'lastSeq'>;

export const PRIORITY_RANK: Record<Priority, number> = { LOW: 0, NORMAL: 1, HIGH: 2, URGENT: 3 };

export function fromTaskRow(row: TaskRow): TaskRecord {
  return compact({
    taskId: row.task_id,
    status: row.status as TaskStatus,
    priority: row.priority as Priority,
    assignedAgent: row.assigned_agent,
    requestAgent: row.request_agent,
    metadata: fromJson(row.metadata),
    reason: optional(row.reason),
    error: fromJson(row.error),
    traceId: optional(row.trace_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: optional(row.started_at),
    pausedAt: optional(row.paused_at),
    completedAt: optional(row.completed_at),
    canceledAt: optional(row.canceled_at),
    failedAt: optional(row.failed_at),
    messageCount: row.message_count,
    artifactCount: row.artifact_count,
    lastSeq: row.last_seq,
    pendingTurn: row.pending_turn === 1,
    leaseOwner: optional(row.lease_owner),
    leaseUntil: optional(row.lease_until),
    settings: fromJson(row.settings),
    deadline: optional(row.deadline),
    attempt: row.attempt,
    nextAttemptAt: optional(row.next_attempt_at),
    lastError: fromJson(row.last_error),
    internalStatus: optional(row.internal_status),
    progress: optional(row.progress),
    tokensUsed: row.tokens_used,
    cost: row.cost,
    dependencies: fromJson(row.dependencies),
    blocked: row.blocked === 1,
    parentTaskId: optional(row.parent_task_id),
    childTaskIds: fromJson<string[]>(row.child_task_ids),
    runFrom: row.run_from === 0 ? undefined : row.run_from,
  });
}

const PATCH_COLUMNS: Record<keyof TaskPatch, string> = {
  status: 'status',
  priority: 'priority',
  metadata: 'metadata',
  settings: 'settings',
  deadline: 'deadline',
  blocked: 'blocked',
  reason: 'reason',
  error: 'error',
  updatedAt: 'updated_at',
  startedAt: 'started_at',
  pausedAt: 'paused_at',
  completedAt: 'completed_at',
  canceledAt: 'canceled_at',
  failedAt: 'failed_at',
  pendingTurn: 'pending_turn',
  leaseOwner: 'lease_owner',
  leaseUntil: 'lease_until',
  attempt: 'attempt',
  nextAttemptAt: 'next_attempt_at',
  lastError: 'last_error',
  internalStatus: 'internal_status',
  progress: 'progress',
  runFrom: 'run_from',
};

const JSON_COLUMNS = new Set<keyof TaskPatch>(['error', 'lastError', 'metadata', 'settings']);

function toColumnValue(key: keyof TaskPatch, value: unknown): SqlParam {
  if (value === null || value === undefined) return null;
  if (JSON_COLUMNS.has(key)) return toJson(value);
  if (key === 'pendingTurn' || key === 'blocked') return value ? 1 : 0;
  return value as SqlParam;
}

export class TaskTable {
  private readonly updates = new Map<string, RecordedStatement>();
  private readonly selectOne;
  private readonly selectVersion;
  private readonly versionGuard;
  private readonly insertOne;
  private readonly insertEdge;
  private readonly leaseOne;
  private readonly selectChildren;
  private readonly unsettledParents;

  constructor(
    private readonly db: Db,
    private readonly recorder: WriteRecorder,
  ) {
    this.selectOne = db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE task_id = ?');
    this.selectVersion = db.prepare<[string], VersionRow>(VERSION_SQL);
    this.versionGuard = recorder.guard(db, VERSION_SQL);
    this.insertOne = recorder.statement(
      db,
      `INSERT INTO tasks (task_id, status, priority, priority_rank,
      assigned_agent, request_agent, metadata, trace_id, created_at, updated_at, started_at,
      message_count, artifact_count, last_seq, pending_turn, lease_owner, lease_until,
      settings, deadline, attempt, dependencies, blocked, parent_task_id, child_task_ids)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.leaseOne = recorder.statement(
      db,
      'UPDATE tasks SET lease_owner = ?, lease_until = ? WHERE task_id = ?',
    );
    this.selectChildren = db.prepare<[string], TaskRow>(
      'SELECT * FROM tasks WHERE parent_task_id = ? ORDER BY created_at, task_id',
    );
    this.unsettledParents = db.prepare<[string, string, number], { task_id: string }>(`
      SELECT task_id FROM (
        SELECT task_id FROM tasks WHERE child_task_ids IS NOT NULL
          AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED') AND task_id > ?
        UNION
        SELECT parent_task_id FROM tasks WHERE parent_task_id IS NOT NULL
          AND status IN ('SUBMITTED', 'WORKING', 'INPUT_REQUIRED') AND parent_task_id > ?
      ) ORDER BY task_id LIMIT ?`);
    this.insertEdge = recorder.statement(
      db,
      'INSERT INTO task_dependencies (task_id, depends_on) VALUES (?, ?)',
    );
  }

  /**
   * The task as committed (guarded, while a batch is recorded: see WriteRecorder.guard), or as
   * a batch not yet committed has written it.
   */
  get(taskId: string): TaskRecord | undefined {
    const written = this.asWritten(taskId);
    if (written) return written;
    const row = this.selectOne.get(taskId);
    return row && this.guarded(row);
  }

  /**
   * The task as a batch not yet committed wrote it, if one did. An earlier batch's row is
   * guarded too: that batch commits before this one runs, and another process may change the
   * row in between (planned on blind, this batch would reuse its event numbers, or put back
   * counters that process moved).
   */
  private asWritten(taskId: string): TaskRecord | undefined {
    const written = this.recorder.taskAsWritten(taskId);
    if (written && this.recorder.writtenBefore(taskId)) {
      this.versionGuard.expect(versionOf(written), taskId);
    }
    return written;
  }

  /** A row read outside the batch being recorded, guarded in it (see WriteRecorder.guard). */
  private guarded(row: TaskRow): TaskRecord {
    const task = fromTaskRow(row);
    this.versionGuard.expect(versionOf(task), task.taskId);
    return task;
  }

  /**
   * Whether the row is still `known`: every change through a plan moves `updated_at` and the
   * event sequence (or the attempt and lease, for a claim), and the few direct writes (usage,
   * progress) move their own columns, so a narrow read stands in for the whole row. While a
   * batch for the writer thread is being recorded, the thread makes that read instead, inside
   * the batch's transaction (a guard): the answer here is "yes", and a row found changed
   * there has the write planned again on the row as read (`get`, guarded in turn).
   */
  isUnchanged(known: TaskRecord): boolean {
    const written = this.asWritten(known.taskId);
    if (written) return written === known;
    if (this.recorder.foundChanged(known.taskId)) return false;
    const expected = versionOf(known);
    if (this.versionGuard.expect(expected, known.taskId)) return true;
    return this.matches(known, expected);
  }

  /**
   * A claim's candidate, read before the batch that claims it: as a batch not yet committed
   * left it, else the row as read, guarded (the claim commits only if no one changed it).
   */
  candidate(row: TaskRow): TaskRecord {
    return this.asWritten(row.task_id) ?? this.guarded(row);
  }

  /** Leases a task without starting a turn (a claim's task that no agent here runs). */
  lease(task: TaskRecord, leaseOwner: string, leaseUntil: number): TaskRecord {
    this.leaseOne.run(leaseOwner, leaseUntil, task.taskId);
    const leased = extended(task, { leaseOwner, leaseUntil });
    this.recorder.rememberTask(leased);
    return leased;
  }

  /** Whether the committed row is still `known` (a narrow read of its version columns). */
  isCurrent(known: TaskRecord): boolean {
    return this.matches(known, versionOf(known));
  }

  private matches(known: TaskRecord, expected: SqlParam[]): boolean {
    const row = this.selectVersion.get(known.taskId);
    return row !== undefined && VERSION_COLUMNS.every((column, i) => row[column] === expected[i]);
  }

  /** A new task's row, as its creation (and a direct start, if any) leave it. */
  insert(task: TaskRecord): void {
    // Positional parameters, in the column order above: binding by name costs a lookup each.
    this.insertOne.run(
      task.taskId,
      task.status,
      task.priority,
      PRIORITY_RANK[task.priority],
      task.assignedAgent,
      task.requestAgent,
      toJson(task.metadata),
      task.traceId ?? null,
      task.createdAt,
      task.updatedAt,
      task.startedAt ?? null,
      task.messageCount,
      task.artifactCount,
      task.lastSeq,
      task.pendingTurn ? 1 : 0,
      task.leaseOwner ?? null,
      task.leaseUntil ?? null,
      toJson(task.settings),
      task.deadline ?? null,
      task.attempt,
      toJson(task.dependencies),
      task.blocked ? 1 : 0,
      task.parentTaskId ?? null,
      toJson(task.childTaskIds),
    );
    for (const dependency of task.dependencies ?? []) this.insertEdge.run(task.taskId, dependency);
    this.recorder.rememberTask(task);
  }

  /** One UPDATE per change: the patch and the history counters together (`updated`: after). */
  patch(updated: TaskRecord, patch: TaskPatch, counts: HistoryCounts): void {
    const keys = (Object.keys(patch) as Array<keyof TaskPatch>).filter(
      (key) => patch[key] !== undefined,
    );
    const signature = keys.join(',');
    let statement = this.updates.get(signature);
    if (!statement) {
      const sets = keys.map((key) => `${PATCH_COLUMNS[key]} = ?`);
      if (keys.includes('priority')) sets.push('priority_rank = ?');
      sets.push('message_count = ?', 'artifact_count = ?', 'last_seq = ?');
      statement = this.recorder.statement(
        this.db,
        `UPDATE tasks SET ${sets.join(', ')} WHERE task_id = ?`,
      );
      this.updates.set(signature, statement);
    }
    const values = keys.map((key) => toColumnValue(key, patch[key]));
    if (patch.priority) values.push(PRIORITY_RANK[patch.priority]);
    values.push(counts.messageCount, counts.artifactCount, counts.lastSeq);
    statement.run(...values, updated.taskId);
    this.recorder.rememberTask(updated);
  }

  children(parentTaskId: string): TaskRecord[] {
    return this.selectChildren.all(parentTaskId).map(fromTaskRow);
  }

  /** Live parents, and parents with live children (a canceled parent cancels them), after
   * `after` in id order. */
  parentsToSettle(limit: number, after = ''): string[] {
    return this.unsettledParents.all(after, after, limit).map((row) => row.task_id);
  }
}
