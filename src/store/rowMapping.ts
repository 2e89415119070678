/**
 * Small conversions between SQLite values and record fields. SQL NULL becomes an absent key,
 * never `null`, so wire objects carry no empty optional keys.
 */
import type { JsonObject } from '../types';

export function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

export function fromJson<T = JsonObject>(text: unknown): T | undefined {
  return typeof text === 'string' ? (JSON.parse(text) as T) : undefined;
}

export function optional<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

/** Copies only the keys whose value is defined. */
export function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const v = value[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}
