/**
 * The changes of a multi-agent parent, decided from its children: it starts when the first
 * child does, and when all are finished it gathers their artifacts (each tagged with the agent
 * that made it) and completes, or fails when a child did not complete (unless
 * settings.allowPartial, then it completes with the failures listed).
 */
import type { JsonObject } from '../types';
import type { ArtifactRecord, Mutation, TaskRecord } from '../store/records';
import { newId } from '../ids';
import { extended } from '../extended';
import * as changes from './changes';
import { endedAt, isTerminal } from './states';
import { TASK_DEADLINE_EXCEEDED, TASK_EXECUTION_FAILED } from './failureCodes';

export interface FinishedChild {
  task: TaskRecord;
  artifacts: ArtifactRecord[];
}

export function parentStarted(parent: TaskRecord, at: string): Mutation | null {
  return parent.status === 'SUBMITTED' ? changes.started(parent, at) : null;
}

function failureOf(child: TaskRecord): JsonObject {
  return {
    childTaskId: child.taskId,
    agent: child.assignedAgent,
    status: child.status,
    reason: child.reason ?? child.status.toLowerCase(),
  };
}

/**
 * A parent finished by its children: COMPLETED, or FAILED because of them (not by its
 * deadline; a canceled parent canceled them). Only such a parent works again when they do.
 */
export function finishedByChildren(parent: TaskRecord): boolean {
  if (parent.status === 'COMPLETED') return true;
  return parent.status === 'FAILED' && Array.isArray(parent.error?.failures);
}

/**
 * The watch's reopening of a parent finished by its children, one of which is live again (run
 * again in a transaction that did not reopen it: the parent finished meanwhile). It runs on
 * under that child's deadline. Null for any other parent.
 */
export function parentReopened(
  parent: TaskRecord,
  children: TaskRecord[],
  at: string,
): Mutation | null {
  const live = children.find((child) => !isTerminal(child.status));
  if (!live || !finishedByChildren(parent)) return null;
  return changes.reopened(parent, at, { childTaskId: live.taskId }, live.deadline ?? null);
}

/** Whether the parent holds this child artifact already (gathered when it last finished). */
function gatheredBefore(had: ArtifactRecord[], childTaskId: string, artifactId: string): boolean {
  return had.some(
    (artifact) =>
      artifact.metadata?.childTaskId === childTaskId &&
      artifact.metadata?.sourceArtifactId === artifactId,
  );
}

/** Whether the family's last child ended after the parent's deadline. */
function finishedLate(parent: TaskRecord, children: FinishedChild[]): boolean {
  const deadline = parent.deadline;
  return deadline !== undefined && children.some(({ task }) => endedAt(task) > deadline);
}

/** `had`: the parent's artifacts now; child artifacts gathered by an earlier finish are not copied again. */
export function parentFinished(
  parent: TaskRecord,
  children: FinishedChild[],
  at: string,
  had: ArtifactRecord[] = [],
): Mutation | null {
  if (parent.status !== 'WORKING' && parent.status !== 'INPUT_REQUIRED') return null;
  if (!children.every((child) => isTerminal(child.task.status))) return null;
  const gathered: Array<Omit<ArtifactRecord, 'seq'>> = children.flatMap(({ task, artifacts }) =>
    artifacts
      .filter((artifact) => !gatheredBefore(had, task.taskId, artifact.artifactId))
      .map((artifact) => {
        const gatheredOne: Omit<ArtifactRecord, 'seq'> = {
          artifactId: newId('art'),
          name: artifact.name,
          parts: artifact.parts,
          createdAt: at,
          createdBy: task.assignedAgent,
        };
        if (artifact.description) gatheredOne.description = artifact.description;
        if (artifact.version) gatheredOne.version = artifact.version;
        // An agent's own metadata (JSON): copied as a spread copies it.
        // eslint-disable-next-line no-restricted-syntax -- see src/extended.ts
        gatheredOne.metadata = {
          ...artifact.metadata,
          agent: task.assignedAgent,
          childTaskId: task.taskId,
          sourceArtifactId: artifact.artifactId,
        };
        return gatheredOne;
      }),
  );
  const failures = children
    .filter((child) => child.task.status !== 'COMPLETED')
    .map((child) => failureOf(child.task));
  let current = parent;
  const collected: Mutation = { patch: {}, artifacts: [], events: [] };
  for (const artifact of gathered) {
    const added = changes.artifactAdded(current, artifact, at);
    collected.artifacts?.push(artifact);
    collected.events.push(...added.events);
    current = extended(current, { artifactCount: current.artifactCount + 1 });
  }
  // allowPartial lets some children fail, not all: a family none of whose children completed
  // has nothing to give its dependents.
  const fails =
    failures.length > 0 && (!parent.settings?.allowPartial || failures.length === children.length);
  const outcome = finishedLate(parent, children)
    ? // Its last child ended past its deadline (the sweep failed a child of the same deadline
      // first, say): failed by its deadline, as the sweep would have failed it.
      changes.failed(
        current,
        { code: TASK_DEADLINE_EXCEEDED, message: 'deadline exceeded', deadline: parent.deadline! },
        at,
      )
    : fails
      ? changes.failed(
          current,
          {
            code: TASK_EXECUTION_FAILED,
            message: `${failures.length} of ${children.length} child tasks did not complete (first: ${String(failures[0]?.agent)}: ${String(failures[0]?.reason)})`,
            failures,
          },
          at,
        )
      : changes.completed(current, at);
  if (failures.length > 0 && outcome.patch.status === 'COMPLETED') {
    const completion = outcome.events[0];
    if (completion) completion.data = extended(completion.data, { failures });
  }
  return extended(outcome, {
    artifacts: collected.artifacts,
    events: [...collected.events, ...outcome.events],
  });
}
