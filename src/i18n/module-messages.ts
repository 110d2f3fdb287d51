/**
 * The module's message catalog (fr and en) and its typed entry points. A key that is not in the
 * French catalog is a compile error where code names it (`msg`, `moduleTranslator`); the English
 * catalog is typed from the French one, so a missing or extra English key is a compile error too.
 */
import type { MessageRef } from '../common/domain/errors';
import type { Locale } from '../host/contract';
import { createTranslator, type MessageVars, type Translate } from '../common/i18n/translator';
import { enErrors } from './messages/en-errors';
import { enEvents } from './messages/en-events';
import { enForms } from './messages/en-forms';
import { enPages } from './messages/en-pages';
import { enSettings } from './messages/en-settings';
import { frErrors } from './messages/fr-errors';
import { frEvents } from './messages/fr-events';
import { frForms } from './messages/fr-forms';
import { frPages } from './messages/fr-pages';
import { frSetup } from './messages/fr-setup';
import { enSetup } from './messages/en-setup';
import { frLibrary } from './messages/fr-library';
import { enLibrary } from './messages/en-library';
import { frSettings } from './messages/fr-settings';
import { frApi } from './messages/fr-api';
import { enApi } from './messages/en-api';
import { frMachines } from './messages/fr-machines';
import { enMachines } from './messages/en-machines';
import { VALUE_CATALOGS } from '../common/i18n/value-catalogs';
import { sizeParts } from './number-format';

const fr = { ...frPages, ...frForms, ...frSettings, ...frErrors, ...frEvents, ...frSetup, ...frLibrary, ...frApi, ...frMachines, ...VALUE_CATALOGS.fr };
export type ModuleMessageKey = keyof typeof fr;
const en: Readonly<Record<ModuleMessageKey, string>> = { ...enPages, ...enForms, ...enSettings, ...enErrors, ...enEvents, ...enSetup, ...enLibrary, ...enApi, ...enMachines, ...VALUE_CATALOGS.en };

export const MODULE_CATALOGS: Readonly<Record<Locale, Readonly<Record<ModuleMessageKey, string>>>> = { fr, en };

export type ModuleTranslate = Translate<ModuleMessageKey>;
const baseTranslator = createTranslator(MODULE_CATALOGS);

/**
 * The catalog in one language. A numeric value whose placeholder ends in `Bytes` (`{diskBytes}`)
 * is a size and is written in the reader's notation and unit ("1,5 Go" / "1.5 GB"): messages
 * stored with raw byte counts (refusals, events) read right in either language.
 */
export const moduleTranslator = (locale: Locale): ModuleTranslate => {
  const t = baseTranslator(locale);
  const size = (bytes: number) => {
    const { key, n } = sizeParts(locale, bytes);
    return t(key, { n });
  };
  return (key, vars) => {
    if (!vars || !Object.keys(vars).some((k) => k.endsWith('Bytes'))) return t(key, vars);
    return t(key, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, k.endsWith('Bytes') && typeof v === 'number' ? size(v) : v])));
  };
};

/** A catalog message for an InputError, translated when a form shows it (fieldErrorsOf). */
export function msg(key: ModuleMessageKey, vars?: MessageVars): MessageRef {
  return vars ? { key, vars } : { key };
}

/**
 * Translates a MessageRef carried by an error. Null when the key is not the module's (an error
 * the host raised, e.g. its CSRF check, with a key of its own catalog): callers then show the
 * error's English message.
 */
export function translateRef(t: ModuleTranslate, ref: MessageRef): string | null {
  if (!Object.prototype.hasOwnProperty.call(fr, ref.key)) return null;
  return t(ref.key as ModuleMessageKey, ref.vars);
}
