import fc from 'fast-check';
import {
  parsePacket,
  serializeAck,
  serializeData,
  serializeError,
  serializeOack,
  serializePacket,
  serializeRequest,
  type TftpPacket,
} from '../../src/tftp/packet';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('parsePacket', () => {
  it.each<[string, Buffer, TftpPacket]>([
    [
      'RRQ without options',
      Buffer.from('\x00\x01pxelinux.0\x00octet\x00', 'latin1'),
      { op: 'RRQ', filename: 'pxelinux.0', mode: 'octet', options: [] },
    ],
    [
      'RRQ with options, case kept',
      Buffer.from('\x00\x01a/b\x00OCTET\x00blksize\x001468\x00TSIZE\x000\x00', 'latin1'),
      {
        op: 'RRQ', filename: 'a/b', mode: 'OCTET',
        options: [{ name: 'blksize', value: '1468' }, { name: 'TSIZE', value: '0' }],
      },
    ],
    [
      'RRQ padded with NULs (some boot ROMs)',
      Buffer.from('\x00\x01f\x00octet\x00\x00\x00', 'latin1'),
      { op: 'RRQ', filename: 'f', mode: 'octet', options: [] },
    ],
    ['WRQ', Buffer.from('\x00\x02x\x00netascii\x00', 'latin1'), { op: 'WRQ', filename: 'x', mode: 'netascii', options: [] }],
    ['DATA', hex('0003 0102 aabbcc'), { op: 'DATA', block: 0x0102, data: hex('aabbcc') }],
    ['empty DATA', hex('0003 ffff'), { op: 'DATA', block: 0xffff, data: Buffer.alloc(0) }],
    ['ACK', hex('0004 0000'), { op: 'ACK', block: 0 }],
    ['ACK with trailing bytes', hex('0004 0007 00'), { op: 'ACK', block: 7 }],
    ['ERROR', Buffer.from('\x00\x05\x00\x01not found\x00', 'latin1'), { op: 'ERROR', code: 1, message: 'not found' }],
    ['ERROR without NUL', Buffer.from('\x00\x05\x00\x08abc', 'latin1'), { op: 'ERROR', code: 8, message: 'abc' }],
    ['OACK', Buffer.from('\x00\x06blksize\x00512\x00', 'latin1'), { op: 'OACK', options: [{ name: 'blksize', value: '512' }] }],
  ])('parses %s', (_name, bytes, expected) => {
    expect(parsePacket(bytes)).toEqual({ ok: true, packet: expected });
  });

  it.each<[string, Buffer, string, number | undefined]>([
    ['empty', Buffer.alloc(0), 'too-short', undefined],
    ['one byte', hex('00'), 'too-short', undefined],
    ['unknown opcode 0', hex('0000'), 'unknown-opcode', 0],
    ['unknown opcode 7', hex('0007 0001'), 'unknown-opcode', 7],
    ['unknown opcode 0xffff', hex('ffff'), 'unknown-opcode', 0xffff],
    ['ACK without block', hex('0004 00'), 'too-short', 4],
    ['DATA without block', hex('0003'), 'too-short', 3],
    ['ERROR without code', hex('0005'), 'too-short', 5],
    ['RRQ without NUL', Buffer.from('\x00\x01file', 'latin1'), 'malformed', 1],
    ['RRQ without mode', Buffer.from('\x00\x01file\x00', 'latin1'), 'malformed', 1],
    ['RRQ option without value', Buffer.from('\x00\x01f\x00octet\x00blksize\x00', 'latin1'), 'malformed', 1],
    ['RRQ option missing its NUL', Buffer.from('\x00\x01f\x00octet\x00blksize\x00512', 'latin1'), 'malformed', 1],
    ['OACK odd list', Buffer.from('\x00\x06blksize\x00', 'latin1'), 'malformed', 6],
  ])('refuses %s with a typed error', (_name, bytes, kind, opcode) => {
    const result = parsePacket(bytes);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.kind).toBe(kind);
      expect(result.error.opcode).toBe(opcode);
    }
  });

  it('keeps every byte of a non-ASCII file name (latin1 decoding)', () => {
    const bytes = Buffer.concat([hex('0001'), hex('c3a9ff'), hex('00'), Buffer.from('octet\0')]);
    const result = parsePacket(bytes);
    expect(result.ok && result.packet.op === 'RRQ' && Buffer.from(result.packet.filename, 'latin1')).toEqual(hex('c3a9ff'));
  });
});

describe('serialisers', () => {
  it('produce the RFC layouts', () => {
    expect(serializeAck(0x1234)).toEqual(hex('0004 1234'));
    expect(serializeData(1, hex('ff'))).toEqual(hex('0003 0001 ff'));
    expect(serializeError(2, 'no')).toEqual(hex('0005 0002 6e6f 00'));
    expect(serializeOack([{ name: 'tsize', value: '5' }])).toEqual(Buffer.from('\x00\x06tsize\x005\x00', 'latin1'));
    expect(serializeRequest({ op: 'RRQ', filename: 'f', mode: 'octet' })).toEqual(Buffer.from('\x00\x01f\x00octet\x00', 'latin1'));
  });

  it('throw on values that cannot be encoded', () => {
    expect(() => serializeAck(65536)).toThrow(RangeError);
    expect(() => serializeData(-1, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => serializeError(1, 'a\0b')).toThrow(RangeError);
  });
});

describe('properties (fast-check)', () => {
  it('parsePacket never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const result = parsePacket(Buffer.from(bytes));
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('parsePacket never throws on near-valid packets (real opcode, random tail)', () => {
    const opcode = fc.integer({ min: 0, max: 8 });
    const tail = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 80 });
    fc.assert(
      fc.property(opcode, tail, (op, rest) => {
        expect(() => parsePacket(Buffer.from([0, op, ...rest]))).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  const cstr = fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0'));
  const option = fc.record({ name: cstr.filter((s) => s.length > 0), value: cstr });
  const packet: fc.Arbitrary<TftpPacket> = fc.oneof(
    fc.record({
      op: fc.constantFrom('RRQ' as const, 'WRQ' as const),
      filename: cstr,
      mode: cstr,
      // A trailing empty value would be indistinguishable from NUL padding.
      options: fc.array(option.filter((o) => o.value !== ''), { maxLength: 4 }),
    }),
    fc.record({ op: fc.constant('DATA' as const), block: fc.nat(0xffff), data: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) }),
    fc.record({ op: fc.constant('ACK' as const), block: fc.nat(0xffff) }),
    fc.record({ op: fc.constant('ERROR' as const), code: fc.nat(0xffff), message: cstr }),
    fc.record({ op: fc.constant('OACK' as const), options: fc.array(option.filter((o) => o.value !== ''), { maxLength: 4 }) }),
  );

  it('parse(serialise(p)) is p for every packet', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const parsed = parsePacket(serializePacket(p));
        expect(parsed).toEqual({ ok: true, packet: p });
      }),
      { numRuns: 2000 },
    );
  });
});
