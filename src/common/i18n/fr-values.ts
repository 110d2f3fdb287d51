/**
 * French messages of the value types every form parses (src/common/domain: MAC, IPv4, machine and parc
 * names). Shared by the module's catalog and the shell's (both show these under their fields).
 */
import type { ValueMessageKey } from '../domain/value-messages';

export const frValues: Readonly<Record<ValueMessageKey, string>> = {
  'value.mac.required': 'une adresse MAC est requise',
  'value.mac.invalid': '« {value} » n’est pas une adresse MAC (attendu aa:bb:cc:dd:ee:ff)',
  'value.mac.null': 'l’adresse nulle n’est pas une machine',
  'value.mac.broadcast': 'l’adresse de diffusion n’est pas une machine',
  'value.mac.multicast': '{value} est une adresse multicast, pas une machine',
  'value.ip.required': 'une adresse IPv4 est requise',
  'value.ip.invalid': '« {value} » n’est pas une adresse IPv4',
  'value.hostname.required': 'un nom de machine est requis',
  'value.hostname.invalid': '« {value} » n’est pas un nom de machine valide (1 à 15 lettres, chiffres ou « - », sans « - » au début ni à la fin)',
  'value.hostname.digits': 'un nom de machine ne peut pas être fait que de chiffres',
  'value.parc.invalid': 'nom de parc invalide',
};
