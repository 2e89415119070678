/**
 * The retention purge: every so often, deletes finished tasks (COMPLETED, FAILED, CANCELED)
 * last changed more than `retentionDays` ago, with everything they own, in small batches so
 * that no single transaction holds the write lock for long. Off when retentionDays is 0.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { Clock } from '../clock';

const BATCH = 500;
const DAY_MS = 86_400_000;

export class RetentionPurge {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {}

  start(everyMs: number): void {
    if (this.retentionDays <= 0) return;
    void this.purge();
    this.timer = setInterval(() => void this.purge(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Deletes every task past retention now; returns how many went. */
  async purge(): Promise<number> {
    const before = new Date(this.clock().getTime() - this.retentionDays * DAY_MS).toISOString();
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.store.purgeFinished(before, BATCH);
        total += deleted;
        if (deleted < BATCH) break;
        await new Promise((resolve) => setImmediate(resolve)); // let requests through
      }
      if (total > 0) this.logger.info({ deleted: total, before }, 'retention purge');
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed');
    }
    return total;
  }
}
