/**
 * In one process, the release of a task's dependents and a run again of one of its
 * dependencies are each a check, then a write, with awaits between: a release landing between
 * a run again's check ("no dependent released") and its write would run a dependent on a task
 * that runs again, and a run again landing between a release's read ("all COMPLETED") and its
 * write likewise. Each holds the locks of the tasks it reads as dependencies while it checks
 * and writes, in sorted order (so that two never wait on each other). Another process on the
 * same file holds its own locks: against its writes, each side's write checks again as it is
 * planned and at its commit (`releasedAtCommit`, `unmetAtCommit`), and is planned again or
 * refused when the other's landed first.
 */
export class DependencyLocks {
  /** By task id: the promise the next holder waits for (the last holder's release). */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` holding the locks of `taskIds`. */
  async holding<T>(taskIds: readonly string[], work: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = [];
    try {
      for (const taskId of [...new Set(taskIds)].sort()) releases.push(await this.take(taskId));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async take(taskId: string): Promise<() => void> {
    const before = this.tails.get(taskId);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => held) : held;
    this.tails.set(taskId, tail);
    if (before) await before;
    return () => {
      release();
      if (this.tails.get(taskId) === tail) this.tails.delete(taskId);
    };
  }
}
