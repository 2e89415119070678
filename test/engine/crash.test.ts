/**
 * A SIGKILL loses no task: turns running when the process is killed are reclaimed by the next
 * process on the same file once their lease passes, run again, and completed; none is left
 * WORKING, and the interrupted attempts show in the runs; a turn lost with its process
 * --lost-turn-limit times in a row is failed rather than run again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { arcResult, createTask, taskInfo, waitFor, waitForStatus } from '../helpers/arcServer';
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
    // The lost run lasted until the next process found it: from its start to its end.
    const lost = runs[0] as { startedAt: string; completedAt: string; durationMs: number };
    expect(lost.durationMs).toBe(Date.parse(lost.completedAt) - Date.parse(lost.startedAt));
    expect(lost.durationMs).toBeGreaterThan(0);
  }
  second.process.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 60_000);

test('a turn whose process dies --lost-turn-limit times in a row is failed, not run again', async () => {
  const db = tempDbFile('engine-lost-turn');
  const env = {
    ARCD_DB: db,
    ARCD_PORT: '0',
    ARCD_POLL_MS: '50',
    ARCD_LEASE_MS: '1000',
    ARCD_LOST_TURN_LIMIT: '3', // the default, 5, is the same with two more kills
  };
  let child = await startChild([], env);
  const { taskId } = await createTask(child.url, 'slow', 'steps=200');
  for (let lost = 1; lost <= 3; lost += 1) {
    await waitFor(`attempt ${lost} running`, async () => {
      const task = await taskInfo(child.url, 'slow', taskId);
      return task.status === 'WORKING' && task.attempt === lost ? true : undefined;
    });
    await killHard(child);
    child = await startChild([], env);
  }
  const failed = await waitForStatus(child.url, 'slow', taskId, ['FAILED']);
  expect(failed.reason).toMatch(/stopped 3 times in a row/);
  const { runs } = await arcResult(child.url, 'task.runs', { taskId }, { targetAgent: 'slow' });
  expect(runs.map((r: { outcome: string }) => r.outcome)).toEqual([
    'interrupted',
    'interrupted',
    'interrupted',
    'failed',
  ]);
  child.process.kill('SIGTERM');
  expect(await child.exited).toBe(0);
}, 60_000);

test("a task failed for its lost turns tells its agent's stopped hook (cause lost)", async () => {
  const db = tempDbFile('engine-lost-hook');
  const heard = `${db}.heard`;
  const env = {
    ARCD_DB: db,
    ARCD_PORT: '0',
    ARCD_POLL_MS: '50',
    ARCD_LEASE_MS: '1000',
    ARCD_LOST_TURN_LIMIT: '1',
    ARCD_AGENTS_DIR: path.join(__dirname, '..', 'fixtures', 'agents-stopped'),
    ARCD_TEST_HEARD: heard,
  };
  const on = { targetAgent: 'keeper' };
  let child = await startChild([], env);
  const { taskId } = await createTask(child.url, 'keeper', 'hold', {}, on);
  await waitForStatus(child.url, 'keeper', taskId, ['WORKING'], on);
  await killHard(child);
  child = await startChild([], env);
  const failed = await waitForStatus(child.url, 'keeper', taskId, ['FAILED'], on);
  expect(failed.error).toMatchObject({ code: -42004, lostTurns: 1 });
  const told = await waitFor('the hook told', async () =>
    fs.existsSync(heard) ? fs.readFileSync(heard, 'utf8') : undefined,
  );
  expect(
    told
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
  ).toEqual([{ taskId, cause: 'lost' }]);
  child.process.kill('SIGTERM');
  expect(await child.exited).toBe(0);
}, 60_000);
