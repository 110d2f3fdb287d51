/**
 * Who makes an agent call (docs/agent-protocol.md, "Sessions"): the secret it presents and the
 * address it comes from. The boot token (in a boot file anyone on the PC network may read) only
 * fetches the job, once; that answer carries a fresh session secret, kept in the agent's memory,
 * which every later call must present, from the address that fetched the job. With the default
 * `agent.addressCheck = reserved`, that address must also be the target's reserved IP.
 */
import { Ipv4 } from '../common/domain/ipv4';
import type { MessageVars } from '../common/i18n/translator';
import type { ModuleMessageKey } from '../i18n/module-messages';

export interface AgentCaller {
  /** `Authorization: Bearer`: the boot token (job fetch). */
  readonly token?: string;
  /** `X-Clonage-Session`: the secret the job fetch answered (every later call). */
  readonly session?: string;
  /** The peer's IPv4 address as the socket saw it; null when there is none (Unix socket). */
  readonly address: string | null;
}

export const SESSION_HEADER = 'X-Clonage-Session';

/**
 * `reserved`: the job fetch, every later call and the boot files that carry a token must come
 * from the target's reserved IP (what a PC of the parc gets from our DHCP).
 * `fetcher`: later calls must come from the address that fetched the job, wherever that is
 * (PCs behind NAT or a relay that hides their address).
 */
export const ADDRESS_CHECKS = ['reserved', 'fetcher'] as const;
export type AddressCheck = (typeof ADDRESS_CHECKS)[number];

/** The IPv4 of a socket peer (`::ffff:a.b.c.d` unwrapped), or null for anything else. */
export function peerAddress(raw: string | undefined | null): string | null {
  if (!raw) return null;
  const v4 = raw.startsWith('::ffff:') ? raw.slice(7) : raw;
  try {
    return Ipv4.parse(v4).toString();
  } catch {
    return null; // IPv6: PCs boot over IPv4 (PXE), so no reserved address can match it
  }
}

/** What a refused agent call leaves on its action's page (recorded after the refusal's rollback). */
export interface RefusalNotice {
  readonly targetId: string;
  readonly key: Extract<ModuleMessageKey, `event.agent.${string}`>;
  readonly vars: MessageVars;
  readonly text: string;
}

/** Attaches a notice to a typed error; the agent service records it and rethrows the error. */
export function withNotice<E extends Error>(err: E, notice: RefusalNotice): E & { notice: RefusalNotice } {
  return Object.assign(err, { notice });
}

export function noticeOf(err: unknown): RefusalNotice | null {
  const n = (err as { notice?: RefusalNotice } | null)?.notice;
  return n && typeof n.targetId === 'string' ? n : null;
}
