/**
 * Waiting for something with a bound: a stopped handler winding down, a shutdown's turns, the
 * `stopped` hooks under way. Whichever comes first, the work settling or the time passing.
 */

/** Resolves once `work` settles (fulfilled or rejected, alike), or after `ms`. */
export async function settledWithin(work: PromiseLike<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const settled = Promise.resolve(work).then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([settled, limit]);
  clearTimeout(timer);
}
