/**
 * Cron arithmetic, by croner (maintained, no dependencies, IANA time zones with DST handled
 * the way Vixie cron does: a local time skipped by a spring-forward fires at the first
 * instant after the gap, one repeated by a fall-back fires once). Pure: the caller gives "now".
 */
import { Cron, type CronOptions } from 'croner';

/**
 * Paused (arithmetic only). `no-wildcard`: a job whose seconds, minutes and hours have no
 * wildcard or step is at fixed times, lists and ranges too (`30 1,13 * * *`), as in Vixie cron;
 * croner's default counts only single values, so such a job fired twice in a repeated hour and
 * not at all for a skipped time. Wildcard jobs (`0 * * * *`) fire at every real instant.
 */
const OPTIONS = { paused: true, fixedTimeRule: 'no-wildcard' } satisfies CronOptions;

/** Why an expression or a time zone is unusable, or undefined when both are fine. */
export function cronProblem(expression: string, timezone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `unknown time zone "${timezone}" (use an IANA name such as Europe/Berlin)`;
  }
  // croner reads any text with a colon as one date and time (`2030-01-01T09:00`, or a typo
  // such as `0 9 * * 1:2`): a schedule of it would fire once, then stay active with nothing
  // next. Only a pattern is taken, or a nickname (`@daily`).
  const fields = expression.trim().split(/\s+/);
  const nickname = fields.length === 1 && /^@[a-z]+$/i.test(fields[0] ?? '');
  if (!nickname && (expression.includes(':') || fields.length < 5 || fields.length > 6)) {
    return 'invalid cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first';
  }
  let cron: Cron;
  try {
    // 5 or 6 fields, as documented: croner's default also takes a 7th, a year, after whose
    // last slot a schedule would stay active with nothing next. (A stored one still runs.)
    cron = new Cron(expression, { ...OPTIONS, timezone, mode: '5-or-6-parts' });
  } catch (error) {
    return `invalid cron expression: ${(error as Error).message}`;
  }
  // A day no month has (`0 0 30 2 *`): never fires.
  if (!cron.nextRun()) return 'invalid cron expression: it never fires (no such day)';
  return undefined;
}

/** The first slot strictly after `after`, or undefined when the expression has none left. */
export function nextSlot(expression: string, timezone: string, after: Date): Date | undefined {
  return new Cron(expression, { ...OPTIONS, timezone }).nextRun(after) ?? undefined;
}

/** How many slots fall in (`from`, `to`], counting no further than `cap`. */
export function slotsBetween(
  expression: string,
  timezone: string,
  from: Date,
  to: Date,
  cap = 1000,
): number {
  const cron = new Cron(expression, { ...OPTIONS, timezone });
  let count = 0;
  for (
    let slot = cron.nextRun(from);
    slot && slot <= to && count < cap;
    slot = cron.nextRun(slot)
  ) {
    count += 1;
  }
  return count;
}
