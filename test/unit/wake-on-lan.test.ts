import { InputError } from '../../src/common/domain/errors';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import {
  buildMagicPacket, MAGIC_PACKET_LENGTH, parseWakeDestination, SecureOnPassword, WakeError, WakeOnLan, type WakeSocket,
} from '../../src/wake/wake-on-lan';
import { interfaceFor, type LocalInterface } from '../../src/wake/wake-interface';

const MAC = Mac.parse('52:54:00:12:34:56');
const dest = (ip: string, port = 9) => parseWakeDestination(ip, port);
const iface = (name: string, address: string, prefix = 24): LocalInterface => ({ name, address: Ipv4.parse(address), prefix });
/** The PCs' networks as a multi-homed server would have them (the test host has none of them). */
const SERVER_IFACES = [iface('lo', '127.0.0.1', 8), iface('br0', '10.77.0.1'), iface('br1', '10.77.1.1'), iface('eth1', '192.168.5.1')];
const interfaces = () => SERVER_IFACES;

/** A socket that records instead of sending; `failFor` makes sends to an address fail. */
function fakeSocket(log: string[], opts: { failFor?: string; failOpen?: boolean } = {}) {
  const sent: { packet: Buffer; port: number; address: string }[] = [];
  let closed = 0;
  const socket: WakeSocket = {
    open: async (bind) => {
      log.push(`open ${bind ?? '*'}`);
      if (opts.failOpen) throw new Error('EADDRNOTAVAIL');
    },
    send: async (packet, port, address) => {
      log.push(`send ${address}:${port}`);
      if (address === opts.failFor) throw new Error('ENETUNREACH');
      sent.push({ packet, port, address });
    },
    close: () => {
      closed++;
      log.push('close');
    },
  };
  return { socket, sent, closedCount: () => closed };
}

describe('magic packet', () => {
  it('is 6 x 0xFF then the MAC 16 times, 102 bytes', () => {
    const p = buildMagicPacket(MAC);
    expect(p.length).toBe(MAGIC_PACKET_LENGTH);
    const expected = 'ff'.repeat(6) + '525400123456'.repeat(16);
    expect(p.toString('hex')).toBe(expected);
  });

  it('appends a 6-byte SecureOn password (108 bytes)', () => {
    const p = buildMagicPacket(MAC, SecureOnPassword.parse('01:02:03:fe:ff:00'));
    expect(p.length).toBe(108);
    expect(p.subarray(102).toString('hex')).toBe('010203feff00');
    expect(p.subarray(0, 102)).toEqual(buildMagicPacket(MAC));
  });

  it.each(['01-02-03-04-05-06', '010203040506', ' AA:BB:CC:DD:EE:FF '])('SecureOn accepts %p', (s) => {
    expect(SecureOnPassword.parse(s).bytes().length).toBe(6);
  });

  it.each(['01:02:03:04:05', '01:02-03:04:05:06', 'zz:02:03:04:05:06', '1.2.3.4', '', 42])('SecureOn refuses %p', (s) => {
    expect(() => SecureOnPassword.parse(s)).toThrow(InputError);
  });

  it('never prints the SecureOn password', () => {
    const s = SecureOnPassword.parse('01:02:03:04:05:06');
    expect(`${s}`).toBe('[SecureOn]');
    expect(JSON.stringify({ s })).not.toContain('01');
  });
});

describe('wake destinations', () => {
  it.each([[9], [7], [1024], ['9'], [40000]])('accepts port %p', (port) => {
    expect(parseWakeDestination('10.77.0.255', port).port).toBe(Number(port));
  });
  it.each([[0], [22], [53], [137], [1023], [65536], [9.5], ['x'], [null]])('refuses port %p', (port) => {
    expect(() => parseWakeDestination('10.77.0.255', port)).toThrow(InputError);
  });
  it('refuses bad or null addresses', () => {
    expect(() => parseWakeDestination('10.77.0.256')).toThrow(InputError);
    expect(() => parseWakeDestination('0.0.0.0')).toThrow(InputError);
    expect(() => parseWakeDestination('10.77.0.255; rm')).toThrow(InputError);
  });
  it('defaults to port 9 and accepts an Ipv4', () => {
    expect(parseWakeDestination(Ipv4.parse('10.77.0.255'))).toEqual({ address: Ipv4.parse('10.77.0.255'), port: 9 });
  });
});

describe('interfaceFor', () => {
  it.each([
    ['10.77.0.255', 'br0'], ['10.77.0.42', 'br0'], ['10.77.1.255', 'br1'], ['127.255.255.255', 'lo'], ['127.0.0.1', 'lo'],
  ])('%s is on %s', (ip, name) => {
    expect(interfaceFor(Ipv4.parse(ip), SERVER_IFACES)?.name).toBe(name);
  });
  it.each(['10.77.2.255', '255.255.255.255', '8.8.8.8', '192.168.6.255'])('%s is on no interface', (ip) => {
    expect(interfaceFor(Ipv4.parse(ip), SERVER_IFACES)).toBeNull();
  });
  it('prefers the most specific subnet', () => {
    expect(interfaceFor(Ipv4.parse('10.77.0.9'), [iface('wide', '10.0.0.1', 8), iface('narrow', '10.77.0.1')])?.name).toBe('narrow');
  });
});

describe('WakeOnLan', () => {
  it('sends repeat rounds to every destination, spaced by the injected sleep, then closes', async () => {
    const log: string[] = [];
    const { socket, sent, closedCount } = fakeSocket(log);
    const wol = new WakeOnLan({
      destinations: [dest('10.77.0.255'), dest('10.77.1.255', 7)],
      interfaces,
      socketFactory: () => socket,
      sleep: async (ms) => {
        log.push(`sleep ${ms}`);
      },
      intervalMs: 250,
    });
    const report = await wol.wake(MAC);
    expect(report).toEqual({ mac: '52:54:00:12:34:56', packetsSent: 6, failures: [] });
    expect(log).toEqual([
      'open 10.77.0.1', 'open 10.77.1.1', // one socket per interface, bound to its address
      'send 10.77.0.255:9', 'send 10.77.1.255:7', 'sleep 250',
      'send 10.77.0.255:9', 'send 10.77.1.255:7', 'sleep 250',
      'send 10.77.0.255:9', 'send 10.77.1.255:7',
      'close', 'close',
    ]);
    expect(closedCount()).toBe(2);
    for (const s of sent) expect(s.packet).toEqual(buildMagicPacket(MAC));
  });

  it('passes the SecureOn password and honours per-call destinations and repeat=1', async () => {
    const { socket, sent } = fakeSocket([]);
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255')], interfaces, repeat: 1, socketFactory: () => socket, sleep: async () => undefined });
    await wol.wake(MAC, { secureOn: SecureOnPassword.parse('aabbccddeeff'), destinations: [dest('192.168.5.255')] });
    expect(sent.map((s) => s.address)).toEqual(['192.168.5.255']);
    expect(sent[0].packet.length).toBe(108);
  });

  it('reports a failing destination but succeeds when another one worked', async () => {
    const { socket } = fakeSocket([], { failFor: '10.77.1.255' });
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255'), dest('10.77.1.255')], interfaces, socketFactory: () => socket, sleep: async () => undefined });
    const r = await wol.wake(MAC);
    expect(r.packetsSent).toBe(3);
    expect(r.failures).toEqual([{ destination: '10.77.1.255:9', error: 'ENETUNREACH' }]);
  });

  it('rejects with WakeError when nothing could be sent, and still closes the socket', async () => {
    const f = fakeSocket([], { failFor: '10.77.0.255' });
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255')], interfaces, socketFactory: () => f.socket, sleep: async () => undefined });
    await expect(wol.wake(MAC)).rejects.toBeInstanceOf(WakeError);
    expect(f.closedCount()).toBe(1);
    const g = fakeSocket([], { failOpen: true });
    const wol2 = new WakeOnLan({ destinations: [dest('10.77.0.255')], interfaces, socketFactory: () => g.socket });
    await expect(wol2.wake(MAC)).rejects.toThrow(/cannot open a UDP socket.*EADDRNOTAVAIL/);
    expect(g.closedCount()).toBe(1);
  });

  it('sends nothing, opens no socket, and says why when no interface carries the subnet (the npm start demo)', async () => {
    const log: string[] = [];
    const { socket } = fakeSocket(log);
    // The embedded demo defaults aim at 10.77.0.255 on a host that only has loopback and an uplink.
    const host = () => [iface('lo', '127.0.0.1', 8), iface('eth0', '192.0.2.10')];
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255')], interfaces: host, socketFactory: () => socket, sleep: async () => undefined });
    const err = await wol.wake(MAC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WakeError);
    expect((err as WakeError).message).toBe('wake 52:54:00:12:34:56: no packet sent (10.77.0.255:9: no interface of this host is on the subnet of 10.77.0.255: not sent)');
    expect(log).toEqual([]);
  });

  it('sends to the subnets it has and reports the ones it has not', async () => {
    const log: string[] = [];
    const { socket, sent } = fakeSocket(log);
    const wol = new WakeOnLan({ destinations: [dest('10.99.0.255'), dest('10.77.0.255')], interfaces, repeat: 1, socketFactory: () => socket });
    const r = await wol.wake(MAC);
    expect(sent.map((p) => p.address)).toEqual(['10.77.0.255']);
    expect(r.failures).toEqual([{ destination: '10.99.0.255:9', error: 'no interface of this host is on the subnet of 10.99.0.255: not sent' }]);
    expect(log[0]).toBe('open 10.77.0.1');
  });

  it.each([
    [{ destinations: [] }],
    [{ destinations: [dest('10.77.0.255')], repeat: 0 }],
    [{ destinations: [dest('10.77.0.255')], repeat: 11 }],
    [{ destinations: [dest('10.77.0.255')], intervalMs: -1 }],
    [{ destinations: [{ address: Ipv4.parse('10.77.0.255'), port: 22 }] }],
  ])('refuses bad options %#', (opts) => {
    expect(() => new WakeOnLan(opts)).toThrow(InputError);
  });
});
