/**
 * Live task events for streams: one reader per task, however many watchers. After each commit
 * that appended events to a watched task, the feed hands the new events to every watcher of
 * that task, in order: as the commit reported them when they follow the last sequence handed
 * out, else read once from the database from that sequence on (a gap: events committed by
 * another process, or while a read was under way).
 */
import type { EventRecord } from '../store/records';
import type { Store } from '../store/store';

type Listener = (events: EventRecord[]) => void;

/** A watcher's handle. */
export interface Watch {
  stop(): void;
  /**
   * The watcher has every event up to `seq` by other means (a replay): once every watcher of
   * the task has, the next commit's events follow on without a read.
   */
  caughtUp(seq: number): void;
}

interface Watched {
  /** Each watcher, with the last sequence it is known to have. */
  listeners: Map<Listener, number>;
  reading: boolean;
  again: boolean;
}

export class EventFeed {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly store: Store) {
    store.onCommit((taskId, written) => this.changed(taskId, written.events));
  }

  /** Calls `listener` with every event after `afterSeq`, as they are committed. */
  watch(taskId: string, afterSeq: number, listener: Listener): Watch {
    let entry = this.watched.get(taskId);
    if (!entry) {
      entry = { listeners: new Map(), reading: false, again: false };
      this.watched.set(taskId, entry);
    }
    const watched = entry;
    watched.listeners.set(listener, afterSeq);
    return {
      stop: () => {
        watched.listeners.delete(listener);
        if (watched.listeners.size === 0) this.watched.delete(taskId);
      },
      caughtUp: (seq) => {
        const had = watched.listeners.get(listener);
        if (had !== undefined && seq > had) watched.listeners.set(listener, seq);
      },
    };
  }

  /** Every watcher of the task has every event up to here. */
  private handedOut(entry: Watched): number {
    return Math.min(...entry.listeners.values());
  }

  /** Hands `events` (the next ones after `handedOut`) to every watcher of the task. */
  private handOut(entry: Watched, events: EventRecord[]): void {
    const last = events[events.length - 1]!.seq;
    for (const [listener, had] of entry.listeners) {
      entry.listeners.set(listener, Math.max(had, last));
      listener(events);
    }
  }

  /** Number of database reads made for watchers (one per batch of new events per task). */
  reads = 0;

  private changed(taskId: string, events?: EventRecord[]): void {
    const entry = this.watched.get(taskId);
    if (!entry) return;
    if (!entry.reading && events && events[0]?.seq === this.handedOut(entry) + 1) {
      this.handOut(entry, events);
      return;
    }
    if (entry.reading) {
      entry.again = true;
      return;
    }
    entry.reading = true;
    void this.read(taskId, entry).finally(() => {
      entry.reading = false;
      if (entry.again) {
        entry.again = false;
        this.changed(taskId);
      }
    });
  }

  private async read(taskId: string, entry: Watched): Promise<void> {
    this.reads += 1;
    const events = await this.store.listEvents(taskId, this.handedOut(entry));
    if (events.length > 0) this.handOut(entry, events);
  }
}
