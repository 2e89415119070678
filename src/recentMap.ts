/**
 * A map bounded by recency: it keeps at least the `limit` keys set most recently and at most
 * twice as many, by forgetting its older generation whole instead of its oldest key one at a
 * time. Evicting one key at a time from a Map or Set (`delete(keys().next().value)`) leaves V8
 * a run of deleted slots at the front that every later `keys().next()` walks past: at 100,000
 * keys an eviction cost up to 60 µs, up to a third of a task.create (bench/recentMap.ts). Every
 * operation here is O(1); it is not iterable, on purpose.
 */
export class RecentMap<K, V> {
  /** Keys set since the last turnover. */
  private current = new Map<K, V>();
  /** Keys set in the generation before; dropped whole at the next turnover. */
  private previous = new Map<K, V>();

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a RecentMap's limit must be a positive integer, not ${limit}`);
    }
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  has(key: K): boolean {
    return this.current.has(key) || this.previous.has(key);
  }

  get(key: K): V | undefined {
    return this.current.has(key) ? this.current.get(key) : this.previous.get(key);
  }

  /** Sets `key` to `value` as the newest key. */
  set(key: K, value: V): this {
    this.previous.delete(key);
    this.current.set(key, value);
    if (this.current.size >= this.limit) {
      // The newest `limit` keys are exactly the current generation now: keep it, drop the rest.
      this.previous = this.current;
      this.current = new Map();
    }
    return this;
  }

  /** Whether `key` was there. */
  delete(key: K): boolean {
    return this.current.delete(key) || this.previous.delete(key);
  }
}
