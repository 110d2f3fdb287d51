/**
 * Locale-aware formatting of the values module pages print (dates, sizes, rates, durations).
 * Dates go through Intl with an optional injected time zone (none: the server's, as before);
 * the French output is exactly the French-only version's.
 */
import type { Locale } from '../host/contract';
import type { ModuleTranslate } from './module-messages';
import { formatNumber, numberSymbols, sizeParts } from './number-format';

/** BCP 47 tags for Intl: en-GB, because French schools read day/month dates and a 24-hour clock. */
const DATE_TAGS: Readonly<Record<Locale, string>> = { fr: 'fr-FR', en: 'en-GB' };

export interface PageFormat {
  when(iso: string | null | undefined): string;
  size(bytes: number | null | undefined): string;
  mebibytes(bytes: number): string;
  /** rate_kbps is in kbit/s (docs/agent-protocol.md, pxe/agent/agent-run.sh). */
  rate(kbps: number | null | undefined): string;
  duration(seconds: number | null | undefined): string;
  percent(p: number | null | undefined): string;
  /** A plain number in the locale's notation (number-format.ts), `digits` decimals. */
  number(n: number | null | undefined, digits?: number): string;
  /** What the action page's script needs to format live updates the same way. */
  readonly client: { readonly dateTag: string; readonly decimal: string; readonly percentSuffix: string; readonly timeZone: string | null };
}

export function pageFormat(locale: Locale, t: ModuleTranslate, timeZone?: string): PageFormat {
  const dateTag = DATE_TAGS[locale];
  const dateOptions: Intl.DateTimeFormatOptions | undefined = timeZone ? { timeZone } : undefined;
  return {
    when: (iso) => {
      if (!iso) return '—';
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(dateTag, dateOptions);
    },
    size: (b) => {
      if (b === null || b === undefined) return '—';
      const { key, n } = sizeParts(locale, b);
      return t(key, { n });
    },
    mebibytes: (b) => t('unit.mebibytes', { n: formatNumber(locale, b / 1048576, 1) }),
    rate: (k) => {
      if (k === null || k === undefined || k === 0) return '—';
      return k >= 1000 ? `${formatNumber(locale, k / 1000, 1)} Mbit/s` : `${formatNumber(locale, k)} kbit/s`;
    },
    duration: (s) => (s === null || s === undefined ? '—' : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`),
    percent: (p) => (p === null || p === undefined ? '' : t('unit.percent', { n: Math.round(p) })),
    number: (n, digits = 0) => (n === null || n === undefined ? '—' : formatNumber(locale, n, digits)),
    client: { dateTag, decimal: numberSymbols(locale).decimal, percentSuffix: t('unit.percent', { n: '' }), timeZone: timeZone ?? null },
  };
}
