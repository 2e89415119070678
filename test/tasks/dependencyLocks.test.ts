/**
 * DependencyLocks: holders of a task's lock run one after the other, in the order they came;
 * holders of several locks take them sorted, so two asking in opposite orders never deadlock.
 */
import { DependencyLocks } from '../../src/tasks/dependencyLocks';

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('holders of one lock run one at a time, in order; others run beside them', async () => {
  const locks = new DependencyLocks();
  const log: string[] = [];
  const hold = (name: string, ids: string[]) =>
    locks.holding(ids, async () => {
      log.push(`${name} in`);
      await tick();
      await tick();
      log.push(`${name} out`);
    });
  await Promise.all([hold('a1', ['a']), hold('a2', ['a']), hold('b', ['b'])]);
  const at = (entry: string) => log.indexOf(entry);
  expect(at('a2 in')).toBeGreaterThan(at('a1 out')); // one at a time, in the order they came
  expect(at('b in')).toBeLessThan(at('a1 out')); // another lock's holder beside them
  expect(log).toHaveLength(6);
});

test('several locks asked for in opposite orders never wait on each other for ever', async () => {
  const locks = new DependencyLocks();
  const done: string[] = [];
  await Promise.all([
    locks.holding(['x', 'y'], async () => void done.push('xy')),
    locks.holding(['y', 'x'], async () => void done.push('yx')),
    locks.holding(['y'], async () => void done.push('y')),
  ]);
  expect(done.sort()).toEqual(['xy', 'y', 'yx']);
});

test('a holder that throws lets go of its locks', async () => {
  const locks = new DependencyLocks();
  await expect(
    locks.holding(['a'], async () => {
      throw new Error('broke');
    }),
  ).rejects.toThrow('broke');
  await expect(locks.holding(['a'], async () => 'next')).resolves.toBe('next');
});
