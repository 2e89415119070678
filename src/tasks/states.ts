/**
 * The task state table: which status may follow which, and the ARC error for every move
 * that may not happen. Pure: no I/O, no clock. Everything that changes a status asks here.
 */
import type { TaskStatus } from '../types';
import type { TaskRecord } from '../store/records';
import {
  type ArcError,
  InvalidTransitionError,
  TaskAlreadyCanceledError,
  TaskAlreadyCompletedError,
} from '../rpc/errors';

const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  SUBMITTED: ['WORKING', 'CANCELED', 'FAILED'],
  WORKING: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'],
  INPUT_REQUIRED: ['WORKING', 'CANCELED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
  CANCELED: [],
};

export function isTerminal(status: TaskStatus): boolean {
  return NEXT[status].length === 0;
}

/**
 * When a finished task ended: its completion, failure or cancel (a run again clears them all),
 * else its last change.
 */
export function endedAt(
  task: Pick<TaskRecord, 'completedAt' | 'failedAt' | 'canceledAt' | 'updatedAt'>,
): string {
  return task.completedAt ?? task.failedAt ?? task.canceledAt ?? task.updatedAt;
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return NEXT[from].includes(to);
}

/** The error for a move out of `from` that the table forbids (terminal states have their own codes). */
export function transitionError(taskId: string, from: TaskStatus, to: TaskStatus): ArcError {
  if (from === 'COMPLETED') return new TaskAlreadyCompletedError(taskId);
  if (from === 'CANCELED') return new TaskAlreadyCanceledError(taskId);
  return new InvalidTransitionError(taskId, from, to);
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw transitionError(taskId, from, to);
}
