/**
 * Ids: a readable prefix (`task-`, `sub-`, `msg-`, …) and a time-ordered UUIDv7, so ids sort
 * by creation and index well.
 */
import { v7 as uuidv7 } from 'uuid';

export function newId(prefix: string): string {
  return `${prefix}-${uuidv7()}`;
}
