import { InputError } from './errors';
import { valueMsg } from './value-messages';

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * A MAC address, parsed and normalised once at the boundary.
 * Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` and `aabbccddeeff`, any case.
 * Every other representation (pxelinux file name, iPXE, dnsmasq) is produced here and nowhere else.
 */
export class Mac {
  private constructor(private readonly hex: string) {}

  static parse(input: unknown, field = 'mac'): Mac {
    if (typeof input !== 'string') throw new InputError(`${field}: a MAC address is required`, field, valueMsg('value.mac.required'));
    const s = input.trim().toLowerCase();
    if (s.length > 17) throw new InputError(`${field}: "${clip(input)}" is not a MAC address`, field, valueMsg('value.mac.invalid', { value: clip(input) }));
    let hex: string | null = null;
    if (/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(s)) {
      const sep = s[2];
      if (s.split(sep).length === 6) hex = s.split(sep).join('');
    } else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(s)) hex = s.replace(/\./g, '');
    else if (HEX12.test(s)) hex = s;
    if (!hex) throw new InputError(`${field}: "${clip(input)}" is not a MAC address (expected aa:bb:cc:dd:ee:ff)`, field, valueMsg('value.mac.invalid', { value: clip(input) }));
    if (hex === '000000000000' || hex === 'ffffffffffff') {
      const isNull = hex === '000000000000';
      throw new InputError(`${field}: ${isNull ? 'the null' : 'the broadcast'} address is not a machine`, field, valueMsg(isNull ? 'value.mac.null' : 'value.mac.broadcast'));
    }
    if (parseInt(hex.slice(0, 2), 16) & 1) {
      throw new InputError(`${field}: ${format(hex, ':')} is a multicast address, not a machine`, field, valueMsg('value.mac.multicast', { value: format(hex, ':') }));
    }
    return new Mac(hex);
  }

  static tryParse(input: unknown): Mac | null {
    try {
      return Mac.parse(input);
    } catch {
      return null;
    }
  }

  /** aa:bb:cc:dd:ee:ff — storage, LDAP, dnsmasq, display. */
  toString(): string {
    return format(this.hex, ':');
  }

  /** 01-aa-bb-cc-dd-ee-ff — the pxelinux per-client config file name (ARP hardware type 1 = Ethernet). */
  pxelinuxName(): string {
    return `01-${format(this.hex, '-')}`;
  }

  /** The 6 raw bytes, for Wake-on-LAN. */
  bytes(): Buffer {
    return Buffer.from(this.hex, 'hex');
  }

  equals(other: Mac): boolean {
    return this.hex === other.hex;
  }

  toJSON(): string {
    return this.toString();
  }
}

function format(hex: string, sep: string): string {
  return hex.match(/../g)!.join(sep);
}

function clip(v: string): string {
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}
