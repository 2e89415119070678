/**
 * The shape shared by the watches that move tasks from stored state (dependencies, multi-agent
 * parents): they act on commits, catch up on start and now and then (for moves a crashed
 * process never made), and log rather than throw, since nobody awaits them.
 */
import type { Logger } from 'pino';

const CATCH_UP_BATCH = 500;

export abstract class SettlingWatch {
  private timer?: NodeJS.Timeout;

  constructor(
    protected readonly logger: Logger,
    private readonly what: string,
  ) {}

  /** Ids that may need to move (a bounded batch). */
  protected abstract unsettled(limit: number): Promise<string[]>;
  /** Decides one of them from what is stored; acting twice must be harmless. */
  protected abstract settle(id: string): Promise<void>;

  start(catchUpMs: number): void {
    void this.catchUp();
    this.timer = setInterval(() => void this.catchUp(), catchUpMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async catchUp(): Promise<void> {
    await this.guard(
      (async () => {
        for (const id of await this.unsettled(CATCH_UP_BATCH)) await this.settle(id);
      })(),
    );
  }

  protected async guard(work: Promise<void>): Promise<void> {
    await work.catch((error: unknown) =>
      this.logger.error({ err: error }, `${this.what} bookkeeping failed`),
    );
  }
}
