/**
 * A write whose commit may or may not have happened: the writer thread stopped while its batch
 * was there. Nothing about the data is wrong; the caller just cannot know. The engine treats a
 * turn that meets one like a turn cut by a crash (run again, not failed); a caller of the
 * protocol gets an internal error, as it would from a crash before the answer.
 */
export class WriteOutcomeUnknown extends Error {
  override readonly name = 'WriteOutcomeUnknown';

  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`the write may or may not have committed (${why})`, { cause });
  }
}

/** Whether `error` is, or was caused by, a write of unknown outcome. */
export function isWriteOutcomeUnknown(error: unknown): boolean {
  for (let at: unknown = error, depth = 0; at instanceof Error && depth < 5; depth += 1) {
    if (at instanceof WriteOutcomeUnknown) return true;
    at = at.cause;
  }
  return false;
}
