/**
 * Running a multi-agent family again, each way in one transaction with its parent: task.retry
 * of a parent its children finished runs its FAILED and CANCELED children again, and a child
 * run again (retried, re-run) reopens such a parent. The parent is WORKING again at once, so
 * nobody sees it finish in between. A canceled parent, or one failed by its deadline, would
 * cancel a live child at once (parentWatch.ts): its children are refused instead.
 */
import type { AppliedChange, ChangePlan, Store } from '../store/store';
import type { TaskRecord } from '../store/records';
import { InvalidTransitionError, TaskStillNeededError } from '../rpc/errors';
import * as changes from './changes';
import { finishedByChildren } from './familyChanges';
import { isTerminal } from './states';

type Deadline = string | null | undefined;

/** Refused: the parent would cancel the child at once. */
function familyEnded(task: TaskRecord, parent: TaskRecord): InvalidTransitionError {
  const why = parent.reason ? ` (${parent.reason})` : '';
  return new InvalidTransitionError(
    task.taskId,
    task.status,
    'SUBMITTED',
    `Task ${task.taskId} is a child of multi-agent task ${parent.taskId}, which is ${parent.status}${why}: its family runs again only as a new task`,
  );
}

/**
 * In a plan: refuses (-42006) while tasks `taskId`'s completion released are unfinished, as
 * read now and, in a recorded batch, again at its commit (another process may release one
 * between its checks and this write).
 */
export function refuseIfReleasedAtCommit(store: Store, taskId: string, doing: string): void {
  const released = store.releasedAtCommit(taskId);
  if (released.length > 0) throw new TaskStillNeededError(taskId, released, doing);
}

/**
 * `plan` (a retry or rerun of `task`, checked by the caller) written; a child of a parent its
 * children finished reopens the parent in the same transaction. The task's change back. The
 * parent is judged as the write finds it: one read live before could finish meanwhile, and
 * release its dependents, which a reopening must then be refused under.
 */
export async function restartTask(
  store: Store,
  task: TaskRecord,
  plan: ChangePlan,
  at: string,
  deadline: Deadline,
): Promise<AppliedChange | undefined> {
  if (!task.parentTaskId) return store.mutateTask(task.taskId, plan);
  // The parent first: a family that ended (canceled, failed by its deadline) is the refusal
  // to give, before any of the child's own.
  const [, restarted] = await store.mutateTasks([
    {
      taskId: task.parentTaskId,
      plan: (current) => {
        if (!isTerminal(current.status)) return null; // live: the child runs again under it
        if (!finishedByChildren(current)) throw familyEnded(task, current);
        // The tasks its completion released read it as it is: checked again in the write.
        const doing = `reopened by its child ${task.taskId} running again`;
        refuseIfReleasedAtCommit(store, current.taskId, doing);
        return changes.reopened(current, at, { childTaskId: task.taskId }, deadline);
      },
    },
    { taskId: task.taskId, plan },
  ]);
  return restarted;
}

/**
 * task.retry of a multi-agent parent (`plan` checks the caller may see it): its FAILED and
 * CANCELED children run again and it works again. The changes back, the parent's first.
 */
export async function retryFamily(
  store: Store,
  parent: TaskRecord,
  plan: (check: ChangePlan) => ChangePlan,
  at: string,
  by: string,
  deadline: Deadline,
): Promise<Array<AppliedChange | undefined>> {
  const children = await store.childTasks(parent.taskId);
  const refused = (current: TaskRecord) =>
    new InvalidTransitionError(
      current.taskId,
      current.status,
      'WORKING',
      `Only a multi-agent task its children finished, some failed or canceled, can be retried; task ${current.taskId} is ${current.status}${current.reason ? ` (${current.reason})` : ''}`,
    );
  const again = (child: TaskRecord) => child.status === 'FAILED' || child.status === 'CANCELED';
  if (!children.some(again)) throw refused(parent);
  // The children run under the parent's deadline as this write leaves it (planned first): a
  // child that finished before the parent's deadline last moved still holds the old one.
  let familyDeadline: string | null = null;
  return store.mutateTasks([
    {
      taskId: parent.taskId,
      plan: plan((current) => {
        if (!finishedByChildren(current)) throw refused(current);
        // A partial completion may have released dependents (checked before, and again here,
        // in the write: another process may release one meanwhile).
        if (current.status === 'COMPLETED') {
          refuseIfReleasedAtCommit(store, current.taskId, 'run again');
        }
        const change = changes.reopened(current, at, { by }, deadline);
        familyDeadline = deadline !== undefined ? deadline : (current.deadline ?? null);
        return change;
      }),
    },
    ...children.map((child) => ({
      taskId: child.taskId,
      plan: (current: TaskRecord) => changes.retriedInFamily(current, at, by, familyDeadline),
    })),
  ]);
}
