/**
 * A multi-agent parent settled by its children: failed by its deadline when its last child
 * ended past it (whichever of the family the deadline sweep reached first), settled as its
 * children say when they all ended in time, however late the settling itself runs.
 */
import type { TaskRecord } from '../../src/store/records';
import { TASK_DEADLINE_EXCEEDED, TASK_EXECUTION_FAILED } from '../../src/tasks/failureCodes';
import { parentFinished } from '../../src/tasks/familyChanges';

const DEADLINE = '2026-12-07T12:00:00.000Z';
const BEFORE = '2026-12-07T11:59:59.000Z';
const AFTER = '2026-12-07T12:00:01.000Z';

function task(fields: Partial<TaskRecord> & Pick<TaskRecord, 'taskId' | 'status'>): TaskRecord {
  return {
    priority: 'NORMAL',
    assignedAgent: 'alpha',
    requestAgent: 'me',
    createdAt: '2026-12-07T11:00:00.000Z',
    updatedAt: '2026-12-07T11:00:00.000Z',
    messageCount: 1,
    artifactCount: 0,
    lastSeq: 2,
    pendingTurn: false,
    attempt: 1,
    tokensUsed: 0,
    cost: 0,
    blocked: false,
    ...fields,
  };
}

const parent = task({
  taskId: 'p',
  status: 'WORKING',
  deadline: DEADLINE,
  childTaskIds: ['a', 'b'],
});

test('a family whose last child ended past the deadline fails by it, not by its children', () => {
  const children = [
    { task: task({ taskId: 'a', status: 'COMPLETED', completedAt: BEFORE }), artifacts: [] },
    // Failed by the sweep, which reached this child before its parent.
    {
      task: task({ taskId: 'b', status: 'FAILED', failedAt: AFTER, reason: 'deadline exceeded' }),
      artifacts: [],
    },
  ];
  const outcome = parentFinished(parent, children, AFTER);
  expect(outcome?.patch.status).toBe('FAILED');
  expect(outcome?.patch.error).toMatchObject({ code: TASK_DEADLINE_EXCEEDED, deadline: DEADLINE });
});

test('a family whose children all ended in time settles as they say, even past the deadline', () => {
  const done = [
    { task: task({ taskId: 'a', status: 'COMPLETED', completedAt: BEFORE }), artifacts: [] },
    { task: task({ taskId: 'b', status: 'COMPLETED', completedAt: BEFORE }), artifacts: [] },
  ];
  expect(parentFinished(parent, done, AFTER)?.patch.status).toBe('COMPLETED');
  const oneFailed = [
    done[0]!,
    { task: task({ taskId: 'b', status: 'FAILED', failedAt: BEFORE }), artifacts: [] },
  ];
  expect(parentFinished(parent, oneFailed, AFTER)?.patch.error).toMatchObject({
    code: TASK_EXECUTION_FAILED,
  });
});
