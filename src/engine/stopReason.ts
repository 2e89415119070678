/**
 * Why a running turn was stopped (its AbortSignal fired), and the switch that stops it. The
 * engine stops a turn with one of these reasons, so that what happens next (nothing, a retry,
 * a failure) follows from the reason, not from guesswork.
 */

/** `interrupted`: the turn is to run again, as after a crash (its task's create may be lost). */
export type StopKind = 'canceled' | 'shutdown' | 'interrupted' | 'timeout' | 'deadline';

export class TurnStopped extends Error {
  constructor(
    readonly kind: StopKind,
    message: string,
  ) {
    super(message);
    this.name = 'TurnStopped';
  }
}

/**
 * A running turn's stop switch. The AbortSignal the agent sees is made only when it first
 * reads `ctx.signal` (an AbortController and its signal, an EventTarget, cost ~4 µs a turn,
 * and most turns end without anyone looking); one made after the stop is already aborted.
 * The first stop wins, as with AbortController.abort.
 */
export class TurnStop {
  private controller: AbortController | undefined;
  private why: TurnStopped | undefined;
  /** The handler has returned or thrown: a stop from now on reaches no one (see `heard`). */
  private handlerEnded = false;
  /** The stop came while the handler ran. */
  private reachedHandler = false;
  private readonly listeners: Array<(reason: TurnStopped) => void> = [];

  /** Marks the handler finished; the turn's own writes may still be under way. */
  handlerDone(): void {
    this.handlerEnded = true;
  }

  /** Whether a stop now reaches the handler: it is still running. */
  get heard(): boolean {
    return !this.handlerEnded;
  }

  /**
   * Its task was canceled or failed by its deadline while the handler ran: the handler heard
   * of it by its signal, so the agent's `stopped` hook is not owed for it.
   */
  get heardTaskEnd(): boolean {
    const kind = this.why?.kind;
    return this.reachedHandler && (kind === 'canceled' || kind === 'deadline');
  }

  /** Why the turn was stopped, if it was. */
  get reason(): TurnStopped | undefined {
    return this.why;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.why) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  stop(reason: TurnStopped): void {
    if (this.why) return;
    this.why = reason;
    this.reachedHandler = !this.handlerEnded;
    this.controller?.abort(reason);
    for (const listener of this.listeners.splice(0)) listener(reason);
  }

  /** Calls `listener` once, when the turn is stopped (at once if it already was). */
  onStop(listener: (reason: TurnStopped) => void): void {
    if (this.why) listener(this.why);
    else this.listeners.push(listener);
  }
}
