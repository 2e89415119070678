/**
 * `{ ...base, ...fields }` without object spread, for the per-task paths. On Node 20 (V8 11.3)
 * an object literal that begins with a spread and goes on with a property its source lacks
 * takes ~1 µs to make, ~13 µs with a second such spread (the same for `{ ...base }` given a new
 * property afterwards), where Object.assign onto a fresh object takes ~0.2 µs for the same
 * result. For the server's own records only: Object.assign would run the `__proto__` setter
 * of the new object for a source with an own `__proto__` key (JSON a client sent).
 */
export function extended<T extends object, U extends object>(
  base: T,
  fields: U,
): Omit<T, keyof U> & U {
  return Object.assign({}, base, fields);
}
