import { InputError } from '../../src/common/domain/errors';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import {
  buildMagicPacket, MAGIC_PACKET_LENGTH, parseWakeDestination, SecureOnPassword, WakeError, WakeOnLan, type WakeSocket,
} from '../../src/wake/wake-on-lan';

const MAC = Mac.parse('52:54:00:12:34:56');
const dest = (ip: string, port = 9) => parseWakeDestination(ip, port);

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

describe('WakeOnLan', () => {
  it('sends repeat rounds to every destination, spaced by the injected sleep, then closes', async () => {
    const log: string[] = [];
    const { socket, sent, closedCount } = fakeSocket(log);
    const wol = new WakeOnLan({
      destinations: [dest('10.77.0.255'), dest('10.77.1.255', 7)],
      bindAddress: Ipv4.parse('10.77.0.1'),
      socketFactory: () => socket,
      sleep: async (ms) => {
        log.push(`sleep ${ms}`);
      },
      intervalMs: 250,
    });
    const report = await wol.wake(MAC);
    expect(report).toEqual({ mac: '52:54:00:12:34:56', packetsSent: 6, failures: [] });
    expect(log).toEqual([
      'open 10.77.0.1',
      'send 10.77.0.255:9', 'send 10.77.1.255:7', 'sleep 250',
      'send 10.77.0.255:9', 'send 10.77.1.255:7', 'sleep 250',
      'send 10.77.0.255:9', 'send 10.77.1.255:7',
      'close',
    ]);
    expect(closedCount()).toBe(1);
    for (const s of sent) expect(s.packet).toEqual(buildMagicPacket(MAC));
  });

  it('passes the SecureOn password and honours per-call destinations and repeat=1', async () => {
    const { socket, sent } = fakeSocket([]);
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255')], repeat: 1, socketFactory: () => socket, sleep: async () => undefined });
    await wol.wake(MAC, { secureOn: SecureOnPassword.parse('aabbccddeeff'), destinations: [dest('192.168.5.255')] });
    expect(sent.map((s) => s.address)).toEqual(['192.168.5.255']);
    expect(sent[0].packet.length).toBe(108);
  });

  it('reports a failing destination but succeeds when another one worked', async () => {
    const { socket } = fakeSocket([], { failFor: '10.77.1.255' });
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255'), dest('10.77.1.255')], socketFactory: () => socket, sleep: async () => undefined });
    const r = await wol.wake(MAC);
    expect(r.packetsSent).toBe(3);
    expect(r.failures).toEqual([{ destination: '10.77.1.255:9', error: 'ENETUNREACH' }]);
  });

  it('rejects with WakeError when nothing could be sent, and still closes the socket', async () => {
    const f = fakeSocket([], { failFor: '10.77.0.255' });
    const wol = new WakeOnLan({ destinations: [dest('10.77.0.255')], socketFactory: () => f.socket, sleep: async () => undefined });
    await expect(wol.wake(MAC)).rejects.toBeInstanceOf(WakeError);
    expect(f.closedCount()).toBe(1);
    const g = fakeSocket([], { failOpen: true });
    const wol2 = new WakeOnLan({ destinations: [dest('10.77.0.255')], socketFactory: () => g.socket });
    await expect(wol2.wake(MAC)).rejects.toThrow(/cannot open a UDP socket.*EADDRNOTAVAIL/);
    expect(g.closedCount()).toBe(1);
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
