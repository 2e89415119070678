/**
 * The checkpoint a task's current run may use: its last one, if this run saved it. One saved
 * before task.retry or task.run started the task anew (its `startedAt`) belongs to an earlier
 * run, whose progress a new run must not resume; turns resumed after input and retried
 * attempts keep seeing it.
 */
import type { CheckpointRecord, TaskRecord } from '../store/records';
import type { Store } from '../store/store';

export async function runCheckpoint(
  store: Store,
  task: TaskRecord,
): Promise<CheckpointRecord | undefined> {
  const last = await store.lastCheckpoint(task.taskId);
  return last && task.startedAt && last.createdAt >= task.startedAt ? last : undefined;
}
