/**
 * One module setting, declared once: its key in module.json `settings`, its default, how a stored
 * (JSON) value and a typed form value are checked, and how the Configuration page shows it.
 * Feature schemas (src/settings/<feature>.ts) are groups of these; module-settings.ts reads them
 * into typed values for the services, config-form.ts turns the page's form into changes.
 */
import { InputError } from '../common/domain/errors';
import { type ModuleMessageKey, moduleTranslator } from '../i18n/module-messages';

/**
 * How the page shows a setting. `password`: write-only (never rendered back; blank keeps the
 * stored value). `hidden`: declared and readable, but not on the page (a knob for tests or hosts).
 */
export type FieldKind = 'text' | 'number' | 'select' | 'password' | 'hidden';

export interface FieldOption {
  readonly value: string;
  /** Catalog message shown for the option; null shows the value itself (e.g. "zstd"). */
  readonly label: ModuleMessageKey | null;
}

export interface SettingField {
  readonly kind: FieldKind;
  readonly label: ModuleMessageKey;
  readonly hint?: ModuleMessageKey;
  readonly options?: readonly FieldOption[];
  /** What the page says when the typed value is refused. */
  readonly error: ModuleMessageKey;
  readonly errorVars?: Readonly<Record<string, string | number>>;
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  readonly placeholder?: string;
}

export interface Setting<T> {
  readonly key: string;
  readonly default: T;
  /** Checks a stored value (JSON: number, boolean, string or null). Throws InputError naming the key. */
  readonly parse: (stored: unknown) => T;
  /** The value of what an admin typed (a trimmed string). Throws InputError: the page shows `field.error`. */
  readonly fromForm: (typed: string) => T;
  readonly field: SettingField;
  /**
   * A credential kept in clear because a tool must present it (SMB, net rpc, domain join): the
   * one list whoever encrypts settings at rest, or redacts them, needs. Always a password field.
   */
  readonly secret: boolean;
  /**
   * Other settings a typed value also sets (a second hash of the same password, for another
   * loader): each from the same typed text; cleared with this one.
   */
  readonly also?: readonly { readonly key: string; readonly fromForm: (typed: string) => unknown }[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySetting = Setting<any>;
export type SettingsShape = Readonly<Record<string, AnySetting>>;
export type ValuesOf<S extends SettingsShape> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** One feature's settings: a fieldset on the Configuration page. */
export interface SettingsGroup<S extends SettingsShape = SettingsShape> {
  /** Anchor and test hook of the fieldset (`#settings-<id>`). */
  readonly id: string;
  readonly legend: ModuleMessageKey;
  readonly hint?: ModuleMessageKey;
  readonly settings: S;
  /** Rules between fields, on the values the form would store: the refused field and why. */
  check?(v: ValuesOf<S>): Partial<Record<keyof S & string, ModuleMessageKey>>;
  /** An account the page can test ("tester le compte"): see src/settings/account-check.ts. */
  readonly account?: 'netlogon' | 'join' | 'rpc' | 'smb';
}

export function group<S extends SettingsShape>(g: SettingsGroup<S>): SettingsGroup<S> {
  return g;
}

const refuse = (key: string, why: string): never => {
  throw new InputError(`${key}: ${why}`, key);
};
const english = moduleTranslator('en');
/** The field's own error message, in English (logs, action errors). */
const why = (f: Pick<SettingField, 'error' | 'errorVars'>) => english(f.error, f.errorVars);

// ---------------------------------------------------------------- builders

type FieldOf = Omit<SettingField, 'kind'>;

/** A string; `ok` decides (the empty string only when `ok('')` says so). */
export function text(key: string, dflt: string, ok: (v: string) => boolean, field: FieldOf & { kind?: 'text' | 'hidden' }): Setting<string> {
  const parse = (v: unknown): string => {
    if (typeof v !== 'string') return refuse(key, 'text expected');
    const s = v.trim();
    return ok(s) ? s : refuse(key, why(field));
  };
  return { key, default: dflt, parse, fromForm: parse, field: { ...field, kind: field.kind ?? 'text' }, secret: false };
}

/** A string `ok` accepts, or null (blank on the page): "not set". `normalize` runs on accepted values. */
export function optionalText(key: string, ok: (v: string) => boolean, field: FieldOf, normalize: (v: string) => string = (v) => v): Setting<string | null> {
  const parse = (v: unknown): string | null => {
    if (v === null || (typeof v === 'string' && v.trim() === '')) return null;
    return typeof v === 'string' && ok(v.trim()) ? normalize(v.trim()) : refuse(key, why(field));
  };
  return { key, default: null, parse, fromForm: parse, field: { ...field, kind: 'text' }, secret: false };
}

/** A whole number in [min, max]: a JSON number when stored, digits on the page. */
export function int(key: string, dflt: number, min: number, max: number, field: FieldOf): Setting<number> {
  const parse = (v: unknown): number =>
    (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : refuse(key, `a whole number from ${min} to ${max}`));
  const fromForm = (typed: string): number => parse(/^\d{1,9}$/.test(typed) ? Number(typed) : NaN);
  return { key, default: dflt, parse, fromForm, field: { errorVars: { min, max }, ...field, kind: 'number', min, max }, secret: false };
}

/** A whole number in [min, max], or null (blank on the page): "not set". */
export function optionalInt(key: string, min: number, max: number, field: FieldOf): Setting<number | null> {
  const inner = int(key, min, min, max, field);
  return { ...inner, default: null, parse: (v) => (v === null ? null : inner.parse(v)), fromForm: (typed) => (typed === '' ? null : inner.fromForm(typed)) };
}

/** One of a closed list, shown as a select. */
export function choice<const T extends string>(key: string, dflt: NoInfer<T>, options: readonly { value: T; label: ModuleMessageKey | null }[], field: FieldOf): Setting<T> {
  const parse = (v: unknown): T => (options.some((o) => o.value === v) ? (v as T) : refuse(key, `expected one of ${options.map((o) => o.value).join(', ')}`));
  return { key, default: dflt, parse, fromForm: parse, field: { ...field, kind: 'select', options }, secret: false };
}

/** true/false, shown as a select yes/no (stored as a JSON boolean). */
export function bool(key: string, dflt: boolean, field: Omit<FieldOf, 'options' | 'error'>): Setting<boolean> {
  const parse = (v: unknown): boolean => (typeof v === 'boolean' ? v : refuse(key, 'true or false expected'));
  return {
    key, default: dflt, parse, fromForm: (typed) => parse(typed === 'true' ? true : typed === 'false' ? false : typed), secret: false,
    field: { ...field, kind: 'select', error: 'config.error.refused', options: [{ value: 'true', label: 'common.yes' }, { value: 'false', label: 'common.no' }] },
  };
}

/**
 * A write-only value, null when none is stored. `secret`: a credential kept in clear (see
 * Setting.secret); false for a value already one-way (a hash). `fromForm` may transform (hash).
 */
export function password(key: string, opts: {
  secret: boolean; ok: (v: string) => boolean; fromForm?: (typed: string) => string; field: Omit<FieldOf, 'options'>; also?: Setting<unknown>['also'];
}): Setting<string | null> {
  const parse = (v: unknown): string | null => {
    if (v === null || v === '') return null;
    return typeof v === 'string' && opts.ok(v) ? v : refuse(key, why(opts.field));
  };
  const fromForm = opts.fromForm ?? ((typed: string) => parse(typed) ?? refuse(key, why(opts.field)));
  return { key, default: null, parse, fromForm, field: { ...opts.field, kind: 'password' }, secret: opts.secret, ...(opts.also ? { also: opts.also } : {}) };
}

/** A value only code writes (e.g. a companion hash, see Setting.also): not on the page, null until set. */
export function derived(key: string, ok: (v: string) => boolean, label: ModuleMessageKey): Setting<string | null> {
  const parse = (v: unknown): string | null => (v === null ? null : typeof v === 'string' && ok(v) ? v : refuse(key, 'value refused'));
  return { key, default: null, parse, fromForm: () => refuse(key, 'not set from a form'), field: { kind: 'hidden', label, error: 'config.error.refused' }, secret: false };
}

// ---------------------------------------------------------------- reading

export interface SettingsSource {
  getOr<T>(key: string, fallback: T): T;
}

/** Every value, each checked: the first unusable one throws its InputError (names the key). */
export function readStrict<S extends SettingsShape>(store: SettingsSource, g: SettingsGroup<S>): ValuesOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(g.settings)) out[name] = s.parse(store.getOr<unknown>(s.key, s.default));
  return out as ValuesOf<S>;
}

/** Every value; an unusable one is replaced by its default (a bad setting never blocks the feature). */
export function readLenient<S extends SettingsShape>(store: SettingsSource, g: SettingsGroup<S>): ValuesOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(g.settings)) {
    try {
      out[name] = s.parse(store.getOr<unknown>(s.key, s.default));
    } catch {
      out[name] = s.default;
    }
  }
  return out as ValuesOf<S>;
}
