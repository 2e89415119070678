/**
 * Moves tasks that wait on dependencies: once every dependency is COMPLETED the task owes its
 * first turn; when one FAILED or was CANCELED, the task fails naming it. It acts
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

const CATCH_UP_BATCH = 500;

export class DependencyWatch {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Called when a task stops waiting and owes its first turn. */
    private readonly turnOwed: (taskId: string) => void,
  ) {}

  start(catchUpMs: number): void {
    void this.catchUp();
    this.timer = setInterval(() => void this.catchUp(), catchUpMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** After any commit: a finished task may release its dependents; a new blocked one may run. */
  committed(task: TaskRecord): void {
    if (isTerminal(task.status)) void this.guard(this.release(task.taskId));
    else if (task.blocked) void this.guard(this.settle(task.taskId));
  }

  private async guard(work: Promise<void>): Promise<void> {
    await work.catch((error: unknown) =>
      this.logger.error({ err: error }, 'dependency bookkeeping failed'),
    );
  }

  private async release(finishedTaskId: string): Promise<void> {
    for (const taskId of await this.store.blockedDependents(finishedTaskId)) {
      await this.settle(taskId);
    }
  }

  async catchUp(): Promise<void> {
    await this.guard(
      (async () => {
        for (const taskId of await this.store.blockedTasks(CATCH_UP_BATCH))
          await this.settle(taskId);
      })(),
    );
  }

  /** Decides one blocked task from its dependencies' statuses. */
  private async settle(taskId: string): Promise<void> {
    const states = await this.store.dependencyStates(taskId);
    const broken = states.find((d) => d.status === 'FAILED' || d.status === 'CANCELED');
    if (!broken && states.some((d) => d.status !== 'COMPLETED')) return;
    const at = isoNow(this.clock);
    const applied = await this.store.mutateTask(taskId, (task) =>
      broken ? changes.dependencyFailed(task, broken, at) : changes.dependenciesMet(task, at),
    );
    if (applied?.task.pendingTurn) this.turnOwed(taskId);
  }
}
