/**
 * Wake-on-LAN: the magic packet (pure) and a sender over UDP.
 *
 * Why our own ~150 lines rather than npm `wake_on_lan` / `node-wol`: those packages are tiny,
 * unmaintained for years, parse MACs their own lenient way (we already have `Mac`), and hard-wire
 * dgram and timers, so neither the socket nor the delay can be injected in tests. See
 * docs/wake-and-netlogon.md.
 *
 * A magic packet is 6 bytes 0xFF followed by the target MAC 16 times (102 bytes), optionally
 * followed by a 6-byte SecureOn password. It is sent as a UDP datagram to the directed broadcast
 * address of the PC's subnet (e.g. 10.77.0.255): a sleeping PC has no IP stack, only its NIC looks
 * at every frame on the wire, and a broadcast is what reaches it through switches that forgot its
 * port. UDP gives no acknowledgement and the first frames are sometimes lost while a switch port or
 * NIC wakes up, hence a few repeats spaced by a short delay. Only to a subnet an interface of this
 * host carries, from that interface (wake-interface.ts): never through the default route.
 */
import dgram from 'node:dgram';
import { ClonageError, InputError } from '../common/domain/errors';
import { Ipv4 } from '../common/domain/ipv4';
import type { Mac } from '../common/domain/mac';
import { hostInterfaces, interfaceFor, type InterfaceLister } from './wake-interface';

export const MAGIC_PACKET_LENGTH = 102;
export const DEFAULT_WAKE_PORT = 9;

/** The 6-byte SecureOn password some NICs require after the 16 MAC repetitions (ethtool `sopass`). */
export class SecureOnPassword {
  private constructor(private readonly raw: Buffer) {}

  /** Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or 12 hex digits. Any byte value is allowed. */
  static parse(input: unknown, field = 'secureOn'): SecureOnPassword {
    if (typeof input !== 'string') throw new InputError(`${field}: a SecureOn password is required`, field);
    const s = input.trim().toLowerCase();
    const hex = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(s) && new Set(s.replace(/[0-9a-f]/g, '')).size === 1
      ? s.replace(/[:-]/g, '')
      : /^[0-9a-f]{12}$/.test(s) ? s : null;
    if (!hex) throw new InputError(`${field}: expected 6 bytes written like aa:bb:cc:dd:ee:ff`, field);
    return new SecureOnPassword(Buffer.from(hex, 'hex'));
  }

  bytes(): Buffer {
    return Buffer.from(this.raw);
  }

  /** Never printed: it is a password. */
  toString(): string {
    return '[SecureOn]';
  }

  toJSON(): string {
    return '[SecureOn]';
  }
}

/** 6 × 0xFF, 16 × MAC, then the SecureOn password if any: 102 or 108 bytes. */
export function buildMagicPacket(mac: Mac, secureOn: SecureOnPassword | null = null): Buffer {
  const macBytes = mac.bytes();
  const parts = [Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => macBytes)];
  if (secureOn) parts.push(secureOn.bytes());
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- destinations

export interface WakeDestination {
  readonly address: Ipv4;
  readonly port: number;
}

/**
 * Port 9 (discard) is the usual one, 7 (echo) the other conventional choice. Unprivileged ports
 * (≥ 1024) are allowed for WoL relays and for tests; other privileged ports are refused so a
 * misconfiguration cannot aim datagrams at DNS, NetBIOS, syslog….
 */
export function parseWakeDestination(address: unknown, port: unknown = DEFAULT_WAKE_PORT, field = 'wake'): WakeDestination {
  const ip = address instanceof Ipv4 ? address : Ipv4.parse(address, field);
  if (ip.value === 0) throw new InputError(`${field}: 0.0.0.0 is not a destination`, field);
  const p = typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : port;
  if (typeof p !== 'number' || !Number.isInteger(p) || !(p === 7 || p === 9 || (p >= 1024 && p <= 65535))) {
    throw new InputError(`${field}: port must be 9, 7 or an unprivileged port (1024-65535)`, field);
  }
  return { address: ip, port: p };
}

// ---------------------------------------------------------------- socket seam

/** The little a sender needs from a UDP socket; `udpWakeSocket()` is the real one. */
export interface WakeSocket {
  /** Binds to `bindAddress` (the interface's) on an ephemeral port and enables broadcast. */
  open(bindAddress: string): Promise<void>;
  send(packet: Buffer, port: number, address: string): Promise<void>;
  close(): void;
}

export type WakeSocketFactory = () => WakeSocket;

export function udpWakeSocket(): WakeSocket {
  const socket = dgram.createSocket({ type: 'udp4' });
  // An 'error' event without a listener would crash the process; errors surface through promises.
  socket.on('error', () => undefined);
  let closed = false;
  return {
    open: (bindAddress) =>
      new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: 0, address: bindAddress, exclusive: true }, () => {
          socket.off('error', reject);
          try {
            // Without SO_BROADCAST the kernel refuses to send to a broadcast address (EACCES).
            socket.setBroadcast(true);
            resolve();
          } catch (e) {
            reject(e);
          }
        });
      }),
    send: (packet, port, address) =>
      new Promise((resolve, reject) => socket.send(packet, port, address, (err) => (err ? reject(err) : resolve()))),
    close: () => {
      if (!closed) {
        closed = true;
        socket.close();
      }
    },
  };
}

// ---------------------------------------------------------------- sender

export interface WakeOnLanOptions {
  /** Where packets go: the directed broadcast of each PC subnet (HostNetwork.wakeBroadcasts). */
  readonly destinations: readonly WakeDestination[];
  /** Packets per destination, 1..10; default 3. */
  readonly repeat?: number;
  /** Delay between rounds, 0..5000 ms; default 100. */
  readonly intervalMs?: number;
  /** The host's interfaces (default: os.networkInterfaces at each wake); a seam for tests. */
  readonly interfaces?: InterfaceLister;
  readonly socketFactory?: WakeSocketFactory;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface WakeReport {
  readonly mac: string;
  readonly packetsSent: number;
  readonly failures: readonly { readonly destination: string; readonly error: string }[];
}

export class WakeError extends ClonageError {
  constructor(message: string, readonly report: WakeReport) {
    super(message);
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class WakeOnLan {
  private readonly destinations: readonly WakeDestination[];
  private readonly repeat: number;
  private readonly intervalMs: number;
  private readonly socketFactory: WakeSocketFactory;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly interfaces: InterfaceLister;

  constructor(private readonly options: WakeOnLanOptions) {
    this.destinations = checkDestinations(options.destinations);
    this.repeat = options.repeat ?? 3;
    if (!Number.isInteger(this.repeat) || this.repeat < 1 || this.repeat > 10) throw new InputError('wake: repeat must be 1..10', 'repeat');
    this.intervalMs = options.intervalMs ?? 100;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 0 || this.intervalMs > 5000) {
      throw new InputError('wake: intervalMs must be 0..5000', 'intervalMs');
    }
    this.socketFactory = options.socketFactory ?? udpWakeSocket;
    this.sleep = options.sleep ?? realSleep;
    this.interfaces = options.interfaces ?? hostInterfaces;
  }

  /**
   * Sends the magic packet `repeat` times to every destination, each from a socket bound to the
   * interface that carries the destination's subnet (wake-interface.ts). A destination no
   * interface carries is not sent at all (it would leave through the default route) and is
   * reported; so is one that fails (e.g. no route). Only if nothing at all could be sent does it
   * reject with a WakeError, whose message says why.
   */
  async wake(mac: Mac, opts: { secureOn?: SecureOnPassword | null; destinations?: readonly WakeDestination[] } = {}): Promise<WakeReport> {
    const destinations = opts.destinations ? checkDestinations(opts.destinations) : this.destinations;
    const packet = buildMagicPacket(mac, opts.secureOn ?? null);
    const failures: { destination: string; error: string }[] = [];
    const fail = (d: WakeDestination, error: string) => {
      const destination = `${d.address}:${d.port}`;
      if (!failures.some((f) => f.destination === destination)) failures.push({ destination, error });
    };
    const interfaces = this.interfaces();
    const routed: { d: WakeDestination; from: string }[] = [];
    for (const d of destinations) {
      const iface = interfaceFor(d.address, interfaces);
      if (iface === null) fail(d, `no interface of this host is on the subnet of ${d.address}: not sent`);
      else routed.push({ d, from: iface.address.toString() });
    }
    let packetsSent = 0;
    const sockets = new Map<string, WakeSocket | Error>();
    try {
      for (const from of new Set(routed.map((r) => r.from))) {
        const socket = this.socketFactory();
        try {
          await socket.open(from);
          sockets.set(from, socket);
        } catch (e) {
          socket.close();
          sockets.set(from, e instanceof Error ? e : new Error(String(e)));
        }
      }
      for (let round = 0; round < this.repeat && routed.length > 0; round++) {
        if (round > 0 && this.intervalMs > 0) await this.sleep(this.intervalMs);
        for (const { d, from } of routed) {
          const socket = sockets.get(from);
          if (socket === undefined || socket instanceof Error) {
            fail(d, `cannot open a UDP socket on ${from} (${errorText(socket)})`);
            continue;
          }
          try {
            await socket.send(packet, d.port, d.address.toString());
            packetsSent++;
          } catch (e) {
            fail(d, errorText(e));
          }
        }
      }
    } finally {
      for (const socket of sockets.values()) if (!(socket instanceof Error)) socket.close();
    }
    const report: WakeReport = { mac: mac.toString(), packetsSent, failures };
    if (packetsSent === 0) {
      throw new WakeError(`wake ${mac}: no packet sent (${failures.map((f) => `${f.destination}: ${f.error}`).join('; ')})`, report);
    }
    return report;
  }
}

function checkDestinations(list: readonly WakeDestination[]): readonly WakeDestination[] {
  if (!Array.isArray(list) || list.length === 0) throw new InputError('wake: at least one broadcast destination is needed', 'destinations');
  if (list.length > 32) throw new InputError('wake: at most 32 destinations', 'destinations');
  return list.map((d) => parseWakeDestination(d.address, d.port));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
