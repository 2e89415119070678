/**
 * Wakes the runner when a retry falls due or a deadline passes, instead of at its next poll
 * (up to `--poll-ms` late). The rows hold every due time and the poll still finds them all:
 * these timers only make the look come on time, so losing them (a restart) loses nothing.
 * Times are rounded up to the next BUCKET_MS, so a burst of tasks due together shares a timer.
 */
import { type Clock, MAX_TIMER_MS } from '../clock';

const BUCKET_MS = 10;

export class DueTimers {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly wake: () => void,
  ) {}

  /** Wakes once `atMs` (epoch ms) has passed, unless that is more than `withinMs` away. */
  /** A time past MAX_TIMER_MS away is left to the poll. */
  at(atMs: number, withinMs = MAX_TIMER_MS): void {
    if (!Number.isFinite(atMs)) return; // not a time (an unparsable deadline): the poll's
    const due = Math.ceil(atMs / BUCKET_MS) * BUCKET_MS;
    const delay = due - this.clock().getTime();
    if (this.stopped || delay < 0 || delay > Math.min(withinMs, MAX_TIMER_MS)) return;
    if (this.timers.has(due)) return;
    const timer = setTimeout(() => {
      this.timers.delete(due);
      this.wake();
    }, delay + 1);
    timer.unref();
    this.timers.set(due, timer);
  }

  /** How many times are waited for (tests). */
  get pending(): number {
    return this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
