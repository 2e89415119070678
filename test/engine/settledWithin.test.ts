/** settledWithin: a bound past what a Node timer takes still waits (it does not fire at once). */
import { MAX_TIMER_MS } from '../../src/clock';
import { settledWithin } from '../../src/engine/settledWithin';

test('a bound past the largest timer waits for the work, not a millisecond', async () => {
  let finish!: () => void;
  const work = new Promise<void>((resolve) => (finish = resolve));
  const bounded = settledWithin(work, MAX_TIMER_MS + 1_000).then(() => 'settled');
  const first = await Promise.race([
    bounded,
    new Promise((resolve) => setTimeout(() => resolve('still waiting'), 50)),
  ]);
  expect(first).toBe('still waiting');
  finish();
  expect(await bounded).toBe('settled');
});
