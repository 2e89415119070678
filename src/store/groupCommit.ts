/**
 * Group commit: the writes submitted during one turn of the event loop run right after it in
 * one IMMEDIATE transaction, each inside its own savepoint, and every caller is answered only
 * after that transaction committed. Under concurrent callers N commits become one (a commit,
 * with its WAL page writes, is most of what a small write costs); a write that throws rolls
 * back its own savepoint and fails its own caller only. A lone caller waits one loop turn.
 */
import type { Db } from './openDatabase';

interface Queued {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Queued[] = [];
  /** Runs one write in a savepoint when called inside the batch's transaction (made once). */
  private readonly inSavepoint;
  private readonly inTransaction;

  constructor(db: Db) {
    this.inSavepoint = db.transaction((work: () => unknown) => work());
    this.inTransaction = db.transaction((batch: Queued[]) =>
      batch.map((entry): Outcome => {
        try {
          return { ok: true, value: this.inSavepoint(entry.work) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.inTransaction.immediate(batch);
    } catch (error) {
      for (const entry of batch) entry.reject(error); // BEGIN or COMMIT itself failed
      return;
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
  }
}
