/**
 * What a dependency made in its latest run, as `ctx.dependencies()` gives it. A task run again
 * (task.retry, task.run) keeps its earlier runs' artifacts in its history, but what follows
 * from it is what it made this time: the artifacts created since its run began.
 *
 * A multi-agent parent makes nothing itself: its artifacts are copies gathered from its
 * children (metadata `childTaskId`, `sourceArtifactId`), and a family run again gathers only
 * what its children made anew, the rest staying from before. So a parent's latest are its
 * copies of each child's latest run's artifacts, whenever they were gathered.
 */
import type { ArtifactRecord, TaskRecord } from '../store/records';
import type { Store } from '../store/store';

/** Made since `task`'s run began; none when it has not begun (run again, ended unstarted). */
function since(task: TaskRecord, artifacts: ArtifactRecord[]): ArtifactRecord[] {
  const start = task.startedAt;
  if (start === undefined) return [];
  return artifacts.filter((artifact) => artifact.createdAt >= start);
}

export async function latestArtifacts(store: Store, task: TaskRecord): Promise<ArtifactRecord[]> {
  const artifacts = await store.listArtifacts(task.taskId);
  if (!task.childTaskIds) return since(task, artifacts);
  const latest = new Set<string>();
  for (const child of await store.childTasks(task.taskId)) {
    // Run again and ended before it started (canceled, say): its latest run made nothing.
    if (child.startedAt === undefined) continue;
    // Only their ids: the parent's copies hold the same parts, read once, above.
    const made = await store.artifactIdsSince(child.taskId, child.startedAt);
    for (const artifactId of made) latest.add(`${child.taskId} ${artifactId}`);
  }
  return artifacts.filter((artifact) =>
    latest.has(
      `${String(artifact.metadata?.childTaskId)} ${String(artifact.metadata?.sourceArtifactId)}`,
    ),
  );
}
