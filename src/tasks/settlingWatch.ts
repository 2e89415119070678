/**
 * The shape shared by the watches that move tasks from stored state (dependencies, multi-agent
 * parents): they act on commits, catch up on start and now and then (for moves a crashed
 * process never made), and log rather than throw, since nobody awaits them.
 */
import type { Logger } from 'pino';

const CATCH_UP_BATCH = 500;

export abstract class SettlingWatch {
  private timer?: NodeJS.Timeout;
  /** Where the periodic catch-up goes on from: it takes one batch a tick, round the ids. */
  private cursor = '';
  /** The catch-up under way: another asked for meanwhile joins it. */
  private catchingUp?: Promise<void>;

  constructor(
    protected readonly logger: Logger,
    private readonly what: string,
  ) {}

  /** Ids that may need to move: up to `limit` after `after` ('' = from the first), in order. */
  protected abstract unsettled(limit: number, after: string): Promise<string[]>;
  /** Decides one of them from what is stored; acting twice must be harmless. */
  protected abstract settle(id: string): Promise<void>;

  /** Catches up on every id at once, then on one batch a tick. */
  start(catchUpMs: number): void {
    void this.catchUp(true);
    this.timer = setInterval(() => void this.catchUp(), catchUpMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Settles the next batch of ids that may need to move, going on from where the last
   * catch-up stopped (so that every one is seen in turn, however many wait for good reasons),
   * or with `all` every batch, a turn of the event loop between them.
   */
  catchUp(all = false): Promise<void> {
    this.catchingUp ??= this.walk(all).finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  private async walk(all: boolean): Promise<void> {
    await this.guard(
      (async () => {
        for (;;) {
          const ids = await this.unsettled(CATCH_UP_BATCH, this.cursor);
          this.cursor = ids.length < CATCH_UP_BATCH ? '' : (ids[ids.length - 1] as string);
          for (const id of ids) await this.settle(id);
          if (!all || this.cursor === '') return;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })(),
    );
  }

  protected async guard(work: Promise<void>): Promise<void> {
    await work.catch((error: unknown) =>
      this.logger.error({ err: error }, `${this.what} bookkeeping failed`),
    );
  }
}
