/**
 * The sending side of one read transfer: windows of DATA blocks, ACK handling, retransmission.
 *
 * It knows nothing about sockets: packets go out through `send` and come in through `handle`,
 * and time goes through injected Timers, so the whole state machine is testable with a fake
 * channel and a fake clock. The owner (the server) closes the socket and the file on `onEnd`.
 *
 * Block numbers: internally every block has an absolute index (1, 2, … with 0 for the OACK); on
 * the wire it is folded to 16 bits, wrapping to 0 after 65535 (or to 1 with `rollover 1`). An ACK
 * is mapped back to the index inside the window in flight, so rollover needs no special case.
 */
import type { TftpFile } from './file-source';
import { ErrorCode, serializeData, serializeError, serializeOack, type TftpOption, type TftpPacket } from './packet';

export type TimerHandle = unknown;
/** setTimeout/clearTimeout, injectable so tests can drive retransmission without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type TransferEnd =
  | { readonly kind: 'complete' }
  | { readonly kind: 'client-error'; readonly code: number; readonly message: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'handshake-timeout' }
  | { readonly kind: 'protocol-error'; readonly detail: string }
  | { readonly kind: 'read-error'; readonly detail: string }
  | { readonly kind: 'aborted'; readonly detail: string };

export interface ReadTransferParams {
  readonly file: TftpFile;
  readonly blockSize: number;
  readonly windowSize: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /**
   * Ends the transfer when nothing was acknowledged (neither the OACK nor DATA 1) this long
   * after start, however long the negotiated timeout: a slot held by a client that never
   * answers is what starves the others. Absent: only the retransmission limit applies.
   */
  readonly handshakeDeadlineMs?: number;
  readonly rollover: 0 | 1;
  /** Bytes read from the file at once, at least a window (default: just the window). */
  readonly readAheadBytes?: number;
  /** Options to acknowledge first (then wait for ACK 0), or null to start with DATA 1. */
  readonly oack: readonly TftpOption[] | null;
  readonly send: (packet: Buffer) => void;
  readonly timers: Timers;
  readonly onEnd: (end: TransferEnd) => void;
}

export class ReadTransfer {
  private readonly totalBlocks: number;
  /** Wire block numbers repeat with this period. */
  private readonly modulus: number;
  private phase: 'oack' | 'data' = 'data';
  private acked = 0;
  private sentUpTo = 0;
  private retries = 0;
  /** Bumped on every (re)send, so a file read that finishes late cannot send a stale window. */
  private epoch = 0;
  private timer: TimerHandle | null = null;
  private handshakeTimer: TimerHandle | null = null;
  private ended = false;
  private bytesSent = 0;
  private cache: { offset: number; data: Buffer } | null = null;

  constructor(private readonly p: ReadTransferParams) {
    // The last block is always shorter than blksize, possibly empty: that is how EOF is signalled.
    this.totalBlocks = Math.floor(p.file.size / p.blockSize) + 1;
    this.modulus = p.rollover === 1 ? 0xffff : 0x10000;
    if (p.windowSize >= this.modulus) throw new RangeError('window size must be below the block number period');
  }

  get done(): boolean {
    return this.ended;
  }

  /** DATA payload bytes put on the wire, retransmissions included. */
  get sentBytes(): number {
    return this.bytesSent;
  }

  start(): void {
    if (this.p.handshakeDeadlineMs !== undefined) {
      this.handshakeTimer = this.p.timers.setTimeout(() => {
        this.handshakeTimer = null;
        this.finish({ kind: 'handshake-timeout' });
      }, this.p.handshakeDeadlineMs);
    }
    if (this.p.oack !== null) {
      this.phase = 'oack';
      this.sendOack();
    } else {
      void this.sendWindow();
    }
  }

  handle(packet: TftpPacket): void {
    if (this.ended) return;
    if (packet.op === 'ERROR') {
      this.finish({ kind: 'client-error', code: packet.code, message: packet.message });
      return;
    }
    if (packet.op !== 'ACK') {
      this.p.send(serializeError(ErrorCode.ILLEGAL_OPERATION, `unexpected ${packet.op} during a read transfer`));
      this.finish({ kind: 'protocol-error', detail: `unexpected ${packet.op}` });
      return;
    }
    if (this.phase === 'oack') {
      if (packet.block !== 0) return;
      this.handshakeDone();
      this.phase = 'data';
      this.retries = 0;
      void this.sendWindow();
      return;
    }
    // How far past the last acknowledged block this ACK is. 0 is a duplicate of the last ACK,
    // anything beyond the window is stale: both are ignored. Answering duplicates is the
    // Sorcerer's Apprentice bug (RFC 1123 4.2.3.1): lost data is resent by our timer only.
    const delta = (((packet.block - this.acked) % this.modulus) + this.modulus) % this.modulus;
    if (delta === 0 || delta > this.sentUpTo - this.acked) return;
    this.acked += delta;
    this.handshakeDone();
    this.retries = 0;
    if (this.acked >= this.totalBlocks) {
      this.finish({ kind: 'complete' });
      return;
    }
    void this.sendWindow();
  }

  /** Stops timers and sending; the owner has decided the transfer is over. */
  abort(detail: string): void {
    this.finish({ kind: 'aborted', detail });
  }

  private wire(index: number): number {
    return this.p.rollover === 1 ? ((index - 1) % 0xffff) + 1 : index % 0x10000;
  }

  private sendOack(): void {
    this.p.send(serializeOack(this.p.oack ?? []));
    this.arm();
  }

  private async sendWindow(): Promise<void> {
    const epoch = ++this.epoch;
    // Armed before the read too, so a file read that never completes still ends in a timeout.
    this.arm();
    const { blockSize, file } = this.p;
    const first = this.acked + 1;
    const last = Math.min(this.acked + this.p.windowSize, this.totalBlocks);
    this.sentUpTo = last;
    const offset = (first - 1) * blockSize;
    const wanted = Math.min(file.size - offset, (last - first + 1) * blockSize);
    let data = this.cached(offset, wanted);
    if (data === null) {
      try {
        // Read ahead well past the window: one file read (a thread-pool round trip) then serves
        // many ACKs synchronously, which is what makes lock-step transfers fast.
        const chunk = await file.read(offset, Math.min(file.size - offset, Math.max(wanted, this.p.readAheadBytes ?? 0)));
        this.cache = { offset, data: chunk };
      } catch (err) {
        if (!this.ended && epoch === this.epoch) this.failRead(`read failed: ${(err as Error).message}`);
        return;
      }
      if (this.ended || epoch !== this.epoch) return;
      data = this.cache.data.subarray(0, wanted);
    }
    if (data.length < wanted) {
      this.failRead('file shrank during the transfer');
      return;
    }
    for (let index = first; index <= last; index++) {
      const start = (index - first) * blockSize;
      const block = data.subarray(start, Math.min(start + blockSize, data.length));
      this.bytesSent += block.length;
      this.p.send(serializeData(this.wire(index), block));
    }
    this.arm();
  }

  /** The bytes at [offset, offset+length) if the read-ahead buffer holds all of them. */
  private cached(offset: number, length: number): Buffer | null {
    if (length === 0) return Buffer.alloc(0);
    const c = this.cache;
    if (c === null || offset < c.offset || offset + length > c.offset + c.data.length) return null;
    return c.data.subarray(offset - c.offset, offset - c.offset + length);
  }

  private failRead(detail: string): void {
    this.p.send(serializeError(ErrorCode.NOT_DEFINED, 'read error on server'));
    this.finish({ kind: 'read-error', detail });
  }

  private arm(): void {
    this.disarm();
    this.timer = this.p.timers.setTimeout(() => this.onTimeout(), this.p.timeoutMs);
  }

  private handshakeDone(): void {
    if (this.handshakeTimer !== null) this.p.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private disarm(): void {
    if (this.timer !== null) this.p.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimeout(): void {
    this.timer = null;
    if (this.ended) return;
    this.retries += 1;
    if (this.retries > this.p.maxRetries) {
      this.finish({ kind: 'timeout' });
      return;
    }
    if (this.phase === 'oack') this.sendOack();
    else void this.sendWindow();
  }

  private finish(end: TransferEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.epoch += 1;
    this.disarm();
    this.handshakeDone();
    this.p.onEnd(end);
  }
}
