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
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
