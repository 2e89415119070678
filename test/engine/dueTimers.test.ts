/**
 * DueTimers: one wake per due time (rounded up to 10 ms, so a burst shares a timer), none for
 * a time already past or beyond the horizon asked for, and none after stop.
 */
import { DueTimers } from '../../src/engine/dueTimers';

test('wakes once per due bucket, after the time, and never for the past or the far future', async () => {
  const woken: number[] = [];
  const timers = new DueTimers(
    () => new Date(),
    () => woken.push(Date.now()),
  );
  const at = Math.ceil((Date.now() + 50) / 10) * 10;
  timers.at(at);
  timers.at(at - 5); // the same 10 ms bucket
  timers.at(Date.now() - 20); // past: the caller's own sweep or poll acts now
  timers.at(Date.now() + 5_000, 1_000); // beyond the horizon: left to the poll
  timers.at(Number.NaN); // Date.parse of something not a time
  expect(timers.pending).toBe(1);
  for (let waited = 0; woken.length === 0 && waited < 5_000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 30)); // a second (wrong) wake would be due
  expect(woken).toHaveLength(1);
  expect(woken[0]).toBeGreaterThanOrEqual(at);
  expect(timers.pending).toBe(0);
});

test('stop clears what was waited for, and later times are not taken', async () => {
  let woken = 0;
  const timers = new DueTimers(
    () => new Date(),
    () => (woken += 1),
  );
  timers.at(Date.now() + 20);
  timers.stop();
  timers.at(Date.now() + 20);
  expect(timers.pending).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(woken).toBe(0);
});
