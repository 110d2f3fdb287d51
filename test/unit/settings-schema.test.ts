/**
 * Settings are declared once, in src/settings/: module.json `settings` holds exactly the schemas'
 * keys and defaults, every default passes its own parser, and the readers are typed and checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ALL_SETTINGS, manifestDefaults, SECRET_KEYS, SETTINGS_GROUPS } from '../../src/settings/schema';
import { ModuleSettings } from '../../src/settings/module-settings';
import { InputError } from '../../src/common/domain/errors';
import { MemorySettings } from '../helpers/fake-host';

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../module.json'), 'utf8')) as { settings: Record<string, unknown>; secretSettings?: string[] };

describe('settings schemas ⇔ module.json', () => {
  it('module.json settings are exactly the union of the schemas (keys and defaults)', () => {
    if (process.env.UPDATE_MANIFEST === '1') {
      const p = path.resolve(__dirname, '../../module.json');
      const m = JSON.parse(fs.readFileSync(p, 'utf8'));
      m.settings = manifestDefaults();
      fs.writeFileSync(p, `${JSON.stringify(m, null, 2)}\n`);
      return;
    }
    expect(manifest.settings).toEqual(manifestDefaults());
    expect(Object.keys(manifest.settings).sort()).toEqual(ALL_SETTINGS.map((s) => s.key).sort());
  });

  it('each key is declared once, and each default passes its own parser', () => {
    const keys = ALL_SETTINGS.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of ALL_SETTINGS) expect([s.key, s.parse(s.default)]).toEqual([s.key, s.default]);
  });

  it('secrets are write-only password fields, and are the domain and share accounts', () => {
    for (const s of ALL_SETTINGS.filter((x) => x.secret)) expect([s.key, s.field.kind]).toEqual([s.key, 'password']);
    expect([...SECRET_KEYS].sort()).toEqual(['netlogon.smb.password', 'postclone.join.password', 'smb.password', 'wake.rpc.password']);
    // the host seals exactly these at rest (module.json secretSettings)
    expect([...(manifest.secretSettings ?? [])].sort()).toEqual([...SECRET_KEYS].sort());
  });

  it('the accounts once read but undeclared are declared now; language is gone', () => {
    for (const k of ['netlogon.smb.server', 'netlogon.smb.username', 'netlogon.smb.password', 'postclone.join.domain', 'postclone.join.username',
      'postclone.join.password', 'wake.rpc.username', 'wake.rpc.password', 'wake.rpc.domain']) expect(manifest.settings).toHaveProperty([k]);
    expect(manifest.settings).not.toHaveProperty(['language']);
  });

  it('every group has settings and a unique id', () => {
    const ids = SETTINGS_GROUPS.map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const g of SETTINGS_GROUPS) expect(Object.keys(g.settings).length).toBeGreaterThan(0);
  });
});

describe('stored values: each setting parser, table-driven', () => {
  const cases: [string, unknown, unknown][] = [
    // key, stored value, parsed value (InputError when undefined)
    ['menu.mode', 'graphical', 'graphical'], ['menu.mode', 'gfx', undefined],
    ['menu.timeoutSeconds', 0, 0], ['menu.timeoutSeconds', 600, 600], ['menu.timeoutSeconds', 601, undefined], ['menu.timeoutSeconds', '8', undefined],
    ['menu.maintenancePasswordHash', null, null], ['menu.maintenancePasswordHash', 'cleartext!', undefined],
    ['boot.ipxeHttpScript', false, false], ['boot.ipxeHttpScript', 'false', undefined],
    ['tftp.bindAddress', '127.0.0.1', '127.0.0.1'], ['tftp.bindAddress', '10.0.0.256', undefined],
    ['clone.disk', 'nvme0n1', 'nvme0n1'], ['clone.disk', 'sda1', undefined], ['clone.disk', 'sda;reboot', undefined],
    ['clone.compression', 'lzop', 'lzop'], ['clone.compression', 'xz', undefined],
    ['clone.maxBitrate', null, null], ['clone.maxBitrate', '600M', '600m'], ['clone.maxBitrate', 'fast', undefined],
    ['clone.retriesUntilDrop', 4, undefined], ['clone.retriesUntilDrop', 5, 5],
    ['toolkit.default', 'udpcast-2025', 'udpcast-2025'], ['toolkit.default', '../evil', undefined],
    ['backup.retention', 'older-than-6-months', 'older-than-6-months'], ['backup.retention', 'keep-last-0', undefined],
    ['smb.server', '', ''], ['smb.server', 'se3.lan', 'se3.lan'], ['smb.server', 'se3 lan', undefined],
    ['smb.password', 'a,b', undefined], ['smb.password', 'Secret!', 'Secret!'],
    ['deploy.interface', 'eth0; rm -rf /', undefined], ['deploy.maxBitrate', '', ''],
    ['wake.method', 'wol+reboot', 'wol+reboot'], ['wake.method', 'magic', undefined],
    ['wake.rpc.username', 'adminse3', 'adminse3'], ['wake.rpc.username', '-U', undefined],
    ['wake.rpc.password', ' leading', undefined], ['wake.rpc.password', 'p\nw', undefined],
    ['netlogon.localRoot', '/var/lib/samba/netlogon/machine', '/var/lib/samba/netlogon/machine'], ['netlogon.localRoot', 'relative', undefined],
    ['netlogon.localRoot', '/srv/../etc', undefined], ['netlogon.smb.port', null, null], ['netlogon.smb.port', 70000, undefined],
    ['netlogon.smb.share', 'netlogon', 'netlogon'], ['netlogon.smb.share', '', undefined],
    ['postclone.validHours', 720, 720], ['postclone.validHours', 721, undefined],
    ['postclone.join.password', 'S3cret pass', 'S3cret pass'], ['postclone.join.password', 'a\nb=c', undefined],
  ];
  it.each(cases)('%s = %j', (key, stored, expected) => {
    const s = ALL_SETTINGS.find((x) => x.key === key)!;
    if (expected === undefined) expect(() => s.parse(stored)).toThrow(InputError);
    else expect(s.parse(stored)).toEqual(expected);
  });
});

describe('ModuleSettings: typed readers', () => {
  const of = (values: Record<string, unknown>) => new ModuleSettings(new MemorySettings({ ...manifestDefaults(), ...values }));

  it('reads typed values with the declared defaults', () => {
    const s = new ModuleSettings();
    expect(s.clone()).toMatchObject({ disk: '', compression: 'zstd', minWaitMinutes: 10, retriesUntilDrop: 60, maxBitrate: null });
    expect(s.actions()).toEqual({ preparingMinutes: 40, armedMinutes: 60, silenceMinutes: 30, activeSilenceMinutes: 5, checkSeconds: 15 });
    expect(s.addressCheck()).toBe('reserved');
    expect(s.toolkit()).toBe('clonage');
    expect(s.tftp()).toEqual({ port: 6969, bindAddress: '0.0.0.0' });
    expect(s.smb()).toBeNull();
    expect(s.rpcAccount()).toBeNull();
    expect(s.join()).toBeNull();
  });

  it('lenient readers fall back per field; strict ones name the key', () => {
    expect(of({ 'clone.disk': 'sda1', 'clone.compression': 'gzip' }).clone()).toMatchObject({ disk: '', compression: 'gzip' });
    expect(of({ 'clone.disk': 'nvme0n1' }).clone()).toMatchObject({ disk: 'nvme0n1' });
    expect(() => of({ 'menu.mode': 'gfx' }).menu()).toThrow(/menu\.mode/);
    expect(() => of({ 'deploy.maxBitrate': 'fast' }).deploy()).toThrow(/deploy\.maxBitrate/);
    expect(() => of({ 'toolkit.default': '../evil' }).toolkit()).toThrow(InputError);
    expect(of({ 'backup.retention': 'forever' }).storage()).toEqual({ target: 'server', retention: null });
    expect(of({ 'agent.addressCheck': 'open' }).addressCheck()).toBe('reserved');
  });

  it('accounts: rpc, join all-or-none, smb share', () => {
    expect(of({ 'wake.rpc.username': 'adminse3', 'wake.rpc.password': 'pw', 'wake.rpc.domain': 'SAMBAEDU' }).rpcAccount())
      .toEqual({ username: 'adminse3', password: 'pw', domain: 'SAMBAEDU' });
    expect(() => of({ 'wake.rpc.username': 'adminse3' }).rpcAccount()).toThrow(InputError);
    expect(of({ 'postclone.join.domain': 'SAMBAEDU', 'postclone.join.username': 'joiner', 'postclone.join.password': 'x y' }).join())
      .toEqual({ domain: 'SAMBAEDU', username: 'joiner', password: 'x y' });
    expect(() => of({ 'postclone.join.domain': 'SAMBAEDU' }).join()).toThrow(/postclone\.join/);
    expect(of({ 'smb.server': 'se3', 'smb.share': 'svg', 'smb.password': 'pw' }).smb()).toMatchObject({ server: 'se3', share: 'svg', password: 'pw' });
    expect(of({ 'smb.server': 'se3', 'smb.share': 'svg', 'smb.user': 'a b' }).smb()).toBeNull();
  });
});
