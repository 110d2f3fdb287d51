import Database from 'better-sqlite3';
import { ConflictError, InputError, NotFoundError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import { parseDhcpSettings } from '../../src/shell/dhcp/dhcp-config';
import { DhcpConflictError, ReservationStore } from '../../src/shell/dhcp/reservation-store';

const settings = parseDhcpSettings({
  interface: 'br0',
  subnet: '10.77.0.0/24',
  gateway: '10.77.0.1',
  dnsServers: ['10.77.0.2'],
  dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' },
});

function setup() {
  const db = new Database(':memory:');
  let now = new Date('2024-09-02T08:00:00Z');
  const clock = { now: () => now };
  const store = new ReservationStore(db, settings, clock);
  const count = () => (db.prepare('SELECT COUNT(*) AS n FROM dhcp_reservations').get() as { n: number }).n;
  return { db, store, count, tick: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

function errorOf(fn: () => unknown): Error & { field?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { field?: string };
  }
  throw new Error('expected an error');
}

describe('ReservationStore', () => {
  it('adds a reservation from raw strings, normalised, and finds it by mac, name and ip', () => {
    const { store } = setup();
    const r = store.add({ mac: 'AA-BB-CC-DD-EE-10', ip: ' 10.77.0.10 ', name: 'PC-10' });
    expect(r).toMatchObject({ id: expect.any(Number), createdAt: '2024-09-02T08:00:00.000Z' });
    expect([r.mac.toString(), r.ip.toString(), r.name.value]).toEqual(['aa:bb:cc:dd:ee:10', '10.77.0.10', 'pc-10']);
    expect(store.findByMac(Mac.parse('aabbccddee10'))?.id).toBe(r.id);
    expect(store.findByName(Hostname.parse('Pc-10'))?.id).toBe(r.id);
    expect(store.findByIp(Ipv4.parse('10.77.0.10'))?.id).toBe(r.id);
    expect(store.findByIp(Ipv4.parse('10.77.0.11'))).toBeNull();
  });

  it('lists by address numerically', () => {
    const { store } = setup();
    store.add({ mac: '52:54:00:00:00:03', ip: '10.77.0.30', name: 'c' });
    store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.4', name: 'a' });
    store.add({ mac: '52:54:00:00:00:02', ip: '10.77.0.200', name: 'b' });
    expect(store.list().map((r) => r.ip.toString())).toEqual(['10.77.0.4', '10.77.0.30', '10.77.0.200']);
  });

  it.each([
    ['malformed MAC', { mac: 'aa:bb:cc:dd:ee', ip: '10.77.0.10', name: 'pc' }, InputError, 'mac'],
    ['multicast MAC', { mac: '01:00:5e:00:00:01', ip: '10.77.0.10', name: 'pc' }, InputError, 'mac'],
    ['missing MAC', { mac: undefined, ip: '10.77.0.10', name: 'pc' }, InputError, 'mac'],
    ['malformed IP', { mac: '52:54:00:00:00:01', ip: '10.77.0.300', name: 'pc' }, InputError, 'ip'],
    ['IP outside the subnet', { mac: '52:54:00:00:00:01', ip: '10.78.0.10', name: 'pc' }, InputError, 'ip'],
    ['network address', { mac: '52:54:00:00:00:01', ip: '10.77.0.0', name: 'pc' }, InputError, 'ip'],
    ['broadcast address', { mac: '52:54:00:00:00:01', ip: '10.77.0.255', name: 'pc' }, InputError, 'ip'],
    ['IP inside the dynamic range', { mac: '52:54:00:00:00:01', ip: '10.77.0.150', name: 'pc' }, InputError, 'ip'],
    ['the gateway', { mac: '52:54:00:00:00:01', ip: '10.77.0.1', name: 'pc' }, ConflictError, 'ip'],
    ['a DNS server', { mac: '52:54:00:00:00:01', ip: '10.77.0.2', name: 'pc' }, ConflictError, 'ip'],
    ['malformed name', { mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc_10' }, InputError, 'name'],
    ['name with newline', { mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc\ndhcp-range=1.2.3.4' }, InputError, 'name'],
    ['name dnsmasq reads as lease time', { mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: '12h' }, InputError, 'name'],
    ['duplicate MAC', { mac: '52-54-00-AA-00-01', ip: '10.77.0.11', name: 'other' }, ConflictError, 'mac'],
    ['duplicate IP', { mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'other' }, ConflictError, 'ip'],
    ['duplicate name, other case', { mac: '52:54:00:00:00:01', ip: '10.77.0.11', name: 'PC-10' }, ConflictError, 'name'],
  ])('rejects %s with field and stores nothing', (_label, input, type, field) => {
    const { store, count } = setup();
    store.add({ mac: '52:54:00:aa:00:01', ip: '10.77.0.10', name: 'pc-10' });
    const err = errorOf(() => store.add(input));
    expect(err).toBeInstanceOf(type);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(new RegExp(`^${field}: `));
    expect(count()).toBe(1);
  });

  it('names the existing holder in a conflict', () => {
    const { store } = setup();
    store.add({ mac: '52:54:00:aa:00:01', ip: '10.77.0.10', name: 'pc-10' });
    const err = errorOf(() => store.add({ mac: '52:54:00:aa:00:02', ip: '10.77.0.10', name: 'pc-11' }));
    expect(err).toBeInstanceOf(DhcpConflictError);
    expect(err.message).toContain('pc-10');
  });

  it('updates ip, name and mac, keeping the id, and checks uniqueness against the others only', () => {
    const { store, tick } = setup();
    const a = store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'a' });
    store.add({ mac: '52:54:00:00:00:02', ip: '10.77.0.11', name: 'b' });
    tick(60_000);
    const same = store.update('52:54:00:00:00:01', { name: 'A' }); // its own name again: not a conflict
    expect(same.after.id).toBe(a.id);
    const { before, after } = store.update('52:54:00:00:00:01', { ip: '10.77.0.12', mac: '52:54:00:00:00:03' });
    expect(before.ip.toString()).toBe('10.77.0.10');
    expect(after).toMatchObject({ id: a.id, createdAt: a.createdAt, updatedAt: '2024-09-02T08:01:00.000Z' });
    expect(after.mac.toString()).toBe('52:54:00:00:00:03');
    expect(errorOf(() => store.update('52:54:00:00:00:03', { name: 'b' })).field).toBe('name');
    expect(errorOf(() => store.update('52:54:00:00:00:03', { ip: '10.77.0.150' })).field).toBe('ip');
    expect(store.findByMac(Mac.parse('52:54:00:00:00:03'))?.name.value).toBe('a');
    expect(errorOf(() => store.update('52:54:00:00:00:09', { name: 'x' }))).toBeInstanceOf(NotFoundError);
  });

  it('removes by MAC, NotFoundError when absent', () => {
    const { store, count } = setup();
    store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'a' });
    expect(store.remove('52-54-00-00-00-01').name.value).toBe('a');
    expect(count()).toBe(0);
    expect(errorOf(() => store.remove('52:54:00:00:00:01'))).toBeInstanceOf(NotFoundError);
    expect(errorOf(() => store.remove('junk')).field).toBe('mac');
  });

  it('suggests the first free address outside the dynamic range, skipping gateway, DNS and reservations', () => {
    const { store } = setup();
    expect(store.suggestFreeIp()?.toString()).toBe('10.77.0.3');
    store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.3', name: 'a' });
    expect(store.suggestFreeIp()?.toString()).toBe('10.77.0.4');
    for (let i = 4; i <= 99; i++) store.add({ mac: `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`, ip: `10.77.0.${i}`, name: `p${i}` });
    expect(store.suggestFreeIp()?.toString()).toBe('10.77.0.200'); // jumps over .100-.199
    for (let i = 200; i <= 254; i++) store.add({ mac: `52:54:00:00:02:${(i - 200).toString(16).padStart(2, '0')}`, ip: `10.77.0.${i}`, name: `p${i}` });
    expect(store.suggestFreeIp()).toBeNull();
  });

  it('keeps its data across instances and runs its migration once', () => {
    const { db, store } = setup();
    store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'a' });
    const again = new ReservationStore(db, settings, { now: () => new Date() });
    expect(again.list()).toHaveLength(1);
    expect((db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE owner = 'dhcp'").get() as { n: number }).n).toBe(1);
  });

  it('maps a UNIQUE violation that slipped past the checks (another writer) to a conflict', () => {
    const { db, store } = setup();
    store.add({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'a' });
    // Simulate a row written by someone else between our check and our insert.
    const spy = jest.spyOn(store, 'findByIp').mockReturnValue(null);
    const err = errorOf(() => store.add({ mac: '52:54:00:00:00:02', ip: '10.77.0.10', name: 'b' }));
    spy.mockRestore();
    expect(err).toBeInstanceOf(DhcpConflictError);
    expect(err.field).toBe('ip');
    expect((db.prepare('SELECT COUNT(*) AS n FROM dhcp_reservations').get() as { n: number }).n).toBe(1);
  });
});
