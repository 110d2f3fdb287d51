import { InputError } from './errors';
import { valueMsg } from './value-messages';

/** A dotted-quad IPv4 address, validated strictly (no leading zeros, which some tools read as octal). */
export class Ipv4 {
  private constructor(readonly value: number) {}

  static parse(input: unknown, field = 'ip'): Ipv4 {
    if (typeof input !== 'string') throw new InputError(`${field}: an IPv4 address is required`, field, valueMsg('value.ip.required'));
    const s = input.trim();
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) throw new InputError(`${field}: "${s.slice(0, 40)}" is not an IPv4 address`, field, valueMsg('value.ip.invalid', { value: s.slice(0, 40) }));
    let v = 0;
    for (const part of m.slice(1)) {
      if ((part.length > 1 && part.startsWith('0')) || Number(part) > 255) {
        throw new InputError(`${field}: "${s}" is not an IPv4 address`, field, valueMsg('value.ip.invalid', { value: s }));
      }
      v = v * 256 + Number(part);
    }
    return new Ipv4(v);
  }

  static fromNumber(v: number): Ipv4 {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InputError(`not an IPv4 address: ${v}`);
    return new Ipv4(v);
  }

  toString(): string {
    return [24, 16, 8, 0].map((s) => (this.value >>> s) & 255).join('.');
  }

  equals(o: Ipv4): boolean {
    return this.value === o.value;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** An IPv4 subnet such as 10.0.0.0/24; validates that an address belongs to it. */
export class Ipv4Subnet {
  private constructor(readonly network: Ipv4, readonly prefix: number) {}

  static parse(input: unknown, field = 'subnet'): Ipv4Subnet {
    if (typeof input !== 'string' || !input.includes('/')) throw new InputError(`${field}: expected a subnet like 10.0.0.0/24`, field);
    const [addr, len] = input.trim().split('/');
    const prefix = Number(len);
    if (!/^\d{1,2}$/.test(len) || prefix < 8 || prefix > 30) throw new InputError(`${field}: prefix length must be 8..30`, field);
    const ip = Ipv4.parse(addr, field);
    const mask = maskOf(prefix);
    return new Ipv4Subnet(Ipv4.fromNumber((ip.value & mask) >>> 0), prefix);
  }

  get netmask(): Ipv4 {
    return Ipv4.fromNumber(maskOf(this.prefix));
  }

  get broadcast(): Ipv4 {
    return Ipv4.fromNumber((this.network.value | (~maskOf(this.prefix) >>> 0)) >>> 0);
  }

  contains(ip: Ipv4): boolean {
    return ((ip.value & maskOf(this.prefix)) >>> 0) === this.network.value;
  }

  /** A usable host address: inside, not the network nor broadcast address. */
  isHost(ip: Ipv4): boolean {
    return this.contains(ip) && !ip.equals(this.network) && !ip.equals(this.broadcast);
  }

  toString(): string {
    return `${this.network}/${this.prefix}`;
  }
}

/** The netmask of a prefix length 0..32, as an unsigned number (24 → 0xffffff00). */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
