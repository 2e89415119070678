/**
 * The retention purge: every so often, deletes finished tasks (COMPLETED, FAILED, CANCELED)
 * last changed more than `retentionDays` ago, with everything they own, and chats closed that
 * long ago with their messages, in small batches so that no single transaction holds the
 * write lock for long (off when retentionDays is 0); and, whatever retentionDays is, trigger
 * request keys whose tasks are gone, FIRE_KEY_DAYS after their firing.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { PurgeBatch } from '../store/taskRemoval';
import type { Clock } from '../clock';

/** Tasks a batch deletes at most (a multi-agent family whole: up to 32 more). */
const BATCH = 200;
/** Fewer chats a batch: each takes all its messages with it. */
const CHAT_BATCH = 50;
/**
 * A batch's work at most, then it commits (and one slice of a history, or a row, more): the
 * purge runs on the event loop, holding the write lock, and a task's rows (events, files) may
 * be many, so they go a slice at a time, a long history over several batches.
 */
const BATCH_BUDGET_MS = 50;
const DAY_MS = 86_400_000;
/** How long a trigger's request key outlives its task: longer than senders retry for. */
export const FIRE_KEY_DAYS = 3;
/** Request keys forgotten a batch at most (small rows, one index each). */
const KEY_BATCH = 1_000;

export class RetentionPurge {
  private timer?: NodeJS.Timeout;
  /** The purge under way: a second is not started beside it (a backlog may take long). */
  private running?: Promise<number>;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {}

  /** Purges now and every `everyMs` (with retention off, only trigger keys of tasks gone). */
  start(everyMs: number): void {
    void this.purge();
    this.timer = setInterval(() => void this.purge(), everyMs);
  }

  /** Stops the timer, and a purge under way after its batch; resolves once it has. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    await this.running;
  }

  /**
   * Deletes every task and chat past retention now (or joins the purge under way); returns
   * how many tasks went.
   */
  purge(): Promise<number> {
    this.running ??= this.purgeAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async purgeAll(): Promise<number> {
    const now = this.clock().getTime();
    const daysAgo = (days: number) => new Date(now - days * DAY_MS).toISOString();
    const before = daysAgo(this.retentionDays);
    let total = 0;
    let chats = 0;
    try {
      if (this.retentionDays > 0) {
        // An owed stopped hook holds its task one retention period more at most: its agent
        // may be hosted nowhere any more.
        const stopsBefore = daysAgo(2 * this.retentionDays);
        total = await this.batches((budget) =>
          this.store.purgeFinished(before, BATCH, budget, stopsBefore),
        );
        chats = await this.batches((budget) =>
          this.store.purgeClosedChats(before, CHAT_BATCH, budget),
        );
      }
      // Trigger request keys outlive their tasks for FIRE_KEY_DAYS (a sender's retries), with
      // retention off too: task.delete leaves them.
      const keysBefore = daysAgo(FIRE_KEY_DAYS);
      await this.batches(() => this.store.purgeTriggerKeys(keysBefore, KEY_BATCH));
      if (total > 0 || chats > 0) {
        this.logger.info({ deleted: total, chats, before }, 'retention purge');
      }
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed');
    }
    return total;
  }

  /** Runs batch after batch until one finds no more (or the purge is stopped); how many went. */
  private async batches(batch: (budgetMs: number) => Promise<PurgeBatch>): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const { deleted, more } = await batch(BATCH_BUDGET_MS);
      total += deleted;
      if (!more) break;
      await new Promise((resolve) => setImmediate(resolve)); // let requests through
    }
    return total;
  }
}
