/**
 * A turn's stop switch: the agent's AbortSignal is made on first use and still behaves as one
 * made up front (aborted with the first reason, whenever it is first read).
 */
import { TurnStop, TurnStopped } from '../../src/engine/stopReason';

test('a signal read before the stop fires with the first reason; later stops change nothing', () => {
  const stop = new TurnStop();
  const signal = stop.signal;
  const fired: unknown[] = [];
  signal.addEventListener('abort', () => fired.push(signal.reason));
  const canceled = new TurnStopped('canceled', 'by the caller');
  stop.stop(canceled);
  stop.stop(new TurnStopped('timeout', 'too late'));
  expect(fired).toEqual([canceled]);
  expect(stop.reason).toBe(canceled);
  expect(stop.signal).toBe(signal);
});

test('a signal first read after the stop is already aborted, with its reason', () => {
  const stop = new TurnStop();
  const deadline = new TurnStopped('deadline', 'deadline exceeded');
  stop.stop(deadline);
  expect(stop.signal.aborted).toBe(true);
  expect(stop.signal.reason).toBe(deadline);
});

test('stop listeners are called once, and at once when the turn was already stopped', () => {
  const stop = new TurnStop();
  const heard: string[] = [];
  stop.onStop((reason) => heard.push(`early ${reason.kind}`));
  expect(stop.reason).toBeUndefined();
  stop.stop(new TurnStopped('shutdown', 'closing'));
  stop.stop(new TurnStopped('canceled', 'again'));
  stop.onStop((reason) => heard.push(`late ${reason.kind}`));
  expect(heard).toEqual(['early shutdown', 'late shutdown']);
});
