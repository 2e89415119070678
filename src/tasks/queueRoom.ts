/**
 * An agent's queue bound (`limits.maxQueued`), held exactly against bursts. The committed
 * count alone misses the tasks this process has admitted but not yet committed (forty creates
 * arriving together are all checked before the first of them commits), so each task admitted
 * to a bounded queue holds a place until its write has settled. A held task whose row has
 * committed meanwhile is counted once: the count leaves out the held ids it finds queued.
 *
 * Another process writing the same file holds its own places: the two may pass the bound by
 * their writes in flight, never by more.
 */
import { AgentCapacityExceededError } from '../rpc/errors';

/** SUBMITTED tasks of `agent`, not counting those of `leavingOut` (committed rows only). */
export type CountQueued = (agent: string, leavingOut: readonly string[]) => Promise<number>;

/** Lets go of a held place: called once the task's write committed or failed. */
export type Release = () => void;

export class QueueRoom {
  /**
   * Task ids holding a place, by agent, each with its number of holds: two calls running one
   * task again (only one of which can write it) hold one place until both let go.
   */
  private readonly held = new Map<string, Map<string, number>>();
  /** Holds taken or let go, by agent: a count read across a change is read again. */
  private readonly changes = new Map<string, number>();

  constructor(
    private readonly countQueued: CountQueued,
    private readonly maxQueued: (agent: string) => number | undefined,
  ) {}

  /**
   * Holds a place in `agent`'s queue for `taskId`, about to be written as queued (new, or run
   * again); -41011 when the queue is full. Release it once that write has settled. Nothing to
   * hold (undefined, at once) for an agent without a bound.
   */
  hold(agent: string, taskId: string): Promise<Release> | undefined {
    const max = this.maxQueued(agent);
    return max === undefined ? undefined : this.holdWithin(agent, taskId, max);
  }

  private async holdWithin(agent: string, taskId: string, max: number): Promise<Release> {
    for (;;) {
      const seen = this.changes.get(agent);
      const ids = [...(this.held.get(agent)?.keys() ?? [])];
      const committed = await this.countQueued(agent, ids);
      if (seen !== this.changes.get(agent)) continue; // a place was taken or let go meanwhile
      if (committed + ids.length >= max) throw new AgentCapacityExceededError(agent, max);
      return this.take(agent, taskId);
    }
  }

  private take(agent: string, taskId: string): Release {
    let ids = this.held.get(agent);
    if (!ids) this.held.set(agent, (ids = new Map()));
    ids.set(taskId, (ids.get(taskId) ?? 0) + 1);
    this.changed(agent);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const holds = (ids.get(taskId) ?? 1) - 1;
      if (holds > 0) ids.set(taskId, holds);
      else ids.delete(taskId);
      if (ids.size === 0 && this.held.get(agent) === ids) this.held.delete(agent);
      this.changed(agent);
    };
  }

  private changed(agent: string): void {
    this.changes.set(agent, (this.changes.get(agent) ?? 0) + 1);
  }
}

/** Runs `write`, then lets go of every place held for it, whether it committed or failed. */
export async function releasedAfter<T>(holds: Release[], write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } finally {
    for (const release of holds) release();
  }
}
