/**
 * task.list's query: one caller's tasks, newest first, filtered, with a stable keyset cursor
 * (created_at, task_id). It walks the tasks_list index, or tasks_by_created for an
 * admin's view of everyone's tasks (a test checks both plans).
 */
import type { Db } from './openDatabase';
import type { TaskRecord } from './records';
import { type TaskRow, fromTaskRow } from './taskRows';

export interface TaskListFilter {
  /** Absent only for an admin listing every caller's tasks (then tasks_by_created serves). */
  requestAgent?: string;
  statuses?: string[];
  priorities?: string[];
  agent?: string;
  createdAfter?: string;
  createdBefore?: string;
  metadata?: Record<string, string | number | boolean>;
  limit: number;
  after?: { createdAt: string; taskId: string };
}

export function taskListSql(filter: TaskListFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.requestAgent !== undefined) {
    where.push('request_agent = ?');
    params.push(filter.requestAgent);
  }
  const inList = (column: string, values: string[] | undefined) => {
    if (!values || values.length === 0) return;
    where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  inList('status', filter.statuses);
  inList('priority', filter.priorities);
  if (filter.agent) {
    where.push('assigned_agent = ?');
    params.push(filter.agent);
  }
  if (filter.createdAfter) {
    where.push('created_at > ?');
    params.push(filter.createdAfter);
  }
  if (filter.createdBefore) {
    where.push('created_at < ?');
    params.push(filter.createdBefore);
  }
  // Values match by JSON type too: `true` is not 1, nor "1" 1 (json_extract gives 1 for true).
  const at = "'$.' || json_quote(?)";
  for (const [key, value] of Object.entries(filter.metadata ?? {})) {
    if (typeof value === 'boolean') {
      where.push(`json_type(metadata, ${at}) = ?`);
      params.push(key, value ? 'true' : 'false');
    } else {
      const type = typeof value === 'string' ? "= 'text'" : "IN ('integer', 'real')";
      where.push(`json_extract(metadata, ${at}) = ? AND json_type(metadata, ${at}) ${type}`);
      params.push(key, value, key);
    }
  }
  if (filter.after) {
    where.push('(created_at, task_id) < (?, ?)');
    params.push(filter.after.createdAt, filter.after.taskId);
  }
  params.push(filter.limit);
  return {
    sql: `SELECT * FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY created_at DESC, task_id DESC LIMIT ?`,
    params,
  };
}

export function listTasks(db: Db, filter: TaskListFilter): TaskRecord[] {
  const { sql, params } = taskListSql(filter);
  return (db.prepare(sql).all(...params) as TaskRow[]).map(fromTaskRow);
}
