/**
 * Cron expressions of recurring actions (backups, reports), validated with croner.
 * Five fields only (minute hour day month weekday): croner also accepts a seconds field, and a
 * schedule firing every second would start an action per second. Runs must also be at least
 * MIN_INTERVAL apart: a machine cannot be backed up again before the previous backup could end.
 */
import { Cron } from 'croner';
import { InputError } from '../../common/domain/errors';
import { msg } from '../../i18n/module-messages';

export const MIN_INTERVAL_MINUTES = 60;
const SAMPLE_RUNS = 24;

function compile(expr: string): Cron {
  // paused: we only compute dates, croner must never start its own timers.
  return new Cron(expr, { paused: true });
}

/** Returns the normalised expression or throws InputError(field). `now` anchors the interval check. */
export function parseCronExpression(input: unknown, now: Date, field = 'cron'): string {
  if (typeof input !== 'string' || input.trim() === '') throw new InputError(`${field}: a cron expression is required`, field, msg('error.cron.required'));
  const expr = input.trim().replace(/\s+/g, ' ');
  if (expr.length > 100 || !/^[0-9A-Za-z*/,\- ?#LW]+$/.test(expr)) {
    throw new InputError(`${field}: only digits, names and * / , - are allowed`, field, msg('error.cron.chars'));
  }
  if (expr.split(' ').length !== 5) {
    throw new InputError(`${field}: five fields expected (minute hour day month weekday), e.g. "30 18 * * 5"`, field, msg('error.cron.fields'));
  }
  let job: Cron;
  try {
    job = compile(expr);
  } catch (e) {
    throw new InputError(`${field}: ${(e as Error).message}`, field);
  }
  const runs = job.nextRuns(SAMPLE_RUNS, now);
  if (runs.length === 0) throw new InputError(`${field}: this expression never fires`, field, msg('error.cron.never'));
  for (let i = 1; i < runs.length; i++) {
    if (runs[i].getTime() - runs[i - 1].getTime() < MIN_INTERVAL_MINUTES * 60_000) {
      throw new InputError(`${field}: runs must be at least ${MIN_INTERVAL_MINUTES} minutes apart`, field, msg('error.cron.interval', { minutes: MIN_INTERVAL_MINUTES }));
    }
  }
  return expr;
}

/** The first run strictly after `after`, or null when the expression never fires again. */
export function nextCronRun(expr: string, after: Date): Date | null {
  return compile(expr).nextRun(after);
}
