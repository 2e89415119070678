/**
 * A SIGKILL loses no task: turns running when the process is killed are reclaimed by the next
 * process on the same file once their lease passes, run again, and completed; none is left
 * WORKING, and the interrupted attempts show in the runs.
 */
import { arcResult, createTask, waitForStatus } from '../helpers/arcServer';
import { killHard, startChild } from '../helpers/childArcd';
import { tempDbFile } from '../helpers/tempDb';

test('tasks WORKING at SIGKILL are completed after restart', async () => {
  const db = tempDbFile('engine-crash');
  const env = { ARCD_DB: db, ARCD_PORT: '0', ARCD_POLL_MS: '50', ARCD_LEASE_MS: '1500' };
  const first = await startChild([], env);
  const working: string[] = [];
  for (let i = 0; i < 3; i += 1)
    working.push((await createTask(first.url, 'slow', 'steps=3')).taskId);
  const queued = (await createTask(first.url, 'echo', 'after the crash')).taskId;
  for (const id of working) await waitForStatus(first.url, 'slow', id, ['WORKING']);
  await killHard(first);

  const second = await startChild([], env);
  for (const id of working) {
    const done = await waitForStatus(second.url, 'slow', id, ['COMPLETED']);
    expect(done.messages.at(-1).parts[0].content).toBe('done after 3 steps');
  }
  await waitForStatus(second.url, 'echo', queued, ['COMPLETED']);
  for (const id of working) {
    const { runs } = await arcResult(
      second.url,
      'task.runs',
      { taskId: id },
      { targetAgent: 'slow' },
    );
    expect(runs.map((r: { outcome: string }) => r.outcome)).toEqual(['interrupted', 'completed']);
    expect(runs.map((r: { attempt: number }) => r.attempt)).toEqual([1, 2]);
  }
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 60_000);
