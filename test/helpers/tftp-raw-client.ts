/**
 * A hand-driven TFTP client for tests: sends exactly the bytes it is told to and queues what
 * comes back, so tests can lose ACKs, repeat them or send garbage on purpose.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { parsePacket, type TftpPacket } from '../../src/tftp/packet';

export interface Received {
  readonly packet: TftpPacket;
  /** Source port: the transfer's TID, or the request port for early refusals. */
  readonly port: number;
}

export class RawClient {
  private readonly queue: Received[] = [];
  private waiter: (() => void) | null = null;
  /** Packets from the server that did not parse: a server bug, tests assert it stays 0. */
  unparseable = 0;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      const parsed = parsePacket(msg);
      if (!parsed.ok) {
        this.unparseable += 1;
        return;
      }
      this.queue.push({ packet: parsed.packet, port: rinfo.port });
      this.waiter?.();
    });
  }

  /** `address`: another loopback address (127.0.0.2, …) plays another host. */
  static async open(address = '127.0.0.1'): Promise<RawClient> {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, address);
    await once(socket, 'listening');
    return new RawClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(packet: Buffer, port: number): void {
    this.socket.send(packet, port, '127.0.0.1');
  }

  /** The next packet, or a rejection after `timeoutMs` (a hang guard: generous, for loaded machines). */
  async next(timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.queue.shift() as Received;
  }

  /** Everything that arrives within `ms` (used to check that nothing, or exactly one thing, came). */
  async drain(ms: number): Promise<Received[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.queue.splice(0, this.queue.length);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** Polls `predicate` until it holds or `timeoutMs` passes (a hang guard); for state that settles asynchronously. */
export async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
