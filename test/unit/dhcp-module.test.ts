import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { ConflictError, InputError, NotFoundError } from '../../src/common/domain/errors';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import type { DhcpChange, Logger, PxeBootOptions } from '../../src/host/contract';
import { parseDhcpSettings } from '../../src/shell/dhcp/dhcp-config';
import { DhcpModule, type DhcpModuleOptions, type WriteResult } from '../../src/shell/dhcp/dhcp-module';
import { sighupReloader, signalPidFile, writeFileAtomic } from '../../src/shell/dhcp/files';

const settings = parseDhcpSettings({ interface: 'br0', subnet: '10.77.0.0/24', dynamicRange: { start: '10.77.0.100', end: '10.77.0.199' } });
const pxe: PxeBootOptions = { nextServer: Ipv4.parse('10.77.0.1'), biosBootFile: 'pxelinux.0', efiX64BootFile: 'efi64/syslinux.efi', ipxeScriptUrl: null };
const quietLogger = (): Logger & { warn: jest.Mock } => ({ debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-dhcp-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function setup(extra: Partial<DhcpModuleOptions> = {}) {
  const db = new Database(':memory:');
  const reloads: WriteResult[] = [];
  const logger = quietLogger();
  const opts: DhcpModuleOptions = {
    db, settings, clock: { now: () => new Date('2024-09-02T08:00:00Z') }, logger,
    configPath: path.join(dir, 'etc', 'dnsmasq.conf'), reload: (w) => void reloads.push(w), ...extra,
  };
  const dhcp = new DhcpModule(opts);
  const events: DhcpChange[] = [];
  dhcp.onChange((c) => events.push(c));
  const conf = () => fs.readFileSync(path.join(dir, 'etc', 'dnsmasq.conf'), 'utf8');
  const hosts = () => fs.readFileSync(path.join(dir, 'etc', 'dnsmasq.hosts'), 'utf8');
  return { db, dhcp, events, reloads, logger, conf, hosts, opts };
}
const ev = (kind: string, mac: string) => ({ kind, mac: Mac.parse(mac) });

describe('DhcpModule', () => {
  it('writes both files at start, with the hosts file next to the config, and only rewrites on change', () => {
    const { dhcp, conf, hosts, reloads } = setup();
    expect(dhcp.writeConfig()).toEqual({ configChanged: true, hostsChanged: true });
    expect(conf()).toContain(`dhcp-hostsfile=${path.join(dir, 'etc', 'dnsmasq.hosts')}`);
    expect(hosts()).toMatch(/^# Generated/);
    expect(dhcp.writeConfig()).toEqual({ configChanged: false, hostsChanged: false });
    expect(reloads).toEqual([{ configChanged: true, hostsChanged: true }]); // nothing changed the second time
    expect(fs.readdirSync(path.join(dir, 'etc')).sort()).toEqual(['dnsmasq.conf', 'dnsmasq.hosts']); // no temp files left
  });

  it('adds a batch with one write of the files, keeping the good inputs and reporting the refused ones', () => {
    const { dhcp, events, reloads, hosts } = setup();
    dhcp.writeConfig();
    reloads.length = 0;
    const { added, refused } = dhcp.addReservations([
      { mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' },
      { mac: '52:54:00:00:00:02', ip: '10.77.0.10', name: 'pc-02' }, // same address: refused
      { mac: 'not-a-mac', ip: '10.77.0.12', name: 'pc-03' }, // refused
      { mac: '52:54:00:00:00:04', ip: '10.77.0.13', name: 'pc-04' },
    ]);
    expect(added.map((r) => r.name.value)).toEqual(['pc-01', 'pc-04']);
    expect(refused.map((r) => [r.input.name, r.error.constructor.name])).toEqual([['pc-02', 'DhcpConflictError'], ['pc-03', 'InputError']]);
    expect(reloads).toEqual([{ configChanged: false, hostsChanged: true }]);
    expect(hosts()).toContain('52:54:00:00:00:01,10.77.0.10,pc-01\n');
    expect(hosts()).toContain('52:54:00:00:00:04,10.77.0.13,pc-04\n');
    expect(hosts()).not.toContain('pc-02');
    expect(dhcp.listReservations()).toHaveLength(2);
    expect(events).toEqual([ev('reservation-added', '52:54:00:00:00:01'), ev('reservation-added', '52:54:00:00:00:04')]);
  });

  it('add/update/remove rewrite the hosts file, fire events and ask for a SIGHUP-only reload', () => {
    const { dhcp, events, reloads, hosts, conf } = setup();
    dhcp.writeConfig();
    const confBefore = conf();
    dhcp.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' });
    expect(hosts()).toContain('52:54:00:00:00:01,10.77.0.10,pc-01\n');
    dhcp.updateReservation('52:54:00:00:00:01', { ip: '10.77.0.11' });
    expect(hosts()).toContain('52:54:00:00:00:01,10.77.0.11,pc-01\n');
    dhcp.updateReservation('52:54:00:00:00:01', { mac: '52:54:00:00:00:02' });
    dhcp.removeReservation('52-54-00-00-00-02');
    expect(hosts()).not.toContain('52:54');
    expect(conf()).toBe(confBefore);
    expect(events).toEqual([
      ev('reservation-added', '52:54:00:00:00:01'),
      ev('reservation-updated', '52:54:00:00:00:01'),
      ev('reservation-removed', '52:54:00:00:00:01'), // a MAC change is remove + add
      ev('reservation-added', '52:54:00:00:00:02'),
      ev('reservation-removed', '52:54:00:00:00:02'),
    ]);
    expect(reloads.slice(1)).toEqual(Array(4).fill({ configChanged: false, hostsChanged: true }));
  });

  it('rejects bad input with a field, stores nothing, writes nothing, fires nothing', () => {
    const { dhcp, events, reloads, hosts } = setup();
    dhcp.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' });
    const before = hosts();
    for (const [input, type, field] of [
      [{ mac: 'nope', ip: '10.77.0.11', name: 'b' }, InputError, 'mac'],
      [{ mac: '52:54:00:00:00:02', ip: '10.77.0.150', name: 'b' }, InputError, 'ip'],
      [{ mac: '52:54:00:00:00:02', ip: '10.77.0.11', name: 'PC-01' }, ConflictError, 'name'],
    ] as const) {
      expect(() => dhcp.addReservation(input)).toThrow(type);
      try {
        dhcp.addReservation(input);
      } catch (e) {
        expect((e as InputError).field).toBe(field);
      }
    }
    expect(() => dhcp.removeReservation('52:54:00:00:00:09')).toThrow(NotFoundError);
    expect(dhcp.listReservations()).toHaveLength(1);
    expect(hosts()).toBe(before);
    expect(events).toHaveLength(1);
    expect(reloads).toHaveLength(1);
  });

  it('rolls the database back when the files cannot be written', () => {
    const { dhcp, events, opts } = setup();
    dhcp.writeConfig();
    // A directory where the hosts file should be: rename() fails (even for root, unlike permissions).
    fs.rmSync(opts.hostsPath ?? path.join(dir, 'etc', 'dnsmasq.hosts'));
    fs.mkdirSync(path.join(dir, 'etc', 'dnsmasq.hosts', 'x'), { recursive: true });
    expect(() => dhcp.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' })).toThrow();
    expect(dhcp.listReservations()).toEqual([]);
    expect(events).toEqual([]);
  });

  it('sets, persists, replaces and clears PXE options; the main config changes and a restart is signalled', () => {
    const { dhcp, db, events, reloads, conf } = setup();
    dhcp.setPxeBoot('clonage', pxe);
    expect(conf()).toContain('dhcp-boot=tag:bios,pxelinux.0,,10.77.0.1');
    expect(reloads.at(-1)).toEqual({ configChanged: true, hostsChanged: true });
    dhcp.setPxeBoot('clonage', { ...pxe }); // same options again: nothing happens
    expect(events).toEqual([{ kind: 'pxe-options-changed' }]);
    dhcp.setPxeBoot('clonage', { ...pxe, ipxeScriptUrl: 'http://10.77.0.1:8080/boot?mac=${net0/mac}' });
    expect(conf()).toContain('dhcp-boot=tag:ipxe,tag:efi-x86_64,http://10.77.0.1:8080/boot?mac=${net0/mac}');
    expect(reloads.at(-1)).toEqual({ configChanged: true, hostsChanged: false });

    const reopened = new DhcpModule({ db, settings, clock: { now: () => new Date() }, configPath: path.join(dir, 'other.conf') });
    expect(reopened.activePxeBoot()?.moduleId).toBe('clonage');
    expect(reopened.activePxeBoot()?.options.ipxeScriptUrl).toContain('/boot?mac=');

    dhcp.setPxeBoot('clonage', null);
    expect(conf()).not.toContain('dhcp-boot');
    expect(events).toHaveLength(3);
    dhcp.setPxeBoot('clonage', null); // already clear: no event
    expect(events).toHaveLength(3);
  });

  it('refuses PXE options from a second module and invalid ones, without any change', () => {
    const { dhcp, events, conf } = setup();
    dhcp.setPxeBoot('clonage', pxe);
    const before = conf();
    expect(() => dhcp.setPxeBoot('other', pxe)).toThrow(/module "clonage" already sets/);
    expect(() => dhcp.setPxeBoot('clonage', { ...pxe, biosBootFile: 'pxelinux.0\nport=53' })).toThrow(InputError);
    expect(() => dhcp.setPxeBoot('clonage', { ...pxe, ipxeScriptUrl: 'http://x/\ndhcp-range=1.1.1.1' })).toThrow(InputError);
    expect(() => dhcp.setPxeBoot('Bad Id', pxe)).toThrow(InputError);
    expect(conf()).toBe(before);
    expect(events).toHaveLength(1);
    expect(dhcp.activePxeBoot()?.options.biosBootFile).toBe('pxelinux.0');
  });

  it('ignores stored PXE options that no longer validate, with a warning', () => {
    const { db } = setup();
    db.prepare("INSERT INTO dhcp_pxe_options (module_id, json) VALUES ('clonage', ?)").run(JSON.stringify({ ...pxe, nextServer: 'x' }));
    const logger = quietLogger();
    const dhcp = new DhcpModule({ db, settings, logger, clock: { now: () => new Date() }, configPath: path.join(dir, 'x.conf') });
    expect(dhcp.activePxeBoot()).toBeNull();
    expect(logger.warn).toHaveBeenCalled();
  });

  it('unsubscribes listeners; a throwing listener neither stops the others nor fails the change', () => {
    const { dhcp, events, logger } = setup();
    const seen: string[] = [];
    const off = dhcp.onChange((c) => seen.push(c.kind));
    dhcp.onChange(() => {
      throw new Error('listener bug');
    });
    dhcp.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' });
    off();
    dhcp.removeReservation('52:54:00:00:00:01');
    expect(seen).toEqual(['reservation-added']);
    expect(events).toHaveLength(2);
    expect(logger.warn).toHaveBeenCalledWith('dhcp: change listener failed', expect.anything());
  });

  it('logs a failing reload hook (sync or async) without failing the committed change', async () => {
    const logger = quietLogger();
    const { dhcp } = setup({ logger, reload: () => Promise.reject(new Error('no dnsmasq')) });
    dhcp.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' });
    await new Promise((r) => setImmediate(r));
    expect(logger.warn).toHaveBeenCalledWith('dhcp: reloading the DHCP server failed', { error: 'Error: no dnsmasq' });
    const { dhcp: d2 } = setup({ reload: () => { throw new Error('sync'); } });
    expect(d2.addReservation({ mac: '52:54:00:00:00:01', ip: '10.77.0.10', name: 'pc-01' }).name.value).toBe('pc-01');
  });

  it('validates its paths and suggests free addresses', () => {
    expect(() => setup({ configPath: 'relative.conf' })).toThrow(InputError);
    expect(() => setup({ hostsPath: path.join(dir, 'etc', 'dnsmasq.conf') })).toThrow(/must differ/);
    expect(() => setup({ hostsPath: `${dir}/a b.hosts` })).toThrow(InputError);
    expect(setup().dhcp.suggestFreeIp()?.toString()).toBe('10.77.0.1');
    expect(setup().dhcp.renderIscConfig()).toContain('range 10.77.0.100 10.77.0.199;');
  });
});

describe('files', () => {
  it('writeFileAtomic replaces content and leaves no temp file', () => {
    const f = path.join(dir, 'a.conf');
    writeFileAtomic(f, 'one\n');
    writeFileAtomic(f, 'two\n');
    expect(fs.readFileSync(f, 'utf8')).toBe('two\n');
    expect(fs.readdirSync(dir)).toEqual(['a.conf']);
  });

  it('signalPidFile rejects missing, garbage and stale pid files', () => {
    const f = path.join(dir, 'x.pid');
    expect(() => signalPidFile(f)).toThrow(NotFoundError);
    for (const junk of ['', 'abc', '1', '-5', '12 34', '99999999999']) {
      fs.writeFileSync(f, junk);
      expect(() => signalPidFile(f)).toThrow(InputError);
    }
    fs.writeFileSync(f, `${process.pid}\n`); // a live process that is not dnsmasq: never signalled
    expect(() => signalPidFile(f)).toThrow(/stale pid file, not signalled/);
    fs.writeFileSync(f, '4194000');
    expect(() => signalPidFile(f)).toThrow(NotFoundError);
  });

  it('signalPidFile signals the named process by PID', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    await new Promise((r) => child.on('spawn', r));
    const f = path.join(dir, 'sleep.pid');
    fs.writeFileSync(f, `${child.pid}\n`);
    const logger = quietLogger();
    try {
      expect(() => sighupReloader(f, logger)({ configChanged: true })).toThrow(ConflictError); // it is "sleep", not dnsmasq
      expect(signalPidFile(f, { expectedName: 'sleep', signal: 'SIGTERM' })).toBe(child.pid);
      expect(await exited).toBe('SIGTERM');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
