/**
 * Which local interface a Wake-on-LAN destination belongs to.
 *
 * A magic packet must reach the PCs' network and nothing else. A directed broadcast such as
 * 10.77.0.255 is delivered as a broadcast on the interface that carries 10.77.0.0/24 (the
 * kernel's connected route); on a host without such an interface the same datagram is an
 * ordinary unicast for the default gateway, and leaves the school's server for the Internet
 * (issue 12: the embedded demo defaults did exactly that). So a destination is sent only when an
 * interface of this host carries its subnet, from a socket bound to that interface's address;
 * otherwise nothing is sent and the caller says why.
 *
 * Node's dgram has no SO_BINDTODEVICE: the connected route is what keeps the packet on that
 * interface, and it exists exactly when the interface carries the subnet, which is checked here.
 */
import os from 'node:os';
import { Ipv4, maskOf } from '../common/domain/ipv4';

export interface LocalInterface {
  readonly name: string;
  readonly address: Ipv4;
  /** Prefix length of the interface's subnet (24 for 255.255.255.0). */
  readonly prefix: number;
}

export type InterfaceLister = () => readonly LocalInterface[];

/** The host's IPv4 interfaces (os.networkInterfaces), read at each call: links come and go. */
export const hostInterfaces: InterfaceLister = () => {
  const out: LocalInterface[] = [];
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== 'IPv4' || a.cidr === null) continue;
      const prefix = Number(a.cidr.slice(a.cidr.indexOf('/') + 1));
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) continue;
      out.push({ name, address: Ipv4.parse(a.address, `interface ${name}`), prefix });
    }
  }
  return out;
};

/**
 * The interface whose subnet holds `destination` (its directed broadcast included), the most
 * specific one when several do; null when none does.
 */
export function interfaceFor(destination: Ipv4, interfaces: readonly LocalInterface[]): LocalInterface | null {
  let best: LocalInterface | null = null;
  for (const i of interfaces) {
    const mask = maskOf(i.prefix);
    if (((i.address.value & mask) >>> 0) !== ((destination.value & mask) >>> 0)) continue;
    if (best === null || i.prefix > best.prefix) best = i;
  }
  return best;
}
