/**
 * The retention purge: every so often, deletes finished tasks (COMPLETED, FAILED, CANCELED)
 * last changed more than `retentionDays` ago, with everything they own, and chats closed that
 * long ago with their messages, in small batches so that no single transaction holds the
 * write lock for long. Off when retentionDays is 0.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { Clock } from '../clock';

const BATCH = 500;
/** Fewer chats a batch: each takes all its messages with it, in the same transaction. */
const CHAT_BATCH = 50;
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

  /** Deletes every task and chat past retention now; returns how many tasks went. */
  async purge(): Promise<number> {
    const before = new Date(this.clock().getTime() - this.retentionDays * DAY_MS).toISOString();
    let total = 0;
    try {
      total = await batches(BATCH, (limit) => this.store.purgeFinished(before, limit));
      const chats = await batches(CHAT_BATCH, (limit) =>
        this.store.purgeClosedChats(before, limit),
      );
      if (total > 0 || chats > 0) {
        this.logger.info({ deleted: total, chats, before }, 'retention purge');
      }
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed');
    }
    return total;
  }
}

/** Runs `purge` batch after batch (of `size`) until one is not full; how many went in all. */
async function batches(size: number, purge: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await purge(size);
    total += deleted;
    if (deleted < size) return total;
    await new Promise((resolve) => setImmediate(resolve)); // let requests through
  }
}
