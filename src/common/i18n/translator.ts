/**
 * The message catalog machinery shared by the module and the standalone shell: typed catalogs
 * (one object per locale with exactly the same keys), `{name}` placeholders, and a translator
 * that throws on an unknown key or a missing placeholder value — a page that forgets a string
 * fails its render (and its test) instead of printing a blank.
 */
import { DEFAULT_LOCALE, isLocale, type Locale } from './locale';

export { DEFAULT_LOCALE, isLocale, LOCALES, type Locale } from './locale';

export type MessageVars = Readonly<Record<string, string | number>>;
export type Translate<K extends string = string> = (key: K, vars?: MessageVars) => string;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The `{placeholders}` of a message, sorted and de-duplicated (the parity test compares them). */
export function placeholdersOf(message: string): string[] {
  return [...new Set([...message.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
}

export function interpolate(message: string, vars: MessageVars | undefined, key: string): string {
  return message.replace(PLACEHOLDER, (_all, name: string) => {
    const v = vars?.[name];
    if (v === undefined || v === null) throw new Error(`i18n: message "${key}" needs the value {${name}}`);
    return String(v);
  });
}

/**
 * A translator over catalogs keyed by locale. Views are untyped EJS, so the key is also checked
 * at run time: an unknown key throws rather than rendering an empty string.
 */
export function createTranslator<K extends string>(catalogs: Readonly<Record<Locale, Readonly<Record<K, string>>>>) {
  return (locale: Locale): Translate<K> => {
    const catalog = catalogs[locale] ?? catalogs[DEFAULT_LOCALE];
    return (key, vars) => {
      const message = Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : undefined;
      if (typeof message !== 'string') throw new Error(`i18n: no message "${key}" in the ${locale} catalog`);
      return interpolate(message, vars, key);
    };
  };
}

/**
 * Picks fr or en from an Accept-Language header, in the header's order of preference (q values).
 * Anything unclear or absent gives French.
 */
export function localeFromAcceptLanguage(header: string | undefined): Locale {
  if (!header) return DEFAULT_LOCALE;
  const ranked = header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      return { lang: tag.split('-')[0], q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  const first = ranked.find((x) => isLocale(x.lang));
  return first && isLocale(first.lang) ? first.lang : DEFAULT_LOCALE;
}
