/**
 * The value types' catalog (src/common/domain), separate from the module's and the shell's because
 * both show these messages; each of them includes it in its own catalog.
 */
import type { ValueMessageKey } from '../domain/value-messages';
import type { Locale } from './locale';
import { enValues } from './en-values';
import { frValues } from './fr-values';

export const VALUE_CATALOGS: Readonly<Record<Locale, Readonly<Record<ValueMessageKey, string>>>> = { fr: frValues, en: enValues };
