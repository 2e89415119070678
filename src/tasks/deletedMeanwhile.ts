/**
 * A row written for a task read a moment before (a subscription, a notification) whose task
 * was deleted in between (task.delete here or in another process, the retention purge): its
 * foreign key fails the write. The caller hears the task is not found, as it would have a
 * moment later, not an internal error.
 */
import { TaskNotFoundError } from '../rpc/errors';

export async function unlessDeletedMeanwhile<T>(taskId: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new TaskNotFoundError(taskId);
    throw error;
  }
}
