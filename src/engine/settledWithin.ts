/**
 * Waiting for something with a bound: a stopped handler winding down, a shutdown's turns, the
 * `stopped` hooks under way. Whichever comes first, the work settling or the time passing.
 */

import { MAX_TIMER_MS } from '../clock';

/**
 * Resolves once `work` settles (fulfilled or rejected, alike), or after `ms` (at most
 * MAX_TIMER_MS: past it, Node would fire the timer at once).
 */
export async function settledWithin(work: PromiseLike<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const wait = Math.min(ms, MAX_TIMER_MS);
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)));
  const settled = Promise.resolve(work).then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([settled, limit]);
  clearTimeout(timer);
}
