/**
 * Bounded fuzzing of the live server: random and half-valid packets to the request port and to a
 * transfer socket for at most ~2.5 s, then a normal transfer must still succeed byte-exact and
 * every session must drain. (The parser's own property tests are in tftp-packet.test.ts.)
 */
import fc from 'fast-check';
import { bufferFile, type FileSource, type TftpFile } from '../../src/tftp/file-source';
import { serializeAck, serializePacket, serializeRequest, type TftpPacket } from '../../src/tftp/packet';
import { TftpServer } from '../../src/tftp/tftp-server';
import { RawClient, waitFor } from '../helpers/tftp-raw-client';

/** At least MIN_PACKETS (whatever the machine's load), then more until FUZZ_MS or MAX_PACKETS. */
const MIN_PACKETS = 2000;
const FUZZ_MS = 2500;
const MAX_PACKETS = 30000;
const content = Buffer.from(Array.from({ length: 1300 }, (_, i) => (i * 7) & 0xff));

const names = fc.constantFrom('f.bin', 'missing', '../x', '/f.bin', '', 'a\\b', 'f.bin\x01');
const optionNames = fc.constantFrom('blksize', 'tsize', 'timeout', 'windowsize', 'rollover', 'BLKSIZE', 'x');
const optionValues = fc.oneof(fc.constantFrom('0', '1', '8', '7', '65464', '65535', '-1', '', '99999999999'), fc.string({ maxLength: 6 }));
const cstr = fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0'));

/** Valid-shaped packets with hostile values, so the fuzz gets past the parser into the server. */
const shaped: fc.Arbitrary<TftpPacket> = fc.oneof(
  fc.record({
    op: fc.constantFrom('RRQ' as const, 'WRQ' as const),
    filename: names,
    mode: fc.constantFrom('octet', 'OCTET', 'netascii', 'mail', 'x'),
    options: fc.array(fc.record({ name: optionNames, value: optionValues.filter((v) => !v.includes('\0') && v !== '') }), { maxLength: 5 }),
  }),
  fc.record({ op: fc.constant('ACK' as const), block: fc.nat(0xffff) }),
  fc.record({ op: fc.constant('DATA' as const), block: fc.nat(0xffff), data: fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)) }),
  fc.record({ op: fc.constant('ERROR' as const), code: fc.nat(10), message: cstr }),
  fc.record({ op: fc.constant('OACK' as const), options: fc.constant([]) }),
);
const raw = fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a));
const packets = fc.oneof(shaped.map(serializePacket), raw, shaped.map(serializePacket).chain((b) => fc.nat(b.length).map((n) => b.subarray(0, n))));

class CountingSource implements FileSource {
  opened = 0;
  closed = 0;
  async open(path: string): Promise<TftpFile | null> {
    if (path !== 'f.bin') return null;
    this.opened += 1;
    return { ...bufferFile(content), close: async () => void (this.closed += 1) };
  }
}

it('survives a burst of random packets and keeps serving', async () => {
  const source = new CountingSource();
  // Short timers so that the sessions the fuzz opens end soon; long enough (3 × 500 ms) that the
  // check transfer below survives a stalled event loop on a loaded machine.
  const server = new TftpServer({ source, port: 0, address: '127.0.0.1', retransmitTimeoutMs: 500, maxRetries: 2 });
  await server.start();
  const fuzzer = await RawClient.open();
  const victim = await RawClient.open();
  try {
    // A transfer in progress whose TID gets fuzzed too.
    victim.send(serializeRequest({ op: 'RRQ', filename: 'f.bin', mode: 'octet' }), server.port);
    const tid = (await victim.next()).port;

    const deadline = Date.now() + FUZZ_MS;
    let sent = 0;
    const sample = fc.sample(packets, { numRuns: 2000, seed: 42 });
    while (sent < MIN_PACKETS || (Date.now() < deadline && sent < MAX_PACKETS)) {
      for (const p of sample.slice(0, 100)) fuzzer.send(p, sent % 5 === 0 ? tid : server.port);
      sample.push(...sample.splice(0, 100));
      sent += 100;
      await new Promise((resolve) => setImmediate(resolve));
    }

    // Fresh client, full transfer, byte-exact.
    const check = await RawClient.open();
    try {
      check.send(serializeRequest({ op: 'RRQ', filename: 'f.bin', mode: 'octet', options: [{ name: 'blksize', value: '1024' }] }), server.port);
      const oack = await check.next();
      expect(oack.packet.op).toBe('OACK');
      check.send(serializeAck(0), oack.port);
      const chunks: Buffer[] = [];
      for (let block = 1; block <= 2; block++) {
        let { packet } = await check.next();
        // a copy of the previous packet (its timer fired before our ACK arrived) is skipped
        while (packet.op === 'OACK' || (packet.op === 'DATA' && packet.block === block - 1)) ({ packet } = await check.next());
        if (packet.op !== 'DATA') throw new Error(`expected DATA, got ${packet.op}`);
        chunks.push(packet.data);
        check.send(serializeAck(block), oack.port);
      }
      expect(Buffer.concat(chunks)).toEqual(content);
      expect(check.unparseable).toBe(0);
    } finally {
      await check.close();
    }
    await waitFor(() => server.sessionCount === 0, 20_000);
    expect(source.closed).toBe(source.opened);
    // Every reply the server sent during the fuzz was a well-formed packet.
    expect(fuzzer.unparseable).toBe(0);
  } finally {
    await fuzzer.close();
    await victim.close();
    await server.stop();
  }
});
