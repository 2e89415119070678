/**
 * Why a running turn's AbortSignal fired. The engine aborts with one of these, so that what
 * happens next (nothing, a retry, a failure) follows from the reason, not from guesswork.
 */

export type StopKind = 'canceled' | 'shutdown' | 'timeout' | 'deadline';

export class TurnStopped extends Error {
  constructor(
    readonly kind: StopKind,
    message: string,
  ) {
    super(message);
    this.name = 'TurnStopped';
  }
}

export function stopKindOf(signal: AbortSignal): StopKind | undefined {
  return signal.aborted && signal.reason instanceof TurnStopped ? signal.reason.kind : undefined;
}
