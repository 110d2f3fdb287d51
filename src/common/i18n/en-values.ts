/** English twin of fr-values.ts. */
import type { ValueMessageKey } from '../domain/value-messages';

export const enValues: Readonly<Record<ValueMessageKey, string>> = {
  'value.mac.required': 'a MAC address is required',
  'value.mac.invalid': '"{value}" is not a MAC address (expected aa:bb:cc:dd:ee:ff)',
  'value.mac.null': 'the null address is not a machine',
  'value.mac.broadcast': 'the broadcast address is not a machine',
  'value.mac.multicast': '{value} is a multicast address, not a machine',
  'value.ip.required': 'an IPv4 address is required',
  'value.ip.invalid': '"{value}" is not an IPv4 address',
  'value.hostname.required': 'a machine name is required',
  'value.hostname.invalid': '"{value}" is not a valid machine name (1 to 15 letters, digits or \'-\', not starting or ending with \'-\')',
  'value.hostname.digits': 'a machine name cannot be only digits',
  'value.parc.invalid': 'not a valid group name',
};
