/**
 * Bounded fuzzing (fast-check, ≤ 2000 runs, ≤ 10 s each) of the value types parsed at every
 * boundary: Mac, Ipv4, Ipv4Subnet, Hostname, parc names. They never throw anything but InputError,
 * what they accept is canonical, and every representation they produce parses back to the same value.
 */
import fc from 'fast-check';
import { InputError } from '../../src/common/domain/errors';
import { Hostname, parseParcName } from '../../src/common/domain/hostname';
import { Ipv4, Ipv4Subnet } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';

const LIMITS = { numRuns: 2000, interruptAfterTimeLimit: 9000 };

/** Inputs close to the formats (so acceptance is often reached), mixed with anything at all. */
const hexish = fc.stringMatching(/^ ?[0-9a-fA-F:.\- ]{0,20} ?$/);
const dotted = fc.stringMatching(/^ ?[0-9.]{0,18}[ /x]?$/);
const namey = fc.stringMatching(/^ ?[A-Za-z0-9_.$ -]{0,18} ?$/);
const anything = fc.oneof(fc.anything({ maxDepth: 1 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('', ' ', '\n', '\u0000'));

/** Calls a parser: the value, or null after an InputError; anything else fails the property. */
function tryParse<T>(f: () => T): T | null {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return null;
  }
}

const unicastMac = fc.uint8Array({ minLength: 6, maxLength: 6 })
  .filter((b) => (b[0] & 1) === 0 && !b.every((x) => x === 0));
/** Real MAC notations with blanks, case changes and hostile suffixes around them. */
const macLike = fc.tuple(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constantFrom(':', '-', '.', ''), fc.constantFrom('', ' ', '\t', ';reboot', '\nx', ':00', '$(id)'), fc.boolean())
  .map(([b, sep, noise, upper]) => {
    const hex = Buffer.from(b).toString('hex');
    const s = sep === '.' ? `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}` : hex.match(/../g)!.join(sep);
    return (upper ? s.toUpperCase() : s) + noise;
  });
const hostLike = fc.tuple(fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?$/), fc.constantFrom('', ' ', ';reboot', '.lan', '$', '\n'))
  .map(([h, noise]) => h + noise);
let accepted = 0;
afterEach(() => {
  expect(accepted).toBeGreaterThan(0); // the generators reached the accepting paths too
  accepted = 0;
});

describe('fuzz: domain value types', () => {
  it('Mac.parse: InputError or a canonical unicast MAC that round-trips through every representation', () => {
    fc.assert(fc.property(fc.oneof(hexish, anything, macLike), (input) => {
      const mac = tryParse(() => Mac.parse(input));
      if (!mac) return;
      accepted++;
      const s = mac.toString();
      expect(s).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(parseInt(s.slice(0, 2), 16) & 1).toBe(0);
      expect(['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']).not.toContain(s);
      expect(Mac.parse(s).equals(mac)).toBe(true);
      expect(mac.pxelinuxName()).toMatch(/^01-([0-9a-f]{2}-){5}[0-9a-f]{2}$/);
      expect(Mac.parse(mac.pxelinuxName().slice(3)).equals(mac)).toBe(true);
      expect(mac.bytes().length).toBe(6);
      expect(JSON.stringify(mac)).toBe(`"${s}"`);
    }), LIMITS);
  });

  it('Mac.parse: the four notations of the same unicast bytes, any case, give one MAC; multicast is refused', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.boolean(), (b, upper) => {
      const hex = Buffer.from(b).toString('hex');
      const pairs = hex.match(/../g)!;
      const forms = [pairs.join(':'), pairs.join('-'), `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`, hex].map((f) => (upper ? f.toUpperCase() : f));
      const parsed = forms.map((f) => tryParse(() => Mac.parse(f)));
      const valid = (b[0] & 1) === 0 && hex !== '000000000000';
      expect(parsed.every((p) => (valid ? p !== null && p.toString() === pairs.join(':') : p === null))).toBe(true);
      if (valid) accepted++;
    }), LIMITS);
    fc.assert(fc.property(unicastMac, fc.constantFrom(':', '-'), (b, sep) => {
      const pairs = Buffer.from(b).toString('hex').match(/../g)!;
      const mixed = `${pairs.slice(0, 3).join(sep)}${sep === ':' ? '-' : ':'}${pairs.slice(3).join(sep)}`;
      expect(tryParse(() => Mac.parse(mixed))).toBeNull(); // one separator per address
    }), { ...LIMITS, numRuns: 300 });
  });

  it('Ipv4: InputError or a dotted quad without leading zeros that round-trips through its number', () => {
    fc.assert(fc.property(fc.oneof(dotted, anything, fc.ipV4()), (input) => {
      const ip = tryParse(() => Ipv4.parse(input));
      if (!ip) return;
      accepted++;
      const s = ip.toString();
      expect(s).toMatch(/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/);
      expect(s).toBe(String(input).trim());
      expect(Ipv4.parse(s).equals(ip)).toBe(true);
      expect(Ipv4.fromNumber(ip.value).toString()).toBe(s);
    }), LIMITS);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      expect(Ipv4.parse(Ipv4.fromNumber(n).toString()).value).toBe(n);
    }), LIMITS);
    fc.assert(fc.property(fc.oneof(fc.double(), fc.integer({ min: -1e12, max: 1e12 })), (n) => {
      const ok = Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
      expect(tryParse(() => Ipv4.fromNumber(n)) !== null).toBe(ok);
    }), LIMITS);
  });

  it('Ipv4Subnet: InputError or a network whose hosts it contains', () => {
    fc.assert(fc.property(fc.oneof(fc.tuple(fc.ipV4(), fc.integer({ min: -2, max: 40 })).map(([a, p]) => `${a}/${p}`), dotted, anything), (input) => {
      const net = tryParse(() => Ipv4Subnet.parse(input));
      if (!net) return;
      accepted++;
      expect(net.prefix >= 8 && net.prefix <= 30).toBe(true);
      expect(net.contains(net.network) && net.contains(net.broadcast)).toBe(true);
      expect(net.isHost(net.network) || net.isHost(net.broadcast)).toBe(false);
      expect(Ipv4Subnet.parse(net.toString()).toString()).toBe(net.toString());
    }), LIMITS);
  });

  it('Hostname: InputError or a lowercase NetBIOS/DNS name, idempotent and case-insensitive', () => {
    fc.assert(fc.property(fc.oneof(namey, anything, fc.domain(), hostLike), (input) => {
      const h = tryParse(() => Hostname.parse(input));
      if (!h) return;
      accepted++;
      expect(h.value).toMatch(/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/);
      expect(h.value).not.toMatch(/^\d+$/);
      expect(Hostname.parse(h.value).value).toBe(h.value);
      expect(Hostname.parse(h.value.toUpperCase()).value).toBe(h.value);
      expect(h.value).toBe(String(input).trim().toLowerCase());
    }), LIMITS);
  });

  it('parc names: InputError or letters, digits, _ and -, never a path', () => {
    fc.assert(fc.property(fc.oneof(namey, anything, fc.constantFrom('../x', 'a/b', '.', '..', '-a', '_a')), (input) => {
      const p = tryParse(() => parseParcName(input));
      if (p === null) return;
      accepted++;
      expect(p).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
    }), LIMITS);
  });
});
