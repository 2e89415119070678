/** Cron slots in IANA time zones across DST changes, and the problems reported for bad input. */
import { cronProblem, nextSlot, slotsBetween } from '../../src/schedules/cronTimes';

const slots = (cron: string, tz: string, from: string, n: number): string[] => {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i += 1) {
    const next = nextSlot(cron, tz, at);
    if (!next) break;
    out.push(next.toISOString());
    at = next;
  }
  return out;
};

test('a daily 01:30 in New York fires once on the night the clocks fall back', () => {
  expect(slots('30 1 * * *', 'America/New_York', '2026-10-30T12:00:00Z', 3)).toEqual([
    '2026-10-31T05:30:00.000Z', // EDT, UTC-4
    '2026-11-01T05:30:00.000Z', // the first 01:30 of the repeated hour; not again at 06:30Z
    '2026-11-02T06:30:00.000Z', // EST, UTC-5
  ]);
});

test('a daily 02:30 in New York fires right after the gap on the night the clocks spring forward', () => {
  expect(slots('30 2 * * *', 'America/New_York', '2026-03-06T12:00:00Z', 3)).toEqual([
    '2026-03-07T07:30:00.000Z',
    '2026-03-08T07:00:00.000Z', // 02:30 does not exist; 03:00 EDT is the first instant after
    '2026-03-09T06:30:00.000Z',
  ]);
});

test('a listed time is a fixed time too: once in the repeated hour, after the gap when skipped', () => {
  expect(slots('30 1,13 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 4)).toEqual([
    '2026-10-31T17:30:00.000Z',
    '2026-11-01T05:30:00.000Z', // 01:30 EDT; not again at 06:30Z (01:30 EST)
    '2026-11-01T18:30:00.000Z',
    '2026-11-02T06:30:00.000Z',
  ]);
  expect(slots('30 2,14 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 3)).toEqual([
    '2026-03-07T19:30:00.000Z',
    '2026-03-08T07:00:00.000Z', // 02:30 does not exist: 03:00 EDT
    '2026-03-08T18:30:00.000Z',
  ]);
});

test('an hourly schedule fires every real hour through the repeated hour', () => {
  expect(slots('0 * * * *', 'Europe/Berlin', '2026-10-25T00:00:00Z', 3)).toEqual([
    '2026-10-25T01:00:00.000Z', // 02:00 CET, just after 02:00 CEST came round again
    '2026-10-25T02:00:00.000Z',
    '2026-10-25T03:00:00.000Z',
  ]);
});

test('the same expression means different instants in different zones', () => {
  const from = new Date('2026-05-31T23:00:00Z'); // 08:00 in Tokyo, 23:00 in UTC
  expect(nextSlot('0 9 * * *', 'Asia/Tokyo', from)?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
  expect(nextSlot('0 9 * * *', 'UTC', from)?.toISOString()).toBe('2026-06-01T09:00:00.000Z');
});

test('slotsBetween counts the slots in a window', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-01-01T05:30:00Z');
  expect(slotsBetween('0 * * * *', 'UTC', from, to)).toBe(5);
  expect(slotsBetween('* * * * *', 'UTC', from, to, 10)).toBe(10);
});

test('bad expressions and zones are explained', () => {
  expect(cronProblem('0 9 * * *', 'Europe/Berlin')).toBeUndefined();
  expect(cronProblem('61 * * * *', 'UTC')).toMatch(/invalid cron expression.*minute/);
  expect(cronProblem('* * *', 'UTC')).toMatch(/invalid cron expression/);
  // Seconds are a 6th field; a 7th (croner's year) is not taken: past its last slot a
  // schedule would stay active with nothing next.
  expect(cronProblem('0 0 9 * * *', 'UTC')).toBeUndefined();
  expect(cronProblem('0 0 9 * * * 2027', 'UTC')).toMatch(/invalid cron expression: 5 fields/);
  expect(cronProblem('0 9 * * *', 'Mars/Olympus')).toMatch(/unknown time zone "Mars\/Olympus"/);
});

test('a date, a colon or a day that never comes is not a schedule; a nickname is', () => {
  // croner would take each of the first two as one date and time: fired once, then nothing.
  expect(cronProblem('2030-01-01T09:00:00', 'UTC')).toMatch(/invalid cron expression: 5 fields/);
  expect(cronProblem('0 9 * * 1:2', 'UTC')).toMatch(/invalid cron expression: 5 fields/);
  expect(cronProblem('0 0 30 2 *', 'UTC')).toMatch(/never fires/);
  expect(cronProblem('0 0 29 2 *', 'UTC')).toBeUndefined(); // a leap day comes round
  expect(cronProblem('@daily', 'UTC')).toBeUndefined();
  expect(cronProblem('@often', 'UTC')).toMatch(/invalid cron expression/);
});
