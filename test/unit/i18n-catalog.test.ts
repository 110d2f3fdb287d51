/**
 * The message catalogs: fr and en have exactly the same keys and the same {placeholders}; every
 * key a page, a shell view or the code names literally exists; the translator refuses unknown
 * keys and missing values instead of printing a blank; Accept-Language falls back to French.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MODULE_CATALOGS, moduleTranslator } from '../../src/i18n/module-messages';
import { SHELL_CATALOGS } from '../../src/shell/i18n/shell-messages';
import { interpolate, localeFromAcceptLanguage, placeholdersOf } from '../../src/common/i18n/translator';
import { pageI18n } from '../../src/i18n/page-i18n';

const ROOT = path.resolve(__dirname, '..', '..');

const catalogs = { module: MODULE_CATALOGS, shell: SHELL_CATALOGS } as const;

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

/** Keys named as string literals: t('key'), t("key"), msg('key'), and t(cond ? 'a' : 'b'). */
function literalKeys(src: string): string[] {
  const keys = new Set<string>();
  for (const m of src.matchAll(/\b(?:t|msg)\(\s*([^)]*?)\s*(?:,\s*\{|\))/g)) {
    for (const k of m[1].matchAll(/(?<!\[)'([a-zA-Z][\w.-]*\.[\w.+-]+)'/g)) keys.add(k[1]); // not settings['a.b']
  }
  return [...keys];
}

describe.each(Object.entries(catalogs))('%s catalog', (_name, c) => {
  test('fr and en have exactly the same keys', () => {
    expect(Object.keys(c.en).sort()).toEqual(Object.keys(c.fr).sort());
    expect(Object.keys(c.fr).length).toBeGreaterThan(20);
  });

  test('every message has the same {placeholders} in both languages', () => {
    const differ = Object.keys(c.fr).filter(
      (k) => placeholdersOf(c.fr[k as keyof typeof c.fr]).join() !== placeholdersOf(c.en[k as keyof typeof c.en]).join(),
    );
    expect(differ).toEqual([]);
  });

  test('no message is blank', () => {
    for (const l of ['fr', 'en'] as const) {
      expect(Object.entries(c[l]).filter(([, v]) => (v as string).trim() === '').map(([k]) => k)).toEqual([]);
    }
  });
});

describe('keys named in pages, views and code exist', () => {
  test.each([
    ['module pages', files(path.join(ROOT, 'pages'), '.ejs'), MODULE_CATALOGS.fr],
    ['module code', files(path.join(ROOT, 'src'), '.ts').filter((f) => !f.includes(`${path.sep}shell${path.sep}`)), MODULE_CATALOGS.fr],
    ['shell views', files(path.join(ROOT, 'src/shell/views'), '.ejs'), SHELL_CATALOGS.fr],
    ['shell code', files(path.join(ROOT, 'src/shell'), '.ts'), SHELL_CATALOGS.fr],
  ] as const)('%s', (_what, list, catalog) => {
    const missing: string[] = [];
    let named = 0;
    for (const f of list) {
      for (const k of literalKeys(fs.readFileSync(f, 'utf8'))) {
        named++;
        if (!(k in catalog)) missing.push(`${path.relative(ROOT, f)}: ${k}`);
      }
    }
    expect(missing).toEqual([]);
    expect(named).toBeGreaterThan(0);
  });

  test('the code groups pages print through code() have an entry for every known code', () => {
    const groups: Record<string, readonly string[]> = {
      state: ['scheduled', 'preparing', 'armed', 'running', 'succeeded', 'failed', 'cancelled'],
      type: ['clone', 'backup', 'restore', 'report', 'memtest'],
      role: ['sender', 'receiver', 'backup', 'restore', 'report', 'memtest'],
      stage: ['waiting', 'transfer', 'done'],
      reboot: ['always', 'success', 'never'],
      location: ['server', 'partition', 'smb'],
      entry: ['sender', 'receiver', 'backup', 'restore', 'report', 'shell', 'memtest'],
    };
    const missing = Object.entries(groups).flatMap(([g, codes]) => codes.map((c) => `${g}.${c}`)).filter((k) => !(k in MODULE_CATALOGS.fr));
    expect(missing).toEqual([]);
  });
});

describe('translator', () => {
  const fr = moduleTranslator('fr');
  const en = moduleTranslator('en');

  test('translates with placeholders, French texts unchanged', () => {
    expect(fr('title.report', { name: 'pc01' })).toBe('Rapport de pc01');
    expect(en('title.report', { name: 'pc01' })).toBe('Report of pc01');
    expect(fr('wizard.launch')).toBe("Lancer l'action");
  });

  test('an unknown key or a missing value throws instead of printing a blank', () => {
    expect(() => (fr as (k: string) => string)('no.such.key')).toThrow(/no message "no.such.key"/);
    expect(() => fr('title.report')).toThrow(/needs the value \{name\}/);
    expect(() => interpolate('{a} and {b}', { a: 1 }, 'k')).toThrow(/\{b\}/);
  });

  test('code() prints a known code through the catalog and an unknown one as is', () => {
    expect(pageI18n('fr').code('state', 'succeeded')).toBe('réussie');
    expect(pageI18n('en').code('state', 'succeeded')).toBe('succeeded');
    expect(pageI18n('en').code('state', 'brand-new')).toBe('brand-new');
    // a deploy receiver's stages, one per partition (the agent posts stage=recv-1, recv-2…)
    expect(pageI18n('fr').code('stage', 'recv-2')).toBe('réception partition 2');
    expect(pageI18n('en').code('stage', 'recv-2')).toBe('receiving partition 2');
    expect(pageI18n('en').code('stage', 'recv-x')).toBe('recv-x');
  });

  test('formats follow the locale: decimal comma and narrow spaces in French', () => {
    const f = pageI18n('fr').fmt;
    const e = pageI18n('en').fmt;
    expect([f.size(1_500_000_000), f.size(2_500_000), f.size(1_500), f.size(12)]).toEqual(['1,5 Go', '2,5 Mo', '2 ko', '12 o']);
    // thousands: a narrow no-break space in French, a comma in English (one helper, number-format.ts)
    expect([f.number(1234567), e.number(1234567), f.number(2.25, 1)]).toEqual(['1\u202f234\u202f567', '1,234,567', '2,3']);
    expect([e.size(1_500_000_000), e.size(12)]).toEqual(['1.5 GB', '12 B']);
    expect([f.rate(1500), e.rate(1500), f.rate(800)]).toEqual(['1,5 Mbit/s', '1.5 Mbit/s', '800 kbit/s']);
    expect([f.percent(59.6), e.percent(59.6), f.percent(null)]).toEqual(['60 %', '60%', '']);
    expect(f.duration(125)).toBe('2 min 05 s');
    const at = '2026-03-05T14:07:00Z';
    expect(pageI18n('fr', { timeZone: 'Europe/Paris' }).fmt.when(at)).toBe('05/03/2026 15:07:00');
    expect(pageI18n('en', { timeZone: 'Europe/Paris' }).fmt.when(at)).toBe('05/03/2026, 15:07:00');
    expect(f.when(null)).toBe('—');
  });
});

describe('Accept-Language', () => {
  test.each([
    [undefined, 'fr'],
    ['', 'fr'],
    ['en-US,en;q=0.9', 'en'],
    ['fr-FR,fr;q=0.9,en;q=0.8', 'fr'],
    ['de-DE,en;q=0.5', 'en'],
    ['de-DE,es', 'fr'],
    ['en;q=0.4,fr;q=0.8', 'fr'],
    ['en;q=0, fr;q=0.1', 'fr'],
    ['*', 'fr'],
    ['garbage;;;', 'fr'],
  ] as const)('%s → %s', (header, locale) => {
    expect(localeFromAcceptLanguage(header)).toBe(locale);
  });
});
