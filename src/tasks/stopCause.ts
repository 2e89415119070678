/**
 * Why a change ended a task, when that is something its agent's `stopped` hook is told of: a
 * cancel, or a failure by its deadline. Read from the change's own events (a parent's log also
 * carries its children's, tagged `childTaskId`).
 */
import type { StopCause } from '../agents/contract';
import type { EventRecord } from '../store/records';
import { TASK_DEADLINE_EXCEEDED } from './failureCodes';

export function stopCauseOf(events: readonly EventRecord[] | undefined): StopCause | undefined {
  for (const event of events ?? []) {
    if (event.data.childTaskId !== undefined) continue;
    if (event.type === 'TASK_CANCELED') return 'canceled';
    const error = event.type === 'TASK_FAILED' ? event.data.error : undefined;
    if (
      error &&
      typeof error === 'object' &&
      (error as { code?: unknown }).code === TASK_DEADLINE_EXCEEDED
    ) {
      return 'deadline';
    }
  }
  return undefined;
}
