/**
 * What another process on the same database file does behind a server's back, through a
 * connection of its own: here, append one event to a task's log (the row's sequence and time
 * move with it).
 */
import type Database from 'better-sqlite3';

/** Appends event `evt-elsewhere` of `type` to `taskId`'s log; returns its sequence number. */
export function appendEventElsewhere(
  other: Database.Database,
  taskId: string,
  type: string,
  data: object,
  at = new Date().toISOString(),
): number {
  return other.transaction(() => {
    const { last_seq: last } = other
      .prepare('SELECT last_seq FROM tasks WHERE task_id = ?')
      .get(taskId) as { last_seq: number };
    other
      .prepare(
        'INSERT INTO events (task_id, seq, event_id, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(taskId, last + 1, 'evt-elsewhere', type, JSON.stringify(data), at);
    other
      .prepare('UPDATE tasks SET last_seq = ?, updated_at = ? WHERE task_id = ?')
      .run(last + 1, at, taskId);
    return last + 1;
  })();
}
