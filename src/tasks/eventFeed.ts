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

interface Watched {
  listeners: Set<Listener>;
  lastSeq: number;
  reading: boolean;
  again: boolean;
}

export class EventFeed {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly store: Store) {
    store.onCommit((taskId, written) => this.changed(taskId, written.events));
  }

  /** Calls `listener` with every event after `afterSeq`, as they are committed. */
  watch(taskId: string, afterSeq: number, listener: Listener): () => void {
    let entry = this.watched.get(taskId);
    if (!entry) {
      entry = { listeners: new Set(), lastSeq: afterSeq, reading: false, again: false };
      this.watched.set(taskId, entry);
    }
    entry.listeners.add(listener);
    entry.lastSeq = Math.min(entry.lastSeq, afterSeq);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0) this.watched.delete(taskId);
    };
  }

  /** Number of database reads made for watchers (one per batch of new events per task). */
  reads = 0;

  private changed(taskId: string, events?: EventRecord[]): void {
    const entry = this.watched.get(taskId);
    if (!entry) return;
    if (!entry.reading && events && events[0]?.seq === entry.lastSeq + 1) {
      entry.lastSeq = events[events.length - 1]!.seq;
      for (const listener of entry.listeners) listener(events);
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
    const events = await this.store.listEvents(taskId, entry.lastSeq);
    if (events.length === 0) return;
    entry.lastSeq = events[events.length - 1]!.seq;
    for (const listener of entry.listeners) listener(events);
  }
}
