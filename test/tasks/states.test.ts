import { TASK_STATUSES, type TaskStatus } from '../../src/types';
import { assertTransition, canTransition, isTerminal } from '../../src/tasks/states';
import { ArcError } from '../../src/rpc/errors';

// The whole table, written out independently of the module: [from, to] → allowed, or the code.
const EXPECTED: Record<TaskStatus, Partial<Record<TaskStatus, true>>> = {
  SUBMITTED: { WORKING: true, CANCELED: true, FAILED: true },
  WORKING: { INPUT_REQUIRED: true, COMPLETED: true, FAILED: true, CANCELED: true },
  INPUT_REQUIRED: { WORKING: true, CANCELED: true, FAILED: true },
  COMPLETED: {},
  FAILED: {},
  CANCELED: {},
};

function expectedCode(from: TaskStatus): number {
  if (from === 'COMPLETED') return -42002;
  if (from === 'CANCELED') return -42003;
  return -42006;
}

const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));

describe('task state table', () => {
  test.each(pairs)('%s → %s', (from, to) => {
    const allowed = EXPECTED[from][to] === true;
    expect(canTransition(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => assertTransition('task-1', from, to)).not.toThrow();
      return;
    }
    let thrown: unknown;
    try {
      assertTransition('task-1', from, to);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ArcError);
    expect((thrown as ArcError).code).toBe(expectedCode(from));
    expect((thrown as ArcError).details.taskId).toBe('task-1');
  });

  test('terminal states are exactly COMPLETED, FAILED and CANCELED', () => {
    expect(TASK_STATUSES.filter(isTerminal)).toEqual(['COMPLETED', 'FAILED', 'CANCELED']);
  });
});
