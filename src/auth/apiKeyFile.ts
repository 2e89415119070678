/**
 * The API key file as the server reads it: looked at again at most once a second, and read
 * again when it changed, so that a key `arcd token create` adds works, and one taken out of the
 * file stops working, without a restart. A file that no longer reads (hand-edited into bad
 * JSON, say) leaves the keys as they were, and says why once.
 */
import fs from 'node:fs';
import { ApiKeyTable, readApiKeys } from './apiKeys';
import type { Principal } from './principal';

/** How long a look at the file holds. */
const LOOK_EVERY_MS = 1000;

export class ApiKeyFile {
  private table: ApiKeyTable;
  private stamp: string;
  private lookedAt: number;
  private failedStamp: string | undefined;

  constructor(
    private readonly file: string,
    private readonly onUnreadable: (error: Error) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.stamp = this.currentStamp();
    this.table = new ApiKeyTable(readApiKeys(file)); // one that does not read stops the start
    this.lookedAt = now();
  }

  find(token: string): Principal | undefined {
    if (this.now() - this.lookedAt >= LOOK_EVERY_MS) this.look();
    return this.table.find(token);
  }

  /** What tells one version of the file from the next (none when there is no file). */
  private currentStamp(): string {
    const stat = fs.statSync(this.file, { throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : 'none';
  }

  private look(): void {
    this.lookedAt = this.now();
    let stamp: string;
    try {
      stamp = this.currentStamp();
    } catch (error) {
      return this.unreadable('unknown', error as Error);
    }
    if (stamp === this.stamp) return;
    try {
      this.table = new ApiKeyTable(readApiKeys(this.file));
      this.stamp = stamp;
      this.failedStamp = undefined;
    } catch (error) {
      this.unreadable(stamp, error as Error);
    }
  }

  private unreadable(stamp: string, error: Error): void {
    if (this.failedStamp === stamp) return;
    this.failedStamp = stamp;
    this.onUnreadable(error);
  }
}
