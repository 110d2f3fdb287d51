/** The server on loopback, driven packet by packet by a raw client, with short timeouts. */
import { bufferFile, type FileSource, type TftpFile } from '../../src/tftp/file-source';
import { ForbiddenError } from '../../src/common/domain/errors';
import { serializeAck, serializeError, serializeRequest, type TftpOption, type TftpPacket } from '../../src/tftp/packet';
import { TftpServer, type TftpServerOptions } from '../../src/tftp/tftp-server';
import { RawClient, waitFor } from '../helpers/tftp-raw-client';

/** In-memory files, counting opens and closes so tests can prove nothing leaks. */
class CountingSource implements FileSource {
  opened = 0;
  closed = 0;
  constructor(private readonly files: Record<string, Buffer>) {}
  async open(path: string): Promise<TftpFile | null> {
    if (path === 'forbidden') throw new ForbiddenError('no');
    if (path === 'broken') throw new Error('disk on fire');
    const data = this.files[path];
    if (data === undefined) return null;
    this.opened += 1;
    const inner = bufferFile(data);
    return { ...inner, close: async () => void (this.closed += 1) };
  }
}

/*
 * Real timers on a machine that may be loaded: a stalled event loop must never make a test fail.
 * So the server's retransmission timer is out of reach (NEVER) except in the tests about that
 * timer, which use a short one and wait for its effect with a generous hang guard (GUARD_MS).
 */
const TIMEOUT = 40;
/** The longest timer the server accepts (the RFC 2349 timeout option tops out at 255 s). */
const NEVER = 255_000;
const GUARD_MS = 10_000;
/** For tests asserting that nothing arrives: no retransmission can happen during them. */
const SLOW = { retransmitTimeoutMs: NEVER };
const QUIET_MS = 100;
const file3k = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));

async function withServer(
  extra: Partial<TftpServerOptions>,
  body: (server: TftpServer, client: RawClient, source: CountingSource) => Promise<void>,
): Promise<void> {
  const source = new CountingSource({ 'f.bin': file3k, 'sub/empty': Buffer.alloc(0) });
  const server = new TftpServer({ source, port: 0, address: '127.0.0.1', retransmitTimeoutMs: NEVER, maxRetries: 2, ...extra });
  await server.start();
  const client = await RawClient.open();
  try {
    await body(server, client, source);
  } finally {
    await client.close();
    await server.stop();
  }
  expect(server.sessionCount).toBe(0);
  expect(source.closed).toBe(source.opened);
  expect(client.unparseable).toBe(0);
}

const rrq = (filename: string, options: TftpOption[] = [], mode = 'octet') => serializeRequest({ op: 'RRQ', filename, mode, options });
const dataBlock = (p: TftpPacket) => (p.op === 'DATA' ? p.block : -1);

/** `client` asks for f.bin and gets DATA 1 (then ends the transfer). */
async function expectServed(client: RawClient, server: TftpServer): Promise<void> {
  client.send(rrq('f.bin'), server.port);
  const served = await client.next();
  expect(dataBlock(served.packet)).toBe(1);
  client.send(serializeError(0, 'stop'), served.port);
}

describe('TftpServer on loopback', () => {
  it('reports the ephemeral port it bound and refuses a second start', async () => {
    await withServer({}, async (server) => {
      expect(server.port).toBeGreaterThan(0);
      await expect(server.start()).rejects.toThrow('twice');
    });
  });

  it('serves a file from a new TID and completes on the last ACK', async () => {
    await withServer({}, async (server, client, source) => {
      client.send(rrq('f.bin'), server.port);
      const chunks: Buffer[] = [];
      for (let block = 1; ; block++) {
        const { packet, port } = await client.next();
        expect(port).not.toBe(server.port);
        expect(packet).toMatchObject({ op: 'DATA', block });
        if (packet.op !== 'DATA') return;
        chunks.push(packet.data);
        client.send(serializeAck(block), port);
        if (packet.data.length < 512) break;
      }
      expect(Buffer.concat(chunks)).toEqual(file3k);
      await waitFor(() => server.sessionCount === 0);
      expect(source.closed).toBe(1);
    });
  });

  it('negotiates options with an OACK and serves a leading-slash path from the root', async () => {
    await withServer({ maxBlockSize: 1468 }, async (server, client) => {
      client.send(rrq('/f.bin', [{ name: 'blksize', value: '9000' }, { name: 'tsize', value: '0' }, { name: 'foo', value: 'x' }]), server.port);
      const oack = await client.next();
      expect(oack.packet).toEqual({ op: 'OACK', options: [{ name: 'blksize', value: '1468' }, { name: 'tsize', value: '3000' }] });
      client.send(serializeAck(0), oack.port);
      const first = await client.next();
      expect(first.packet).toMatchObject({ op: 'DATA', block: 1 });
      expect(first.packet.op === 'DATA' && first.packet.data.length).toBe(1468);
      client.send(serializeError(0, 'enough'), first.port);
    });
  });

  it('retransmits when an ACK is lost', async () => {
    // Enough retries that a stalled test never sees its session dropped.
    await withServer({ retransmitTimeoutMs: 200, maxRetries: 50 }, async (server, client) => {
      client.send(rrq('f.bin'), server.port);
      const first = await client.next();
      // No ACK: the server's timer fires and block 1 comes again, from the same TID.
      const again = await client.next(GUARD_MS);
      expect(dataBlock(again.packet)).toBe(1);
      expect(again.port).toBe(first.port);
      client.send(serializeAck(1), first.port);
      let next = await client.next(GUARD_MS);
      while (dataBlock(next.packet) === 1) next = await client.next(GUARD_MS); // copies that crossed our ACK
      expect(dataBlock(next.packet)).toBe(2);
      client.send(serializeError(0, 'done'), first.port);
    });
  });

  it('ignores duplicate ACKs: no second copy of the next block', async () => {
    await withServer(SLOW, async (server, client) => {
      client.send(rrq('f.bin'), server.port);
      const first = await client.next();
      client.send(serializeAck(1), first.port);
      expect(dataBlock((await client.next()).packet)).toBe(2);
      // A duplicate ACK 1 must not trigger a second copy of block 2 (no timer can fire here).
      client.send(serializeAck(1), first.port);
      client.send(serializeAck(1), first.port);
      expect(await client.drain(QUIET_MS)).toEqual([]);
      client.send(serializeError(0, 'done'), first.port);
    });
  });

  it('drops a client that stops ACKing and frees its socket and file', async () => {
    await withServer({ retransmitTimeoutMs: TIMEOUT }, async (server, client, source) => {
      client.send(rrq('f.bin'), server.port);
      await client.next();
      expect(server.sessionCount).toBe(1);
      // 1 send + maxRetries (2) retransmissions, then the session is dropped.
      await waitFor(() => server.sessionCount === 0, GUARD_MS);
      const received = await client.drain(TIMEOUT);
      expect(received.every((r) => dataBlock(r.packet) === 1)).toBe(true);
      expect(received.length).toBe(2);
      expect(source.closed).toBe(source.opened);
    });
  });

  it('ends the session on an ERROR from the client', async () => {
    await withServer(SLOW, async (server, client, source) => {
      client.send(rrq('f.bin'), server.port);
      const { port } = await client.next();
      client.send(serializeError(0, 'cancelled'), port);
      await waitFor(() => server.sessionCount === 0);
      expect(source.closed).toBe(1);
      expect(await client.drain(QUIET_MS)).toEqual([]);
    });
  });

  it('starts one transfer only when the client repeats its request', async () => {
    await withServer(SLOW, async (server, client) => {
      client.send(rrq('f.bin'), server.port);
      client.send(rrq('f.bin'), server.port);
      const first = await client.next();
      expect(await client.drain(QUIET_MS)).toEqual([]);
      expect(server.sessionCount).toBe(1);
      client.send(serializeError(0, 'stop'), first.port);
    });
  });

  it.each<[string, number, Buffer]>([
    ['a missing file', 1, rrq('nope')],
    ['a path with ..', 2, rrq('../etc/passwd')],
    ['a second leading slash', 2, rrq('//etc/passwd')],
    ['a backslash', 2, rrq('a\\b')],
    ['a file the source forbids', 2, rrq('forbidden')],
    ['a source failure', 0, rrq('broken')],
    ['netascii mode', 4, rrq('f.bin', [], 'netascii')],
    ['a write request', 2, serializeRequest({ op: 'WRQ', filename: 'f.bin', mode: 'octet' })],
    ['an unknown opcode', 4, Buffer.from([0, 9, 1, 2])],
    ['an ACK on the request port', 4, serializeAck(1)],
    ['a truncated request', 4, Buffer.from('\x00\x01abc', 'latin1')],
  ])('answers %s with error %i', async (_name, code, packet) => {
    await withServer({}, async (server, client) => {
      client.send(packet, server.port);
      expect((await client.next()).packet).toMatchObject({ op: 'ERROR', code });
      expect(server.sessionCount).toBe(0);
    });
  });

  it('ignores oversize and one-byte packets and errors sent to the request port', async () => {
    await withServer({}, async (server, client) => {
      client.send(Buffer.concat([rrq('f.bin'), Buffer.alloc(600)]), server.port);
      client.send(Buffer.from([1]), server.port);
      client.send(serializeError(0, 'hello'), server.port);
      expect(await client.drain(TIMEOUT)).toEqual([]);
      client.send(rrq('sub/empty'), server.port);
      const last = await client.next();
      expect(last.packet).toEqual({ op: 'DATA', block: 1, data: Buffer.alloc(0) });
      client.send(serializeAck(1), last.port);
    });
  });

  it('ignores garbage on a transfer socket and keeps serving', async () => {
    await withServer({}, async (server, client) => {
      client.send(rrq('f.bin'), server.port);
      const first = await client.next();
      client.send(Buffer.from([0xff]), first.port);
      client.send(Buffer.from([0, 4, 0]), first.port);
      client.send(serializeAck(1), first.port);
      expect(dataBlock((await client.next()).packet)).toBe(2);
      client.send(serializeError(0, 'stop'), first.port);
    });
  });

  it('drops requests beyond maxSessions unanswered, so the client retries later', async () => {
    await withServer({ maxSessions: 1 }, async (server, client) => {
      const other = await RawClient.open();
      try {
        client.send(rrq('f.bin'), server.port);
        const first = await client.next();
        other.send(rrq('f.bin'), server.port);
        expect(await other.drain(TIMEOUT / 2)).toEqual([]);
        client.send(serializeError(0, 'stop'), first.port);
        await waitFor(() => server.sessionCount === 0);
        await expectServed(other, server);
      } finally {
        await other.close();
      }
    });
  });

  it('caps transfers per client address: a host flooding from many ports leaves room for another PC', async () => {
    await withServer(SLOW, async (server) => {
      const flood = await Promise.all(Array.from({ length: 10 }, () => RawClient.open('127.0.0.2')));
      const pc = await RawClient.open('127.0.0.3');
      try {
        for (const c of flood) c.send(rrq('f.bin'), server.port);
        await waitFor(() => server.sessionCount === 8); // the default per-client cap
        const answered = (await Promise.all(flood.map((c) => c.drain(QUIET_MS)))).filter((r) => r.length > 0);
        expect(answered).toHaveLength(8);
        expect(server.sessionCount).toBe(8);
        await expectServed(pc, server);
      } finally {
        await Promise.all([...flood, pc].map((c) => c.close()));
      }
    });
  });

  it('frees a slot whose OACK is never acknowledged at the handshake deadline, though the client asked for a long timeout', async () => {
    await withServer({ ...SLOW, handshakeDeadlineMs: TIMEOUT }, async (server, client, source) => {
      client.send(rrq('f.bin', [{ name: 'timeout', value: '5' }, { name: 'blksize', value: '1024' }]), server.port);
      expect((await client.next()).packet).toEqual({ op: 'OACK', options: [{ name: 'timeout', value: '5' }, { name: 'blksize', value: '1024' }] });
      await waitFor(() => server.sessionCount === 0, GUARD_MS);
      expect(source.closed).toBe(source.opened);
    });
  });

  it('declines a timeout option above what PXE ROMs use (5 s)', async () => {
    await withServer(SLOW, async (server, client) => {
      client.send(rrq('f.bin', [{ name: 'timeout', value: '255' }, { name: 'blksize', value: '1024' }]), server.port);
      const oack = await client.next();
      expect(oack.packet).toEqual({ op: 'OACK', options: [{ name: 'blksize', value: '1024' }] });
      client.send(serializeError(0, 'stop'), oack.port);
    });
  });

  it('holds transfers to the buffered-bytes budget: a smaller window, then dropped, then served once memory is freed', async () => {
    await withServer({ ...SLOW, maxBufferedBytes: 4096, maxBufferedBytesPerClient: 4096, readAheadBytes: 0 }, async (server, client) => {
      const other = await RawClient.open('127.0.0.3');
      try {
        client.send(rrq('f.bin', [{ name: 'windowsize', value: '8' }]), server.port);
        const oack = await client.next();
        expect(oack.packet).toEqual({ op: 'OACK', options: [{ name: 'windowsize', value: '4' }] });
        expect(server.reservedBytes).toBe(4096); // 4 blocks read + their 4 DATA packets
        other.send(rrq('f.bin'), server.port);
        expect(await other.drain(QUIET_MS)).toEqual([]);
        client.send(serializeError(0, 'stop'), oack.port);
        await waitFor(() => server.sessionCount === 0);
        expect(server.reservedBytes).toBe(0);
        await expectServed(other, server);
      } finally {
        await other.close();
      }
    });
  });

  it('gives one client address a share of the budget only: another host still gets its window', async () => {
    await withServer({ ...SLOW, maxBufferedBytes: 8192, maxBufferedBytesPerClient: 4096, readAheadBytes: 0 }, async (server, client) => {
      const greedy = await RawClient.open('127.0.0.2');
      const pc = await RawClient.open('127.0.0.3');
      try {
        const windowed = rrq('f.bin', [{ name: 'windowsize', value: '8' }]);
        client.send(windowed, server.port);
        const first = await client.next();
        expect(first.packet).toEqual({ op: 'OACK', options: [{ name: 'windowsize', value: '4' }] });
        greedy.send(windowed, server.port); // 127.0.0.2 is another host: its own share
        const second = await greedy.next();
        expect(second.packet).toEqual({ op: 'OACK', options: [{ name: 'windowsize', value: '4' }] });
        expect(server.reservedBytes).toBe(8192);
        client.send(serializeError(0, 'stop'), first.port);
        await waitFor(() => server.sessionCount === 1);
        pc.send(windowed, server.port);
        const third = await pc.next();
        expect(third.packet).toEqual({ op: 'OACK', options: [{ name: 'windowsize', value: '4' }] });
        greedy.send(serializeError(0, 'stop'), second.port);
        pc.send(serializeError(0, 'stop'), third.port);
      } finally {
        await greedy.close();
        await pc.close();
      }
    });
  });

  it('stop() ends transfers in progress and closes their files', async () => {
    const source = new CountingSource({ 'f.bin': file3k });
    const server = new TftpServer({ source, port: 0, address: '127.0.0.1', retransmitTimeoutMs: 10000 });
    await server.start();
    const client = await RawClient.open();
    client.send(rrq('f.bin'), server.port);
    await client.next();
    expect(server.sessionCount).toBe(1);
    await server.stop();
    await client.close();
    expect(server.sessionCount).toBe(0);
    expect(source.closed).toBe(1);
  });

  it('stop() while a file is still opening closes that file once it arrives', async () => {
    let release: (f: TftpFile) => void = () => undefined;
    let closed = 0;
    const slow: FileSource = { open: () => new Promise<TftpFile>((resolve) => (release = resolve)) };
    const server = new TftpServer({ source: slow, port: 0, address: '127.0.0.1' });
    await server.start();
    const client = await RawClient.open();
    client.send(rrq('f.bin'), server.port);
    await waitFor(() => server.sessionCount === 1);
    const stopping = server.stop();
    release({ ...bufferFile(file3k), close: async () => void (closed += 1) });
    await stopping;
    await client.close();
    expect(closed).toBe(1);
    expect(server.sessionCount).toBe(0);
  });

  it('rejects start() when the port is taken, and invalid options at construction', async () => {
    await withServer({}, async (server) => {
      const clash = new TftpServer({ source: new CountingSource({}), port: server.port, address: '127.0.0.1' });
      await expect(clash.start()).rejects.toThrow(/EADDRINUSE/);
      await clash.stop();
    });
    expect(() => new TftpServer({ source: new CountingSource({}), port: 70000 })).toThrow('port');
    expect(() => new TftpServer({ source: new CountingSource({}), port: 0, maxBlockSize: 4 })).toThrow('maxBlockSize');
  });
});
