import { InputError } from './errors';
import { valueMsg } from './value-messages';

/**
 * A workstation name: what Windows (NetBIOS, 15 chars) and DNS (RFC 1123 label) both accept,
 * so the same name can go into LDAP, DHCP, the netlogon scripts and a domain join.
 * Stored lowercase; the directory and DHCP compare names case-insensitively.
 */
export class Hostname {
  private constructor(readonly value: string) {}

  static parse(input: unknown, field = 'name'): Hostname {
    if (typeof input !== 'string') throw new InputError(`${field}: a machine name is required`, field, valueMsg('value.hostname.required'));
    const s = input.trim().toLowerCase();
    if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(s)) {
      throw new InputError(
        `${field}: "${input.slice(0, 40)}" is not a valid machine name (1 to 15 letters, digits or '-', not starting or ending with '-')`,
        field,
        valueMsg('value.hostname.invalid', { value: input.slice(0, 40) }),
      );
    }
    if (/^\d+$/.test(s)) throw new InputError(`${field}: a machine name cannot be only digits`, field, valueMsg('value.hostname.digits'));
    return new Hostname(s);
  }

  toString(): string {
    return this.value;
  }

  toJSON(): string {
    return this.value;
  }
}

/** A parc (machine group) name as SE3 creates them: letters, digits, '_' and '-'. */
export function parseParcName(input: unknown, field = 'parc'): string {
  if (typeof input !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(input.trim())) {
    throw new InputError(`${field}: not a valid parc name`, field, valueMsg('value.parc.invalid'));
  }
  return input.trim();
}
