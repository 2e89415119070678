/**
 * Any failure as the ARC error a caller may see: an ArcError as it is; anything else (a bug, a
 * storage failure) logged under a new error id and answered -32603 with that id alone, so that
 * no internals reach the caller and an operator can find the cause.
 */
import type { Logger } from 'pino';
import { newId } from '../ids';
import { isWriteOutcomeUnknown } from '../store/writeOutcomeUnknown';
import { type ArcError, InternalError, isArcError } from './errors';

export function asArcError(
  error: unknown,
  logger: Logger,
  context: Record<string, unknown>,
  what = 'internal error while handling a call',
): ArcError {
  if (isArcError(error)) return error;
  const errorId = newId('err');
  logger.error({ err: error, errorId, ...context }, what);
  return new InternalError(errorId, isWriteOutcomeUnknown(error));
}
