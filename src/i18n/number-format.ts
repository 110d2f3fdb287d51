/**
 * Numbers as each language writes them, once for every page and message: French uses a decimal
 * comma and a narrow no-break space between thousands ("1 234,5"), English a point and a comma.
 * Intl gives both; the pages, the live script of the action page (through `client`) and catalog
 * messages whose values are sizes all go through here (issue 16 item 8).
 */
import type { Locale } from '../host/contract';

const NUMBER_TAGS: Readonly<Record<Locale, string>> = { fr: 'fr-FR', en: 'en-GB' };
const formatters = new Map<string, Intl.NumberFormat>();

/** `n` with exactly `digits` decimals in the locale's notation. */
export function formatNumber(locale: Locale, n: number, digits = 0): string {
  const key = `${locale}:${digits}`;
  let f = formatters.get(key);
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(NUMBER_TAGS[locale] ?? NUMBER_TAGS.fr, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
  return f.format(n);
}

export type SizeUnit = 'unit.bytes' | 'unit.kilobytes' | 'unit.megabytes' | 'unit.gigabytes';

/** A byte count as a number in its unit (decimal units, as disk makers and `df -H` count). */
export function sizeParts(locale: Locale, bytes: number): { key: SizeUnit; n: string } {
  if (bytes >= 1e9) return { key: 'unit.gigabytes', n: formatNumber(locale, bytes / 1e9, 1) };
  if (bytes >= 1e6) return { key: 'unit.megabytes', n: formatNumber(locale, bytes / 1e6, 1) };
  if (bytes >= 1e3) return { key: 'unit.kilobytes', n: formatNumber(locale, Math.round(bytes / 1e3)) };
  return { key: 'unit.bytes', n: formatNumber(locale, bytes) };
}

/** The separators the action page's script needs to format live values like the server does. */
export function numberSymbols(locale: Locale): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(NUMBER_TAGS[locale] ?? NUMBER_TAGS.fr).formatToParts(12345.6);
  return { decimal: parts.find((p) => p.type === 'decimal')?.value ?? '.', group: parts.find((p) => p.type === 'group')?.value ?? '' };
}
