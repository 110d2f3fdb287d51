/**
 * A cron expression in words for pages ("chaque vendredi à 18 h 30"), in the reader's language.
 * Covers what schools schedule (daily, some weekdays, a range of weekdays, a day of the month);
 * anything else is said as "selon la règle …" with the expression, never as a bare code.
 */
import type { ModuleTranslate } from '../../i18n/module-messages';

const DAY_KEYS = ['cron.day.0', 'cron.day.1', 'cron.day.2', 'cron.day.3', 'cron.day.4', 'cron.day.5', 'cron.day.6'] as const;
const NAMES: Readonly<Record<string, number>> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const num = (v: string, max: number): number | null => (/^\d{1,2}$/.test(v) && Number(v) <= max ? Number(v) : null);

/** Weekdays of the 5th field as numbers 0–6 (7 is Sunday too), or null when it is not a plain list/range. */
function weekdays(field: string): number[] | null {
  const out = new Set<number>();
  for (const part of field.toLowerCase().split(',')) {
    const one = (x: string) => (x in NAMES ? NAMES[x] : num(x, 7) === null ? null : num(x, 7)! % 7);
    const range = /^([a-z0-9]+)-([a-z0-9]+)$/.exec(part);
    if (range) {
      const a = one(range[1]);
      const b = one(range[2]);
      if (a === null || b === null) return null;
      for (let d = a; ; d = (d + 1) % 7) {
        out.add(d);
        if (d === b) break;
      }
    } else {
      const d = one(part);
      if (d === null) return null;
      out.add(d);
    }
  }
  return [...out].sort((x, y) => ((x + 6) % 7) - ((y + 6) % 7)); // Monday first
}

export function cronInWords(expr: string, t: ModuleTranslate): string {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return t('cron.custom', { cron: expr });
  const [min, hour, dom, month, dow] = f;
  const m = num(min, 59);
  const h = num(hour, 23);
  if (m === null || h === null || month !== '*') return t('cron.custom', { cron: expr });
  const at = t('cron.at', { h, m: String(m).padStart(2, '0') });
  if (dom === '*' && dow === '*') return t('cron.daily', { at });
  if (dom === '*') {
    const days = weekdays(dow);
    if (!days) return t('cron.custom', { cron: expr });
    if (days.length === 5 && [1, 2, 3, 4, 5].every((d) => days.includes(d))) return t('cron.weekdays', { at });
    if (days.length === 7) return t('cron.daily', { at });
    const names = days.map((d) => t(DAY_KEYS[d]));
    return t('cron.weekly', { days: names.length === 1 ? names[0] : t('cron.and', { list: names.slice(0, -1).join(', '), last: names[names.length - 1] }), at });
  }
  const day = num(dom, 31);
  if (day !== null && day >= 1 && dow === '*') return t(day === 1 ? 'cron.monthlyFirst' : 'cron.monthly', { day, at });
  return t('cron.custom', { cron: expr });
}
