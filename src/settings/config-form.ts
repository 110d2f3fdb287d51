/**
 * The Configuration page's settings form, from the schemas: what the page shows (configView) and
 * what a POST changes (parseConfigForm). Pure: the route reads the store and saves the changes.
 *
 * - A field's form name is its setting key. A group absent from the body is left alone; a field
 *   absent from the body keeps its value (partial forms and older pages stay valid).
 * - Password fields are write-only: never rendered back; blank keeps the stored value; the
 *   checkbox `<key>:clear` removes it.
 * - Hidden settings are never read from a form.
 * - Nothing is saved unless every field is valid; errors are per field, in the reader's language.
 */
import { InputError } from '../common/domain/errors';
import { translateRef, type ModuleTranslate } from '../i18n/module-messages';
import { SETTINGS_GROUPS } from './schema';
import type { AnySetting, SettingsGroup, SettingsSource } from './setting';

export interface ConfigFormResult {
  readonly changes: Record<string, unknown>;
  /** Setting key → message. */
  readonly errors: Record<string, string>;
}

export const CLEAR_SUFFIX = ':clear';

function current(store: SettingsSource, s: AnySetting): unknown {
  try {
    return s.parse(store.getOr<unknown>(s.key, s.default));
  } catch {
    return s.default;
  }
}

function refusal(t: ModuleTranslate, s: AnySetting, e: unknown): string {
  if (e instanceof InputError && e.ref) {
    const text = translateRef(t, e.ref);
    if (text) return text;
  }
  return t(s.field.error, s.field.errorVars);
}

function parseGroup(g: SettingsGroup, body: Readonly<Record<string, unknown>>, store: SettingsSource, t: ModuleTranslate, out: ConfigFormResult): void {
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(g.settings)) {
    values[name] = current(store, s);
    if (s.field.kind === 'hidden') continue;
    const raw = body[s.key];
    if (s.field.kind === 'password' && body[s.key + CLEAR_SUFFIX] === '1') {
      values[name] = out.changes[s.key] = null;
      for (const a of s.also ?? []) out.changes[a.key] = null;
      continue;
    }
    if (raw === undefined || (s.field.kind === 'password' && raw === '')) continue;
    if (typeof raw !== 'string') {
      out.errors[s.key] = t('config.error.single');
      continue;
    }
    try {
      // A password is taken as typed (blanks may be part of it); other fields are trimmed.
      const typed = s.field.kind === 'password' ? raw : raw.trim();
      values[name] = out.changes[s.key] = s.fromForm(typed);
      for (const a of s.also ?? []) out.changes[a.key] = a.fromForm(typed);
    } catch (e) {
      out.errors[s.key] = refusal(t, s, e);
    }
  }
  for (const [name, why] of Object.entries(g.check?.(values as never) ?? {})) {
    const key = g.settings[name].key;
    if (why && !out.errors[key]) out.errors[key] = t(why);
  }
}

/** Validates the posted settings: changes to save (only when `errors` is empty). */
export function parseConfigForm(body: Readonly<Record<string, unknown>>, store: SettingsSource, t: ModuleTranslate): ConfigFormResult {
  const out: ConfigFormResult = { changes: {}, errors: {} };
  for (const g of SETTINGS_GROUPS) {
    const present = Object.values(g.settings).some((s) => s.field.kind !== 'hidden' && (body[s.key] !== undefined || body[s.key + CLEAR_SUFFIX] !== undefined));
    if (present) parseGroup(g, body, store, t, out);
  }
  return out;
}

// ---------------------------------------------------------------- the page's view

export interface FieldView {
  readonly key: string;
  readonly kind: Exclude<AnySetting['field']['kind'], 'hidden'>;
  readonly label: string;
  readonly hint: string | null;
  /** What the input shows; always '' for a password. */
  readonly value: string;
  readonly options: readonly { value: string; label: string; selected: boolean }[];
  /** Password fields: whether a value is stored (never the value). */
  readonly stored: boolean;
  readonly error: string | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly maxLength: number | null;
  readonly placeholder: string | null;
}

export interface GroupView {
  readonly id: string;
  readonly legend: string;
  readonly hint: string | null;
  readonly account: SettingsGroup['account'] | null;
  readonly fields: readonly FieldView[];
}

const shown = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/**
 * Every group and field the page shows: stored values, or what was posted when the page is shown
 * again with errors (never a password, posted or stored).
 */
export function configView(store: SettingsSource, t: ModuleTranslate, posted: Readonly<Record<string, unknown>> = {}, errors: Readonly<Record<string, string>> = {}): GroupView[] {
  return SETTINGS_GROUPS.map((g) => ({
    id: g.id,
    legend: t(g.legend),
    hint: g.hint ? t(g.hint) : null,
    account: g.account ?? null,
    fields: Object.values(g.settings).flatMap((s): FieldView[] => {
      const f = s.field;
      if (f.kind === 'hidden') return [];
      const stored = store.getOr<unknown>(s.key, s.default);
      const value = f.kind === 'password' ? '' : typeof posted[s.key] === 'string' ? (posted[s.key] as string) : shown(stored);
      return [{
        key: s.key, kind: f.kind, label: t(f.label), hint: f.hint ? t(f.hint) : null, value,
        options: (f.options ?? []).map((o) => ({ value: o.value, label: o.label ? t(o.label) : o.value, selected: o.value === value })),
        stored: f.kind === 'password' && stored !== null && stored !== '',
        error: errors[s.key] ?? null,
        min: f.min ?? null, max: f.max ?? null, maxLength: f.maxLength ?? null, placeholder: f.placeholder ?? null,
      }];
    }),
  }));
}
