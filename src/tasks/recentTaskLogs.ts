/**
 * The whole event log of the tasks this process created last, as their commits reported it,
 * so that an event stream opened on one of them (typically right after its creation) replays
 * from memory instead of reading the task and its events back. An entry is used only while a
 * narrow read says the task is still as its last commit here left it: a change made by another
 * process, or by a write that reports no events, sends the stream to the database as before.
 * A log whose commits arrive out of order is dropped, and so is one holding much text (files);
 * the oldest go first past the limit, a generation at a time (RecentMap).
 */
import type { EventRecord, TaskRecord } from '../store/records';
import type { Store } from '../store/store';
import { RecentMap } from '../recentMap';

export interface TaskLog {
  task: TaskRecord;
  /** Every event of the task, from sequence 1 on. */
  events: EventRecord[];
}

/** Logs kept at least: the newest 256 tasks', at most twice as many. */
const DEFAULT_LIMIT = 256;
/** A kept log the database is ahead of. */
const BEHIND = Symbol('behind');
/**
 * A log whose events' data is longer than this as JSON (files, long messages) is not kept: at
 * most ~16 MB in all (2 × DEFAULT_LIMIT logs).
 */
const MAX_LOG_CHARS = 32 * 1024;

interface KeptLog extends TaskLog {
  chars: number;
}

export class RecentTaskLogs {
  private readonly logs;

  constructor(
    private readonly store: Store,
    limit = DEFAULT_LIMIT,
  ) {
    this.logs = new RecentMap<string, KeptLog>(limit);
    store.onCommit((taskId, written) => {
      const { task, events, eventChars } = written;
      // A commit that does not say how large its events are is taken as too large to keep.
      if (task && events) this.committed(taskId, task, events, eventChars ?? Infinity);
    });
  }

  private committed(taskId: string, task: TaskRecord, events: EventRecord[], size: number): void {
    const first = events[0];
    if (!first) return;
    const log = this.logs.get(taskId);
    const chars = (log?.chars ?? 0) + size;
    if (chars > MAX_LOG_CHARS) {
      this.logs.delete(taskId); // too large to keep: its streams read it
    } else if (log && first.seq === log.task.lastSeq + 1) {
      log.task = task;
      log.events.push(...events);
      log.chars = chars;
    } else if (!log && first.seq === 1) {
      this.logs.set(taskId, { task, events: [...events], chars });
    } else {
      this.logs.delete(taskId); // a gap: someone else wrote to it
    }
  }

  /**
   * The task as its last commit here left it, if its log is kept (not checked against the
   * database: for what never changes, such as who may see the task).
   */
  peek(taskId: string): TaskRecord | undefined {
    return this.logs.get(taskId)?.task;
  }

  /**
   * The task's whole log, if kept here and the task is still as its log says. The database
   * may be ahead only by a commit not yet answered here (a stream opened as its task moves
   * on: the writer thread has committed, its answer is on the way): then the log is looked at
   * again once the writes in flight have been answered, and used if it caught up.
   */
  async current(taskId: string): Promise<TaskLog | undefined> {
    const first = await this.checked(taskId);
    if (first !== BEHIND) return first;
    const before = this.logs.get(taskId)?.task;
    await this.store.inFlightAnswered();
    const log = this.logs.get(taskId);
    if (!log || log.task === before) return undefined; // nothing new came: no second read
    const second = await this.checked(taskId);
    return second === BEHIND ? undefined : second;
  }

  /** The log as it is now if the database agrees with it, BEHIND if not. */
  private async checked(taskId: string): Promise<TaskLog | undefined | typeof BEHIND> {
    const log = this.logs.get(taskId);
    if (!log) return undefined;
    // Taken before the read: a commit while it runs replaces log.task and appends events.
    const snapshot = { task: log.task, events: log.events.slice() };
    return (await this.store.isCurrent(snapshot.task)) ? snapshot : BEHIND;
  }
}
