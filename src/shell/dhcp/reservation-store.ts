/**
 * SQLite repository of DHCP reservations (SE3's `se3_dhcp`) and of the PXE options each module
 * asked for. Input arrives as raw strings from forms and config; everything is parsed and
 * checked before the first write, and every write runs in a transaction, so an error leaves
 * nothing behind.
 */
import type { Database } from 'better-sqlite3';
import { ConflictError, InputError, type MessageRef, NotFoundError } from '../../common/domain/errors';
import { shellMsg } from '../i18n/shell-messages';
import { Hostname } from '../../common/domain/hostname';
import { Ipv4 } from '../../common/domain/ipv4';
import { Mac } from '../../common/domain/mac';
import type { Clock, DhcpReservation } from '../../host/contract';
import { migrate, type Migration } from '../../common/store/migrations';
import { checkDhcpHostname, inDynamicRange, type DhcpSettings } from './dhcp-config';
import { prepared } from '../../common/store/prepared';

export const DHCP_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'reservations and pxe options',
    sql: `CREATE TABLE dhcp_reservations (
        id INTEGER PRIMARY KEY,
        mac TEXT UNIQUE NOT NULL,
        ip TEXT UNIQUE NOT NULL,
        name TEXT UNIQUE NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
      CREATE TABLE dhcp_pxe_options (
        module_id TEXT PRIMARY KEY,
        json TEXT NOT NULL);`,
  },
];

/** A conflict with the field that clashes, so a form can point at it (still a 409 ConflictError). */
export class DhcpConflictError extends ConflictError {
  constructor(message: string, readonly field: 'mac' | 'ip' | 'name' | 'pxe', ref?: MessageRef) {
    super(message, ref);
  }
}

export interface ReservationInput {
  readonly mac: unknown;
  readonly ip: unknown;
  readonly name: unknown;
}

export interface StoredReservation extends DhcpReservation {
  /** Stable key other tables may refer to (SE3 used se3_dhcp.id for the tftp tables). */
  readonly id: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface Row {
  id: number;
  mac: string;
  ip: string;
  name: string;
  created_at: string;
  updated_at: string;
}

type Network = Pick<DhcpSettings, 'subnet' | 'dynamicRange' | 'gateway' | 'dnsServers'>;

export class ReservationStore {
  constructor(
    private readonly db: Database,
    private readonly network: Network,
    private readonly clock: Clock,
  ) {
    migrate(db, 'dhcp', DHCP_MIGRATIONS);
  }

  /** All reservations, sorted by address (numerically, not as text). */
  list(): StoredReservation[] {
    const rows = this.db.prepare('SELECT * FROM dhcp_reservations').all() as Row[];
    return rows.map(toReservation).sort((a, b) => a.ip.value - b.ip.value);
  }

  findByMac(mac: Mac): StoredReservation | null {
    return this.findBy('mac', mac.toString());
  }

  findByName(name: Hostname): StoredReservation | null {
    return this.findBy('name', name.value);
  }

  findByIp(ip: Ipv4): StoredReservation | null {
    return this.findBy('ip', ip.toString());
  }

  add(input: ReservationInput): StoredReservation {
    const r = this.parse(input);
    return this.db.transaction(() => {
      this.checkFree(r, null);
      const now = this.clock.now().toISOString();
      const info = uniqueAsConflict(() =>
        this.db
          .prepare('INSERT INTO dhcp_reservations (mac, ip, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
          .run(r.mac.toString(), r.ip.toString(), r.name.value, now, now),
      );
      return this.findById(Number(info.lastInsertRowid));
    })();
  }

  /** Changes any of mac/ip/name of the reservation found by `mac`; returns it before and after. */
  update(mac: unknown, patch: Partial<ReservationInput>): { before: StoredReservation; after: StoredReservation } {
    const key = Mac.parse(mac, 'mac');
    return this.db.transaction(() => {
      const before = this.findByMac(key);
      if (!before) throw new NotFoundError(`no reservation for ${key}`);
      const next = this.parse({
        mac: patch.mac ?? before.mac.toString(),
        ip: patch.ip ?? before.ip.toString(),
        name: patch.name ?? before.name.value,
      });
      this.checkFree(next, before.id);
      uniqueAsConflict(() =>
        this.db
          .prepare('UPDATE dhcp_reservations SET mac = ?, ip = ?, name = ?, updated_at = ? WHERE id = ?')
          .run(next.mac.toString(), next.ip.toString(), next.name.value, this.clock.now().toISOString(), before.id),
      );
      return { before, after: this.findById(before.id) };
    })();
  }

  remove(mac: unknown): StoredReservation {
    const key = Mac.parse(mac, 'mac');
    return this.db.transaction(() => {
      const found = this.findByMac(key);
      if (!found) throw new NotFoundError(`no reservation for ${key}`);
      this.db.prepare('DELETE FROM dhcp_reservations WHERE id = ?').run(found.id);
      return found;
    })();
  }

  /**
   * The first host address of the subnet that is outside the dynamic range, not reserved and not
   * the gateway or a DNS server (SE3's add_reservation). null when the subnet is full.
   */
  suggestFreeIp(): Ipv4 | null {
    const taken = new Set(this.list().map((r) => r.ip.value));
    for (const ip of this.fixedAddresses()) taken.add(ip.value);
    const { network, broadcast } = this.network.subnet;
    for (let v = network.value + 1; v < broadcast.value; v++) {
      if (taken.has(v)) continue;
      const ip = Ipv4.fromNumber(v);
      if (!inDynamicRange(this.network, ip)) return ip;
    }
    return null;
  }

  /** The persisted PXE options, raw: the module validates them (they may predate a rule change). */
  pxeOptionRows(): { moduleId: string; json: unknown }[] {
    const rows = this.db.prepare('SELECT module_id, json FROM dhcp_pxe_options ORDER BY module_id').all() as {
      module_id: string;
      json: string;
    }[];
    return rows.map((r) => ({ moduleId: r.module_id, json: safeJson(r.json) }));
  }

  savePxeOptions(moduleId: string, value: Record<string, unknown> | null): void {
    if (value === null) this.db.prepare('DELETE FROM dhcp_pxe_options WHERE module_id = ?').run(moduleId);
    else {
      this.db
        .prepare('INSERT INTO dhcp_pxe_options (module_id, json) VALUES (?, ?) ON CONFLICT(module_id) DO UPDATE SET json = excluded.json')
        .run(moduleId, JSON.stringify(value));
    }
  }

  // ---------------------------------------------------------------- checks

  /** Syntax and subnet rules; no database access, so it can run before any transaction. */
  private parse(input: ReservationInput): DhcpReservation {
    const mac = Mac.parse(input.mac, 'mac');
    const ip = Ipv4.parse(input.ip, 'ip');
    const name = checkDhcpHostname(Hostname.parse(input.name, 'name'), 'name');
    const { subnet } = this.network;
    const where = { ip: String(ip), subnet: String(subnet) };
    if (!subnet.contains(ip)) throw new InputError(`ip: ${ip} is outside the DHCP subnet ${subnet}`, 'ip', shellMsg('dhcp.error.outsideSubnet', where));
    if (!subnet.isHost(ip)) throw new InputError(`ip: ${ip} is the network or broadcast address of ${subnet}`, 'ip', shellMsg('dhcp.error.networkOrBroadcast', where));
    if (inDynamicRange(this.network, ip)) {
      const r = this.network.dynamicRange!;
      throw new InputError(`ip: ${ip} is inside the dynamic range ${r.start}-${r.end}, pick an address outside it`, 'ip',
        shellMsg('dhcp.error.dynamicRange', { ip: String(ip), start: String(r.start), end: String(r.end) }));
    }
    return { mac, ip, name };
  }

  /** Uniqueness against other rows (`selfId` excluded when updating) and the fixed infrastructure addresses. */
  private checkFree(r: DhcpReservation, selfId: number | null): void {
    const other = (found: StoredReservation | null) => (found && found.id !== selfId ? found : null);
    const byMac = other(this.findByMac(r.mac));
    const who = (s: StoredReservation) => ({ mac: String(s.mac), ip: String(s.ip), name: String(s.name) });
    if (byMac) throw new DhcpConflictError(`mac: ${r.mac} is already reserved for ${byMac.name} (${byMac.ip})`, 'mac', shellMsg('dhcp.error.macTaken', { ...who(byMac), mac: String(r.mac) }));
    const byIp = other(this.findByIp(r.ip));
    if (byIp) throw new DhcpConflictError(`ip: ${r.ip} is already reserved for ${byIp.name} (${byIp.mac})`, 'ip', shellMsg('dhcp.error.ipTaken', { ...who(byIp), ip: String(r.ip) }));
    const byName = other(this.findByName(r.name));
    if (byName) throw new DhcpConflictError(`name: ${r.name} is already used by ${byName.mac} (${byName.ip})`, 'name', shellMsg('dhcp.error.nameTaken', { ...who(byName), name: String(r.name) }));
    if (this.fixedAddresses().some((ip) => ip.equals(r.ip))) {
      throw new DhcpConflictError(`ip: ${r.ip} is the gateway or a DNS server`, 'ip', shellMsg('dhcp.error.infrastructure', { ip: String(r.ip) }));
    }
  }

  private fixedAddresses(): Ipv4[] {
    return [...(this.network.gateway ? [this.network.gateway] : []), ...this.network.dnsServers];
  }

  private findBy(column: 'mac' | 'ip' | 'name', value: string): StoredReservation | null {
    // `column` is one of three literals, never input.
    const row = prepared(this.db, `SELECT * FROM dhcp_reservations WHERE ${column} = ?`).get(value) as Row | undefined;
    return row ? toReservation(row) : null;
  }

  private findById(id: number): StoredReservation {
    return toReservation(this.db.prepare('SELECT * FROM dhcp_reservations WHERE id = ?').get(id) as Row);
  }
}

function toReservation(row: Row): StoredReservation {
  return {
    id: row.id,
    mac: Mac.parse(row.mac),
    ip: Ipv4.parse(row.ip),
    name: Hostname.parse(row.name),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The checks above run first and give the better message; the UNIQUE constraints stay the last
 * word when another process writes the same database file between check and insert.
 */
function uniqueAsConflict<T>(write: () => T): T {
  try {
    return write();
  } catch (e) {
    const m = /UNIQUE constraint failed: dhcp_reservations\.(mac|ip|name)/.exec((e as Error).message);
    if (m) throw new DhcpConflictError(`${m[1]}: already reserved`, m[1] as 'mac' | 'ip' | 'name', shellMsg('dhcp.error.taken'));
    throw e;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
