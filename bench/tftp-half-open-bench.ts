/**
 * Benchmark row (not a test): our TFTP server's memory with many half-open windowed sessions,
 * the V2 finding of issue 12 (80 such sessions took the RSS from 93 to 426 MiB).
 *
 * Hosts on 127.0.1.1, 127.0.1.2, … each open `portsPerHost` sockets and ask for the big file
 * with blksize 65464, windowsize 64 and the longest timeout; each acknowledges the OACK, then
 * never acknowledges a block. The row reports how many sessions the server held, the bytes its
 * budget reserved, its RSS before and while they were held, and how long until every slot was
 * free again. Bounded: a fixed number of sockets, every wait capped.
 */
import dgram from 'node:dgram';
import { parsePacket, serializeAck, serializeRequest } from '../src/tftp/packet';
import type { RunningServer, ServerStats } from './tftp-bench';

export interface HalfOpenRow {
  readonly requested: number;
  readonly held: number;
  readonly reservedMiB: number;
  readonly rssBeforeMiB: number;
  readonly rssHeldMiB: number;
  /** Seconds from the last request until the server held no session (null: not within the cap). */
  readonly drainSeconds: number | null;
}

const MIB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (n: number) => Math.round((n / MIB) * 10) / 10;

async function openSocket(address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  });
  return s;
}

export async function halfOpenRow(
  server: RunningServer,
  file: string,
  opts: { hosts?: number; portsPerHost?: number; drainCapMs?: number } = {},
): Promise<HalfOpenRow> {
  const stats = server.stats;
  if (stats === undefined) throw new Error('half-open row needs our server');
  const hosts = opts.hosts ?? 25;
  const portsPerHost = opts.portsPerHost ?? 8;
  const drainCapMs = opts.drainCapMs ?? 60_000;
  const before = await stats();
  const sockets: dgram.Socket[] = [];
  try {
    for (let h = 1; h <= hosts; h++) {
      for (let p = 0; p < portsPerHost; p++) sockets.push(await openSocket(`127.0.1.${h}`));
    }
    const request = serializeRequest({
      op: 'RRQ',
      filename: file,
      mode: 'octet',
      options: [
        { name: 'blksize', value: '65464' },
        { name: 'windowsize', value: '64' },
        { name: 'timeout', value: '255' },
        { name: 'tsize', value: '0' },
      ],
    });
    for (const s of sockets) {
      // Acknowledge the OACK only: the server then reads a whole window and waits for its ACK.
      s.on('message', (msg, rinfo) => {
        const parsed = parsePacket(msg);
        if (parsed.ok && parsed.packet.op === 'OACK') s.send(serializeAck(0), rinfo.port, rinfo.address);
      });
      s.send(request, server.port, '127.0.0.1');
    }
    await sleep(2000);
    let held: ServerStats = await stats();
    for (let i = 0; i < 4; i++) {
      await sleep(250);
      const now = await stats();
      if (now.rssBytes > held.rssBytes) held = now;
    }
    const sentAt = Date.now();
    let drainSeconds: number | null = null;
    while (Date.now() - sentAt < drainCapMs) {
      if ((await stats()).sessions === 0) {
        drainSeconds = Math.round((Date.now() - sentAt) / 100) / 10;
        break;
      }
      await sleep(500);
    }
    return {
      requested: sockets.length,
      held: held.sessions,
      reservedMiB: mib(held.reservedBytes),
      rssBeforeMiB: mib(before.rssBytes),
      rssHeldMiB: mib(held.rssBytes),
      drainSeconds,
    };
  } finally {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
