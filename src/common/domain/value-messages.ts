/**
 * The catalog keys of the value types' own messages (MAC, IPv4, machine and parc names). The
 * value types own their keys; the texts live in the catalogs (src/common/i18n/value-catalogs.ts),
 * so this lowest layer loads no presentation code.
 */
import type { MessageRef } from './errors';

export const VALUE_MESSAGE_KEYS = [
  'value.mac.required', 'value.mac.invalid', 'value.mac.null', 'value.mac.broadcast', 'value.mac.multicast',
  'value.ip.required', 'value.ip.invalid',
  'value.hostname.required', 'value.hostname.invalid', 'value.hostname.digits',
  'value.parc.invalid',
] as const;

export type ValueMessageKey = (typeof VALUE_MESSAGE_KEYS)[number];

export function valueMsg(key: ValueMessageKey, vars?: MessageRef['vars']): MessageRef {
  return vars ? { key, vars } : { key };
}
