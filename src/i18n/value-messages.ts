/**
 * The value types' catalog (src/domain), separate from the module's and the shell's because both
 * show these messages; each of them includes it in its own catalog.
 */
import type { MessageRef } from '../domain/errors';
import type { Locale } from '../host/contract';
import type { MessageVars } from './translator';
import { enValues } from './messages/en-values';
import { frValues } from './messages/fr-values';

export type ValueMessageKey = keyof typeof frValues;

export const VALUE_CATALOGS: Readonly<Record<Locale, Readonly<Record<ValueMessageKey, string>>>> = { fr: frValues, en: enValues };

export function valueMsg(key: ValueMessageKey, vars?: MessageVars): MessageRef {
  return vars ? { key, vars } : { key };
}
