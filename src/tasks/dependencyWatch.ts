/**
 * Moves tasks that wait on dependencies: once every dependency is COMPLETED the task owes its
 * first turn; when one FAILED, was CANCELED or was deleted, the task fails naming it. It acts
 * when a task finishes (from the store's commit hook) and catches up on start and now and then
 * (a process may have crashed between a dependency finishing and its dependents moving on).
 * Each move re-reads the dependent inside its own transaction, so acting twice is harmless.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { TaskRecord } from '../store/records';
import { type Clock, isoNow } from '../clock';
import * as changes from './changes';
import { isTerminal } from './states';
import { SettlingWatch } from './settlingWatch';
import type { DependencyLocks } from './dependencyLocks';

export class DependencyWatch extends SettlingWatch {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    logger: Logger,
    /** Called when a task stops waiting and owes its first turn. */
    private readonly turnOwed: (taskId: string) => void,
    /** Held on the dependencies while their statuses are read and the dependent moved. */
    private readonly locks: DependencyLocks,
  ) {
    super(logger, 'dependency');
  }

  protected unsettled(limit: number, after: string): Promise<string[]> {
    return this.store.blockedTasks(limit, after);
  }

  /**
   * After any commit: a finished task may release its dependents (unless its commit found
   * none waiting, `noDependents`); a new blocked one may run.
   */
  committed(task: TaskRecord, noDependents = false): void {
    if (isTerminal(task.status)) {
      if (!noDependents) void this.guard(this.release(task.taskId));
    } else if (task.blocked) void this.guard(this.settle(task.taskId));
  }

  private async release(finishedTaskId: string): Promise<void> {
    for (const taskId of await this.store.blockedDependents(finishedTaskId)) {
      await this.settle(taskId);
    }
  }

  /** Decides one blocked task from its dependencies' statuses. */
  protected async settle(taskId: string): Promise<void> {
    const dependencies = (await this.store.dependencyStates(taskId)).map((d) => d.taskId);
    await this.locks.holding(dependencies, () => this.settleHeld(taskId));
  }

  /** `settle`, holding its dependencies' locks: read again, then decided. */
  private async settleHeld(taskId: string): Promise<void> {
    const states = await this.store.dependencyStates(taskId);
    const ended = states.filter(
      (d): d is { taskId: string; status: 'FAILED' | 'CANCELED' } =>
        d.status === 'FAILED' || d.status === 'CANCELED',
    );
    if (ended.length === 0 && states.some((d) => d.status !== 'COMPLETED')) return;
    const at = isoNow(this.clock);
    const applied = await this.store.mutateTask(taskId, (task) => {
      // A dependency deleted since (task.delete, the retention purge) can never complete: a
      // task run again after its dependency was deleted fails rather than runs without it.
      const gone = task.dependencies?.find((id) => !states.some((d) => d.taskId === id));
      // Each failed one read again in the write (another process may run one again meanwhile:
      // its next end settles this one again), the first still so failing it.
      const failed = ended.find((d) => this.store.statusAtCommit(d.taskId, d.status));
      if (ended.length > 0 && !failed && !gone) return null;
      const broken = failed ?? (gone ? { taskId: gone, status: 'DELETED' as const } : undefined);
      if (broken) return changes.dependencyFailed(task, broken, at);
      // Read again in the write: another process may run a dependency again meanwhile (its
      // next completion releases this one).
      return this.store.unmetAtCommit(taskId).length > 0 ? null : changes.dependenciesMet(task, at);
    });
    if (applied?.task.pendingTurn) this.turnOwed(taskId);
  }
}
