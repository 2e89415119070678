/**
 * The clock's ISO text: the system clock's is made once per millisecond, and must still be
 * exactly what toISOString says for it; an injected clock is asked every time.
 */
import { isoAt, isoNow, systemClock } from '../src/clock';

describe('clock', () => {
  test('isoAt is toISOString of the millisecond, also when asked again and after another', () => {
    for (const ms of [0, 1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 86_399_999]) {
      expect(isoAt(ms)).toBe(new Date(ms).toISOString());
    }
  });

  test('the system clock reads the time now', () => {
    const before = Date.now();
    const at = Date.parse(isoNow(systemClock));
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  test('an injected clock is read on every call', () => {
    let ms = 1_000;
    const clock = () => new Date(ms);
    expect(isoNow(clock)).toBe('1970-01-01T00:00:01.000Z');
    ms = 2_000;
    expect(isoNow(clock)).toBe('1970-01-01T00:00:02.000Z');
  });

  test('an invalid time still throws, and leaves the cache as it was', () => {
    expect(isoAt(5)).toBe('1970-01-01T00:00:00.005Z');
    expect(() => isoAt(Number.MAX_VALUE)).toThrow(RangeError);
    expect(isoAt(5)).toBe('1970-01-01T00:00:00.005Z');
  });
});
