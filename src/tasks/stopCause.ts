/**
 * Why a change ended a task, when that is something its agent's `stopped` hook is told of: a
 * cancel, a failure by its deadline, or one because its turns kept being lost. Read from the
 * change's own events (a parent's log also carries its children's, tagged `childTaskId`).
 */
import type { StopCause } from '../agents/contract';
import type { EventRecord } from '../store/records';
import { LOST_TURNS, RETRY_PAST_DEADLINE, TASK_DEADLINE_EXCEEDED } from './failureCodes';

export function stopCauseOf(events: readonly EventRecord[] | undefined): StopCause | undefined {
  for (const event of events ?? []) {
    if (event.data.childTaskId !== undefined) continue;
    if (event.type === 'TASK_CANCELED') return 'canceled';
    const error = event.type === 'TASK_FAILED' ? event.data.error : undefined;
    if (!error || typeof error !== 'object') continue;
    if ((error as { code?: unknown }).code === TASK_DEADLINE_EXCEEDED) return 'deadline';
    if ((error as Record<string, unknown>)[RETRY_PAST_DEADLINE] !== undefined) return 'deadline';
    if ((error as Record<string, unknown>)[LOST_TURNS] !== undefined) return 'lost';
  }
  return undefined;
}
