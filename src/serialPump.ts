/**
 * Runs an async job on demand, one run at a time: a poke while a run is under way asks for
 * exactly one more run after it, however many pokes came. With `coalesce`, pokes made in the
 * same turn of the event loop share one run. Errors go to `onError`; nothing is thrown.
 */
export class SerialPump {
  private running = false;
  /** The job has begun reading state: a poke now needs another run after it. */
  private begun = false;
  private again = false;
  private stopped = false;
  /** Settles when the run under way (if any) has ended. */
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly job: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly coalesce = false,
  ) {}

  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      if (this.begun) this.again = true;
      return;
    }
    this.running = true;
    this.begun = false;
    const start = this.coalesce
      ? new Promise<void>((resolve) => setImmediate(resolve))
      : Promise.resolve();
    this.current = start
      .then(() => {
        this.begun = true;
        return this.stopped ? undefined : this.job();
      })
      .catch(this.onError)
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** No more runs; resolves once the run under way, if any, has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.current;
  }

  resume(): void {
    this.stopped = false;
  }
}
