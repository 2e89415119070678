/**
 * Interleaved rounds: on a shared VM whose speed drifts within minutes, two targets compare
 * fairly only when they take turns. Each round runs every contender once, in an order that
 * moves round by round, and a ratio is taken within each round, then the median over rounds.
 */

/**
 * The order of `items` in round `round`: rotated by one every second round and reversed in
 * every odd round. Two items run ab, ba, ba, ab, …; three run through all six orders in six
 * rounds, so each runs first, last, before and after each other in turn.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const by = Math.floor(round / 2) % n;
  const rotated = [...items.slice(by), ...items.slice(0, by)];
  return round % 2 === 1 ? rotated.reverse() : rotated;
}

/** The median of the finite values (NaN if there are none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
