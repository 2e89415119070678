/**
 * Live task events for streams: one reader per task, however many watchers. After each commit
 * that appended events to a watched task, the feed hands the new events to every watcher of
 * that task, in order: as the commit reported them when they follow the last sequence handed
 * out, else read once from the database from that sequence on (a gap: events committed by
 * another process, or while a read was under way). A watcher still replaying the log by
 * itself (an event stream opening) takes each commit's events as reported, and is kept
 * contiguous from the sequence it says it caught up to. Another process's commits are not
 * reported here: each `everyMs` (0: never, for a file no other process can open), the watched
 * tasks no commit was heard for since the last look have their last sequence read, in one
 * query, and those past what was handed out are read (a stream would otherwise wait for ever
 * for a task another process runs to its end).
 */
import type { EventRecord } from '../store/records';
import type { Store } from '../store/store';

type Listener = (events: EventRecord[]) => void;

/** A watcher's handle. */
export interface Watch {
  stop(): void;
  /**
   * The watcher has every event up to `seq` by other means (a replay): once every watcher of
   * the task has, the next commit's events follow on without a read. A replaying watcher
   * (`watchReplaying`) is from then on kept contiguous after `seq`, as any other.
   */
  caughtUp(seq: number): void;
}

interface Watched {
  /** Each watcher, with the last sequence it is known to have (replaying ones: none yet). */
  listeners: Map<Listener, number | undefined>;
  reading: boolean;
  again: boolean;
  /** A commit was heard (or the task first watched) since the last look: no read needed. */
  heard: boolean;
}

export class EventFeed {
  private readonly watched = new Map<string, Watched>();
  private lookTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `everyMs`: how often watched tasks are looked at for other processes' commits. */
  constructor(
    private readonly store: Store,
    private readonly everyMs = 1000,
  ) {
    store.onCommit((taskId, written) => this.changed(taskId, written.events));
  }

  /** Calls `listener` with every event after `afterSeq`, as they are committed. */
  watch(taskId: string, afterSeq: number, listener: Listener): Watch {
    return this.add(taskId, afterSeq, listener);
  }

  /**
   * A watcher about to replay the task's log by itself: until it is caughtUp, it is handed
   * each commit's events as the commit reported them, and no read is made for it; what lies
   * between its replay and the first of those (events another process committed meanwhile)
   * it must read itself.
   */
  watchReplaying(taskId: string, listener: Listener): Watch {
    return this.add(taskId, undefined, listener);
  }

  private add(taskId: string, afterSeq: number | undefined, listener: Listener): Watch {
    let entry = this.watched.get(taskId);
    if (!entry) {
      entry = { listeners: new Map(), reading: false, again: false, heard: true };
      this.watched.set(taskId, entry);
    }
    const watched = entry;
    watched.listeners.set(listener, afterSeq);
    if (!this.stopped && this.everyMs > 0) {
      this.lookTimer ??= setInterval(() => void this.look(), this.everyMs).unref();
    }
    return {
      stop: () => {
        watched.listeners.delete(listener);
        if (watched.listeners.size > 0 || this.watched.get(taskId) !== watched) return;
        this.watched.delete(taskId);
        if (this.watched.size === 0) {
          clearInterval(this.lookTimer);
          this.lookTimer = undefined;
        }
      },
      caughtUp: (seq) => {
        if (!watched.listeners.has(listener)) return;
        const had = watched.listeners.get(listener);
        if (had === undefined || seq > had) watched.listeners.set(listener, seq);
      },
    };
  }

  /** Every caught-up watcher of the task has every event up to here (none caught up: none). */
  private handedOut(entry: Watched): number | undefined {
    let least: number | undefined;
    for (const had of entry.listeners.values()) {
      if (had !== undefined && (least === undefined || had < least)) least = had;
    }
    return least;
  }

  /** Hands `events` (the next ones after `handedOut`) to every watcher of the task. */
  private handOut(entry: Watched, events: EventRecord[]): void {
    const last = events[events.length - 1]!.seq;
    for (const [listener, had] of entry.listeners) {
      if (had !== undefined) entry.listeners.set(listener, Math.max(had, last));
      listener(events);
    }
  }

  /**
   * Database reads of events made for watchers: for a gap in the commits reported (one per
   * batch of new events per task), and for what the periodic looks found (`lookReads`).
   */
  reads = 0;
  lookReads = 0;

  /** No more looks (the store is closing). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.lookTimer);
    this.lookTimer = undefined;
  }

  /** Looks at the watched tasks no commit was heard for since the last look (see the top). */
  private async look(): Promise<void> {
    const quiet: string[] = [];
    for (const [taskId, entry] of this.watched) {
      if (entry.heard) entry.heard = false;
      else if (this.handedOut(entry) !== undefined) quiet.push(taskId);
    }
    if (quiet.length === 0) return;
    let last: Map<string, number>;
    try {
      last = await this.store.lastSeqs(quiet);
    } catch {
      return; // the store closing, a busy file: the next look
    }
    for (const taskId of quiet) {
      const entry = this.watched.get(taskId);
      const handed = entry && this.handedOut(entry);
      if (handed !== undefined && (last.get(taskId) ?? 0) > handed) {
        this.changed(taskId, undefined, 'look');
      }
    }
  }

  private changed(taskId: string, events?: EventRecord[], why: 'commit' | 'look' = 'commit'): void {
    const entry = this.watched.get(taskId);
    if (!entry) return;
    if (events) entry.heard = true;
    const handed = this.handedOut(entry);
    // With no watcher caught up there is nothing to keep contiguous (and no read under way
    // that matters): replaying watchers take the events as reported.
    const first = events?.[0];
    if (first && (handed === undefined || (!entry.reading && first.seq === handed + 1))) {
      this.handOut(entry, events as EventRecord[]);
      return;
    }
    if (handed === undefined) return; // only replaying watchers, and nothing new to hand out
    if (entry.reading) {
      entry.again = true;
      return;
    }
    entry.reading = true;
    // A read that fails (the store closing, a busy file) is made again by the next look.
    void this.read(taskId, entry, why)
      .catch(() => undefined)
      .finally(() => {
        entry.reading = false;
        if (entry.again) {
          entry.again = false;
          this.changed(taskId);
        }
      });
  }

  private async read(taskId: string, entry: Watched, why: 'commit' | 'look'): Promise<void> {
    const handed = this.handedOut(entry);
    if (handed === undefined) return; // the caught-up watchers stopped meanwhile
    if (why === 'look') this.lookReads += 1;
    else this.reads += 1;
    const events = await this.store.listEvents(taskId, handed);
    if (events.length > 0) this.handOut(entry, events);
  }
}
