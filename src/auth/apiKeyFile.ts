/**
 * The API key file as the server reads it: looked at again at most once a second, and read
 * again when it changed, so that a key `arcd token create` adds works, and one taken out of the
 * file stops working, without a restart, within a second. A request that comes more than a
 * second after the last look, or while a look is under way, waits for that look (a stat, and
 * a read when the file changed): a key taken out is never honoured on keys older than that.
 * A file that no longer reads (hand-edited into bad JSON, say) leaves the keys as they were,
 * and says why once.
 */
import fs from 'node:fs';
import { ApiKeyTable, parseApiKeys, readApiKeys } from './apiKeys';
import type { Principal } from './principal';

/** How long a look at the file holds. */
const LOOK_EVERY_MS = 1000;

/** What tells one version of the file from the next (none when there is no file). */
function stampOf(stat: fs.Stats | undefined): string {
  return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : 'none';
}

export class ApiKeyFile {
  private table: ApiKeyTable;
  private stamp: string;
  private lookedAt: number;
  private looking: Promise<void> | undefined;
  private failedStamp: string | undefined;

  constructor(
    private readonly file: string,
    private readonly onUnreadable: (error: Error) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.stamp = stampOf(fs.statSync(file, { throwIfNoEntry: false }));
    this.table = new ApiKeyTable(readApiKeys(file)); // one that does not read stops the start
    this.lookedAt = now();
  }

  /** The key's principal: at once from keys looked at within the second, else after a look. */
  find(token: string): Principal | undefined | Promise<Principal | undefined> {
    const since = this.now() - this.lookedAt;
    // A clock stepped back (since < 0) would otherwise put off the next look by as much.
    if (!this.looking && (since >= LOOK_EVERY_MS || since < 0)) {
      this.lookedAt = this.now();
      this.looking = this.look().finally(() => (this.looking = undefined));
    }
    if (this.looking) return this.looking.then(() => this.table.find(token));
    return this.table.find(token);
  }

  /** Resolves once a look under way has ended (at once when none is). */
  async looked(): Promise<void> {
    await this.looking;
  }

  private async look(): Promise<void> {
    let stamp = 'unknown';
    try {
      stamp = stampOf(await fs.promises.stat(this.file).catch(absentAsUndefined));
      if (stamp === this.stamp) return;
      const text = stamp === 'none' ? '[]' : await fs.promises.readFile(this.file, 'utf8');
      this.table = new ApiKeyTable(parseApiKeys(this.file, text));
      this.stamp = stamp;
      this.failedStamp = undefined;
    } catch (error) {
      if (this.failedStamp === stamp) return;
      this.failedStamp = stamp;
      this.onUnreadable(error as Error);
    }
  }
}

function absentAsUndefined(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
