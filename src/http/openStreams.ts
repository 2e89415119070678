/**
 * Event streams held open, by caller: each holds a connection, a feed watch and a heartbeat
 * for as long as its reader stays, so one caller (a leaked loop, a client that never closes)
 * could hold them without end. Past `limit` at once a caller's next stream is refused until
 * one of its own closes. 0: no limit.
 */
export class OpenStreams {
  private readonly open = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** Takes a place for `caller`'s stream: its release (call once it closes), or undefined when full. */
  take(caller: string): (() => void) | undefined {
    const now = this.open.get(caller) ?? 0;
    if (this.limit > 0 && now >= this.limit) return undefined;
    this.open.set(caller, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(caller) ?? 1) - 1;
      if (left > 0) this.open.set(caller, left);
      else this.open.delete(caller);
    };
  }
}
