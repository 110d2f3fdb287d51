/** The transfer state machine alone: fake channel, fake timers, in-memory files. No sockets. */
import { bufferFile, type TftpFile } from '../../src/tftp/file-source';
import { parsePacket, type TftpOption, type TftpPacket } from '../../src/tftp/packet';
import { ReadTransfer, type Timers, type TransferEnd } from '../../src/tftp/read-transfer';

class FakeTimers implements Timers {
  private now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get armed(): number {
    return this.pending.size;
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
}

/** Lets pending file reads (promises) settle. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

interface SetupOptions {
  blockSize?: number;
  windowSize?: number;
  oack?: TftpOption[] | null;
  rollover?: 0 | 1;
  maxRetries?: number;
  readAheadBytes?: number;
  handshakeDeadlineMs?: number;
  timeoutMs?: number;
}

function setup(file: TftpFile, o: SetupOptions = {}) {
  const timers = new FakeTimers();
  const sent: TftpPacket[] = [];
  const ends: TransferEnd[] = [];
  const t = new ReadTransfer({
    file,
    blockSize: o.blockSize ?? 512,
    windowSize: o.windowSize ?? 1,
    timeoutMs: o.timeoutMs ?? 1000,
    maxRetries: o.maxRetries ?? 3,
    handshakeDeadlineMs: o.handshakeDeadlineMs,
    rollover: o.rollover ?? 0,
    readAheadBytes: o.readAheadBytes,
    oack: o.oack ?? null,
    timers,
    send: (b) => {
      const p = parsePacket(b);
      if (!p.ok) throw new Error('transfer sent garbage');
      sent.push(p.packet);
    },
    onEnd: (e) => ends.push(e),
  });
  const take = () => sent.splice(0, sent.length);
  const ack = async (block: number) => {
    t.handle({ op: 'ACK', block });
    await flush();
  };
  return { t, timers, sent, ends, take, ack };
}

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
const blocks = (ps: TftpPacket[]) => ps.map((p) => (p.op === 'DATA' ? `${p.block}:${p.data.length}` : p.op));

describe('ReadTransfer', () => {
  it.each([
    [0, ['1:0']],
    [511, ['1:511']],
    [512, ['1:512', '2:0']],
    [513, ['1:512', '2:1']],
  ])('a %i-byte file is sent as %j, then completes', async (size, expected) => {
    const s = setup(bufferFile(bytes(size)));
    s.t.start();
    await flush();
    const seen: TftpPacket[] = [];
    for (let b = 1; s.ends.length === 0 && b < 10; b++) {
      seen.push(...s.take());
      await s.ack(b);
    }
    expect(blocks(seen)).toEqual(expected);
    expect(s.ends).toEqual([{ kind: 'complete' }]);
    expect(s.timers.armed).toBe(0);
  });

  it('sends the OACK first and data only after ACK 0', async () => {
    const s = setup(bufferFile(bytes(10)), { oack: [{ name: 'tsize', value: '10' }] });
    s.t.start();
    expect(s.take()).toEqual([{ op: 'OACK', options: [{ name: 'tsize', value: '10' }] }]);
    await s.ack(5); // not ACK 0: ignored
    expect(s.take()).toEqual([]);
    await s.ack(0);
    expect(blocks(s.take())).toEqual(['1:10']);
  });

  it('retransmits the OACK on timeout', async () => {
    const s = setup(bufferFile(bytes(10)), { oack: [{ name: 'tsize', value: '10' }] });
    s.t.start();
    s.take();
    s.timers.advance(1000);
    expect(s.take().map((p) => p.op)).toEqual(['OACK']);
  });

  it('retransmits the block when the ACK is lost, and ignores duplicate ACKs', async () => {
    const s = setup(bufferFile(bytes(2000)));
    s.t.start();
    await flush();
    expect(blocks(s.take())).toEqual(['1:512']);
    s.timers.advance(999);
    expect(s.take()).toEqual([]);
    s.timers.advance(1);
    await flush();
    expect(blocks(s.take())).toEqual(['1:512']); // the ACK never came: same block again
    await s.ack(1);
    expect(blocks(s.take())).toEqual(['2:512']);
    await s.ack(1); // duplicate (late copy of the first ACK): Sorcerer's Apprentice says nothing
    await s.ack(1);
    expect(s.take()).toEqual([]);
    await s.ack(2);
    expect(blocks(s.take())).toEqual(['3:512']);
  });

  it('drops a client that stops acknowledging after maxRetries', async () => {
    const s = setup(bufferFile(bytes(2000)), { maxRetries: 3 });
    s.t.start();
    await flush();
    for (let i = 0; i < 3; i++) {
      s.timers.advance(1000);
      await flush();
    }
    expect(blocks(s.take())).toEqual(['1:512', '1:512', '1:512', '1:512']);
    expect(s.ends).toEqual([]);
    s.timers.advance(1000);
    expect(s.ends).toEqual([{ kind: 'timeout' }]);
    expect(s.timers.armed).toBe(0);
  });

  it('ends a transfer whose OACK is never acknowledged at the fixed deadline, whatever the negotiated timeout', async () => {
    const s = setup(bufferFile(bytes(10)), { oack: [{ name: 'timeout', value: '5' }], timeoutMs: 5000, maxRetries: 5, handshakeDeadlineMs: 3000 });
    s.t.start();
    s.timers.advance(2999);
    expect(s.ends).toEqual([]);
    s.timers.advance(1);
    expect(s.ends).toEqual([{ kind: 'handshake-timeout' }]);
    expect(s.timers.armed).toBe(0);
  });

  it('ends a transfer whose first block is never acknowledged at the deadline; an acknowledged one runs past it', async () => {
    const lost = setup(bufferFile(bytes(2000)), { timeoutMs: 5000, maxRetries: 5, handshakeDeadlineMs: 3000 });
    lost.t.start();
    await flush();
    lost.timers.advance(3000);
    expect(lost.ends).toEqual([{ kind: 'handshake-timeout' }]);

    const slow = setup(bufferFile(bytes(2000)), { timeoutMs: 5000, maxRetries: 5, handshakeDeadlineMs: 3000 });
    slow.t.start();
    await flush();
    await slow.ack(1);
    slow.timers.advance(4000);
    await slow.ack(2);
    expect(slow.ends).toEqual([]);
    expect(blocks(slow.take())).toEqual(['1:512', '2:512', '3:512']);
    await slow.ack(3);
    await slow.ack(4);
    expect(slow.ends).toEqual([{ kind: 'complete' }]);
    expect(slow.timers.armed).toBe(0);
  });

  it('sends windows and restarts after the last in-order ACK (RFC 7440)', async () => {
    const s = setup(bufferFile(bytes(512 * 10)), { windowSize: 4 });
    s.t.start();
    await flush();
    expect(blocks(s.take())).toEqual(['1:512', '2:512', '3:512', '4:512']);
    await s.ack(2); // block 3 was lost: the client acknowledges 2
    expect(blocks(s.take())).toEqual(['3:512', '4:512', '5:512', '6:512']);
    await s.ack(6);
    expect(blocks(s.take())).toEqual(['7:512', '8:512', '9:512', '10:512']);
    await s.ack(11); // beyond the window: stale or forged, ignored
    expect(s.take()).toEqual([]);
    await s.ack(10);
    expect(blocks(s.take())).toEqual(['11:0']);
    await s.ack(11);
    expect(s.ends).toEqual([{ kind: 'complete' }]);
  });

  it.each([
    [0, [65535, 0, 1]],
    [1, [65535, 1, 2]],
  ] as const)('rolls block numbers over past 65535 (rollover %i)', async (rollover, wireAfter) => {
    const size = 8 * 65537; // 65537 full blocks of 8 bytes, then an empty last block
    const s = setup(bufferFile(bytes(size)), { blockSize: 8, windowSize: 8, rollover });
    s.t.start();
    await flush();
    let acked = 0;
    const wires: number[] = [];
    while (s.ends.length === 0 && acked < 70000) {
      const window = s.take().filter((p): p is Extract<TftpPacket, { op: 'DATA' }> => p.op === 'DATA');
      if (window.length === 0) throw new Error('stalled');
      wires.push(...window.map((p) => p.block));
      await s.ack((window[window.length - 1] as { block: number }).block);
      acked += window.length;
    }
    expect(s.ends).toEqual([{ kind: 'complete' }]);
    expect(wires.length).toBe(65538);
    expect(wires.slice(65534, 65537)).toEqual(wireAfter);
  });

  it('reads the file once per read-ahead chunk, not once per block', async () => {
    const inner = bufferFile(bytes(512 * 40));
    const reads: Array<[number, number]> = [];
    const counting: TftpFile = { ...inner, read: async (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
    const s = setup(counting, { readAheadBytes: 512 * 16 });
    s.t.start();
    await flush();
    for (let b = 1; b <= 41 && s.ends.length === 0; b++) await s.ack(b);
    expect(s.ends).toEqual([{ kind: 'complete' }]);
    expect(reads).toEqual([[0, 8192], [8192, 8192], [16384, 4096]]);
  });

  it('ends on an ERROR from the client without answering', async () => {
    const s = setup(bufferFile(bytes(2000)));
    s.t.start();
    await flush();
    s.take();
    s.t.handle({ op: 'ERROR', code: 0, message: 'user abort' });
    expect(s.ends).toEqual([{ kind: 'client-error', code: 0, message: 'user abort' }]);
    s.timers.advance(5000);
    expect(s.take()).toEqual([]);
  });

  it('answers an unexpected opcode with error 4 and ends', async () => {
    const s = setup(bufferFile(bytes(2000)));
    s.t.start();
    await flush();
    s.take();
    s.t.handle({ op: 'DATA', block: 1, data: Buffer.alloc(1) });
    expect(s.take()).toMatchObject([{ op: 'ERROR', code: 4 }]);
    expect(s.ends[0]?.kind).toBe('protocol-error');
  });

  it('reports a read error to the client with error 0', async () => {
    const failing: TftpFile = { size: 100, read: async () => Promise.reject(new Error('EIO')), close: async () => undefined };
    const s = setup(failing);
    s.t.start();
    await flush();
    expect(s.take()).toMatchObject([{ op: 'ERROR', code: 0 }]);
    expect(s.ends[0]).toMatchObject({ kind: 'read-error' });
  });

  it('refuses to send a short block that is not the last (the file shrank)', async () => {
    const lying: TftpFile = { size: 2000, read: async () => Buffer.alloc(10), close: async () => undefined };
    const s = setup(lying);
    s.t.start();
    await flush();
    expect(s.take()).toMatchObject([{ op: 'ERROR', code: 0 }]);
    expect(s.ends[0]).toMatchObject({ kind: 'read-error', detail: 'file shrank during the transfer' });
  });

  it('abort() stops everything', async () => {
    const s = setup(bufferFile(bytes(2000)));
    s.t.start();
    await flush();
    s.take();
    s.t.abort('stop');
    s.timers.advance(10000);
    await s.ack(1);
    expect(s.take()).toEqual([]);
    expect(s.ends).toEqual([{ kind: 'aborted', detail: 'stop' }]);
  });
});
