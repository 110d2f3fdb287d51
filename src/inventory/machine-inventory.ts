import type { DhcpApi, Directory, DirectoryComputer } from '../host/contract';
import { ForbiddenError } from '../common/domain/errors';
import { msg } from '../i18n/module-messages';
import { parseParcName } from '../common/domain/hostname';
import type { Mac } from '../common/domain/mac';
import type { Ipv4 } from '../common/domain/ipv4';

/** A machine as the wizard shows it: the directory entry joined with its DHCP reservation. */
export interface Machine {
  readonly name: string;
  readonly parcs: readonly string[];
  /** From the DHCP reservation when there is one (SE3 takes IP/MAC/name from se3_dhcp), else the directory. */
  readonly mac: Mac | null;
  readonly ip: Ipv4 | null;
  readonly hasReservation: boolean;
  readonly selectable: boolean;
  /** Why the machine cannot be chosen, in the admin's language. */
  readonly reason: string | null;
  /** The catalog message for `reason` when it is one of ours (pages show it in the user's language). */
  readonly reasonKey: 'inventory.noMac' | 'inventory.noReservation' | null;
}

/**
 * Inventory = directory (parcs, computers) × DHCP reservations. A machine is selectable only with a
 * reservation for its MAC: the boot plan, the IP used for Wake-on-LAN and the name all come from it.
 */
export class MachineInventory {
  constructor(private readonly directory: Directory, private readonly dhcp: DhcpApi) {}

  /** Parcs the caller may see: `allowed` comes from host.web.parcsOf(). */
  async parcs(allowed: 'all' | readonly string[]): Promise<{ name: string; size: number }[]> {
    const all = await this.directory.listParcs();
    return all
      .filter((p) => allowed === 'all' || allowed.includes(p.name))
      .map((p) => ({ name: p.name, size: p.members.length }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Machines of the chosen parcs, each once, sorted by name. Refuses parcs outside `allowed`. */
  async machines(parcNames: readonly string[], allowed: 'all' | readonly string[]): Promise<Machine[]> {
    const byName = new Map<string, { computer: DirectoryComputer; parcs: string[] }>();
    for (const raw of parcNames) {
      const parc = parseParcName(raw);
      if (allowed !== 'all' && !allowed.includes(parc)) throw new ForbiddenError(`parc ${parc} is not delegated to you`, msg('denied.parcs', { parcs: parc }));
      for (const c of await this.directory.computersInParc(parc)) {
        const entry = byName.get(c.name) ?? { computer: c, parcs: [] };
        entry.parcs.push(parc);
        byName.set(c.name, entry);
      }
    }
    return [...byName.values()]
      .map(({ computer, parcs }) => this.toMachine(computer, parcs))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private toMachine(c: DirectoryComputer, parcs: string[]): Machine {
    if (!c.mac) {
      const why = c.problems.length ? c.problems.join('; ') : "pas d'adresse MAC dans l'annuaire";
      const reasonKey = c.problems.length ? null : 'inventory.noMac';
      return { name: c.name, parcs, mac: null, ip: c.ip, hasReservation: false, selectable: false, reason: why, reasonKey };
    }
    const r = this.dhcp.findByMac(c.mac);
    if (!r) {
      return { name: c.name, parcs, mac: c.mac, ip: c.ip, hasReservation: false, selectable: false, reason: 'pas de réservation DHCP pour cette adresse MAC', reasonKey: 'inventory.noReservation' };
    }
    return { name: r.name.toString(), parcs, mac: r.mac, ip: r.ip, hasReservation: true, selectable: true, reason: null, reasonKey: null };
  }
}
