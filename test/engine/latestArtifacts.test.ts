/**
 * What a dependency made in its latest run (ctx.dependencies()): artifacts since its run began,
 * none when its latest run never began (run again, then ended before it started), for a task
 * and for a multi-agent parent's copies of its children's.
 */
import { latestArtifacts } from '../../src/engine/latestArtifacts';
import { SqliteStore } from '../../src/store/sqliteStore';
import { tempDbFile } from '../helpers/tempDb';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-02T00:00:00.000Z';

function storeWith(
  tasks: Array<{ id: string; startedAt: string | null; parent?: string; children?: string[] }>,
  artifacts: Array<{ id: string; task: string; at: string; metadata?: object }>,
) {
  const store = new SqliteStore(tempDbFile(), { writerThread: false });
  const task = store.db.prepare(`INSERT INTO tasks (task_id, status, priority, priority_rank,
    assigned_agent, request_agent, created_at, updated_at, started_at, parent_task_id,
    child_task_ids) VALUES (?, 'COMPLETED', 'NORMAL', 1, 'a', 'me', ?, ?, ?, ?, ?)`);
  for (const t of tasks) {
    const children = t.children ? JSON.stringify(t.children) : null;
    task.run(t.id, T0, T1, t.startedAt, t.parent ?? null, children);
  }
  const artifact = store.db.prepare(`INSERT INTO artifacts (artifact_id, task_id, seq, name,
    parts, metadata, created_at) VALUES (?, ?, ?, 'out', '[]', ?, ?)`);
  artifacts.forEach((a, i) =>
    artifact.run(a.id, a.task, i + 1, a.metadata ? JSON.stringify(a.metadata) : null, a.at),
  );
  return store;
}

const ids = (artifacts: Array<{ artifactId: string }>) => artifacts.map((a) => a.artifactId);

test("a task's latest artifacts are those since its run began; none when it never began", async () => {
  const store = storeWith(
    [
      { id: 'started', startedAt: T1 },
      { id: 'unstarted', startedAt: null },
    ],
    [
      { id: 'old', task: 'started', at: T0 },
      { id: 'new', task: 'started', at: T1 },
      { id: 'earlier-run', task: 'unstarted', at: T0 },
    ],
  );
  const get = async (id: string) => (await store.getTask(id))!;
  expect(ids(await latestArtifacts(store, await get('started')))).toEqual(['new']);
  expect(ids(await latestArtifacts(store, await get('unstarted')))).toEqual([]);
  await store.close();
});

test("a parent's latest leave out a child whose latest run never began", async () => {
  const store = storeWith(
    [
      { id: 'p', startedAt: T0, children: ['c1', 'c2'] },
      { id: 'c1', startedAt: T1, parent: 'p' },
      { id: 'c2', startedAt: null, parent: 'p' },
    ],
    [
      { id: 'c1-made', task: 'c1', at: T1 },
      { id: 'c2-made', task: 'c2', at: T0 },
      {
        id: 'copy-1',
        task: 'p',
        at: T1,
        metadata: { childTaskId: 'c1', sourceArtifactId: 'c1-made' },
      },
      {
        id: 'copy-2',
        task: 'p',
        at: T0,
        metadata: { childTaskId: 'c2', sourceArtifactId: 'c2-made' },
      },
    ],
  );
  expect(ids(await latestArtifacts(store, (await store.getTask('p'))!))).toEqual(['copy-1']);
  await store.close();
});
