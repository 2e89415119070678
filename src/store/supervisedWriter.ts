/**
 * The writer thread, started again when it stops. While it is gone, writes commit on the main
 * connection (groupCommit.ts); once its connection is closed, a new thread starts after a
 * delay that doubles with each stop in a row (first, 2 × first, … up to max), and recorded
 * batches go to it from then on. A thread that ran for at least `max` before it stopped
 * starts the count over. Its statements are sent to each new thread again (the recorder
 * forgets what the dead one had prepared).
 */
import type { RecordingWriter } from './groupCommit';
import type { WriteRecorder } from './writeRecorder';
import { WriterThread, type WriterOptions } from './writerThread';

export interface RestartOptions {
  /** Delay before the first new start, in ms (default 1,000). */
  firstDelayMs?: number;
  /** Longest delay between starts, in ms (default 60,000). */
  maxDelayMs?: number;
  /** Told each time the thread stops other than by `close()`, with the delay to its restart. */
  onStopped?: (error: Error, restartInMs: number) => void;
  /** Told each time a new thread has been started. */
  onRestarted?: () => void;
}

export class SupervisedWriter implements RecordingWriter {
  private current: WriterThread;
  private startedAt = Date.now();
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly file: string,
    readonly recorder: WriteRecorder,
    private readonly pragmas: WriterOptions['pragmas'],
    private readonly restart: RestartOptions = {},
  ) {
    this.firstDelayMs = restart.firstDelayMs ?? 1_000;
    this.maxDelayMs = restart.maxDelayMs ?? 60_000;
    this.delayMs = this.firstDelayMs;
    this.current = this.start();
  }

  /** The thread batches go to now (not `alive` while a restart is pending). */
  get thread(): WriterThread {
    return this.current;
  }

  private start(): WriterThread {
    this.startedAt = Date.now();
    const thread = new WriterThread(this.file, {
      pragmas: this.pragmas,
      onStopped: (error) => this.stopped(thread, error),
    });
    return thread;
  }

  private stopped(thread: WriterThread, error: Error): void {
    if (this.closing || thread !== this.current) return;
    if (Date.now() - this.startedAt >= this.maxDelayMs) this.delayMs = this.firstDelayMs;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.maxDelayMs, 2 * this.delayMs);
    this.restart.onStopped?.(error, delay);
    // The dead thread's connection is closed first: two writer connections would only
    // contend for the write lock.
    void thread.exited.then(() => {
      if (this.closing) return;
      this.timer = setTimeout(() => this.replace(), delay);
      this.timer.unref();
    });
  }

  private replace(): void {
    this.timer = undefined;
    if (this.closing) return;
    this.recorder.newWriter();
    this.current = this.start();
    this.restart.onRestarted?.();
  }

  /** Stops restarting and closes the thread once the batches sent have been answered. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current.close();
  }
}
