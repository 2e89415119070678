/**
 * Keeps multi-agent parents in step with their children: a child's commit re-decides its
 * parent (started, completed, failed); a parent that ended early (canceled, deadline) cancels
 * the children still live. Like DependencyWatch it acts from stored state, on commits and on
 * a catch-up at start, so a crash between a child's move and its parent's is made good.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store';
import type { TaskRecord } from '../store/records';
import { type Clock, isoNow } from '../clock';
import * as changes from './changes';
import { finishedByChildren, parentFinished, parentReopened, parentStarted } from './familyChanges';
import { isTerminal } from './states';
import { SettlingWatch } from './settlingWatch';

/** Whether `now` is the row `read` was (no change since: each moves its sequence or time). */
function sameVersion(read: TaskRecord, now: TaskRecord | undefined): boolean {
  return now !== undefined && now.lastSeq === read.lastSeq && now.updatedAt === read.updatedAt;
}

export class ParentWatch extends SettlingWatch {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    logger: Logger,
    /** Aborts the running turn of a canceled child. */
    private readonly abort: (taskId: string, reason: string) => void,
  ) {
    super(logger, 'multi-agent');
  }

  protected unsettled(limit: number, after: string): Promise<string[]> {
    return this.store.parentsToSettle(limit, after);
  }

  committed(task: TaskRecord): void {
    if (task.parentTaskId) void this.guard(this.settle(task.parentTaskId));
    else if (task.childTaskIds && isTerminal(task.status))
      void this.guard(this.settle(task.taskId));
  }

  /** Who canceled a canceled parent, as its own TASK_CANCELED says; else arcd. */
  private async canceledBy(parent: TaskRecord): Promise<string> {
    if (parent.status !== 'CANCELED') return 'arcd';
    // Its last own one only: the whole log (every child's events mirrored, files put back)
    // would be read again at each child's settling.
    const own = await this.store.lastOwnEvent(parent.taskId, 'TASK_CANCELED');
    return typeof own?.data.canceledBy === 'string' ? own.data.canceledBy : 'arcd';
  }

  protected async settle(parentId: string): Promise<void> {
    const parent = await this.store.getTask(parentId);
    if (!parent?.childTaskIds) return;
    const children = await this.store.childTasks(parentId);
    if (isTerminal(parent.status)) {
      if (finishedByChildren(parent) && children.some((child) => !isTerminal(child.status))) {
        // A child run again as its parent finished (familyRuns.ts reopens the parent with the
        // child when it sees it finished): the parent works again.
        const at = isoNow(this.clock);
        const reopened = await this.store.mutateTask(parentId, (current) =>
          parentReopened(current, children, at),
        );
        // Settled again from what is stored now: the children may all have finished meanwhile,
        // and nothing else would look at a live parent until the next catch-up.
        if (reopened && !isTerminal(reopened.task.status)) await this.settle(parentId);
        return;
      }
      const reason = `parent task ${parentId} is ${parent.status}`;
      const live = children.filter((c) => !isTerminal(c.status));
      // Canceled by whoever canceled the parent (arcd's own stop otherwise: a deadline, a failure).
      const by = live.length > 0 ? await this.canceledBy(parent) : 'arcd';
      for (const child of live) {
        const at = isoNow(this.clock);
        await this.store.mutateTask(child.taskId, (current) =>
          isTerminal(current.status) ? null : changes.canceled(current, at, reason, by),
        );
        this.abort(child.taskId, reason);
      }
      return;
    }
    if (children.some((child) => child.status !== 'SUBMITTED')) {
      const at = isoNow(this.clock);
      await this.store.mutateTask(parentId, (current) => parentStarted(current, at));
    }
    if (!children.every((child) => isTerminal(child.status))) return;
    const finished = await Promise.all(
      children.map(async (task) => ({
        task,
        artifacts: await this.store.listArtifacts(task.taskId),
      })),
    );
    const had = await this.store.listArtifacts(parentId);
    const at = isoNow(this.clock);
    // Settled only on children as they were read: each is read again in the write (and, read
    // from the database, guarded there against other processes), and a child changed meanwhile
    // (retried, re-run) leaves the parent as it is. That child's commit settles it again.
    const now = new Map<string, TaskRecord>();
    await this.store.mutateTasks([
      ...children.map((child) => ({
        taskId: child.taskId,
        plan: (current: TaskRecord) => {
          now.set(current.taskId, current);
          return null;
        },
      })),
      {
        taskId: parentId,
        plan: (current: TaskRecord) =>
          children.every((child) => sameVersion(child, now.get(child.taskId)))
            ? parentFinished(current, finished, at, had)
            : null,
      },
    ]);
  }
}
