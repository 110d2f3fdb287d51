import Database from 'better-sqlite3';
import { BootFileSource } from '../../src/boot/boot-file-source';
import { jobPlan, localPlan, menuPlan } from '../../src/boot/boot-plan';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import type { MenuSettings } from '../../src/boot/menu-settings';
import { renderPxelinuxDefault, renderPxelinuxForPlan } from '../../src/boot/pxelinux-renderer';
import { renderGrubForPlan, renderGrubMain } from '../../src/boot/grub-renderer';
import { Mac } from '../../src/common/domain/mac';
import type { Logger } from '../../src/host/contract';
import { bufferFile, type FileSource, type TftpFile } from '../../src/tftp/file-source';

const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
const MAC = Mac.parse('52:54:00:12:34:56');
const CLIENT = { address: '10.77.0.50', port: 2070 };
const settings: MenuSettings = {
  mode: 'text',
  timeoutSeconds: 8,
  maintenancePasswordHash: null,
  serverUrl: 'http://10.77.0.1:8080/modules/clonage',
  installed: { bootenv: ['sender', 'receiver'] },
};
const job = jobPlan({ jobId: 'j1', token: TOKEN, toolkit: 'bootenv', label: 'clonage-sender' });

/** A static boot root with one file, recording what was asked. */
class FixedFiles implements FileSource {
  readonly asked: string[] = [];
  async open(path: string): Promise<TftpFile | null> {
    this.asked.push(path);
    return path === 'pxelinux.0' ? bufferFile(Buffer.from('PXELINUX')) : null;
  }
}

async function text(f: TftpFile | null): Promise<string | null> {
  if (f === null) return null;
  const buf = await f.read(0, f.size + 10);
  await f.close();
  return buf.toString('ascii');
}

function setup(menuSettings: () => MenuSettings = () => settings) {
  const db = new Database(':memory:');
  const store = new BootPlanStore(db, { now: () => new Date('2025-03-10T08:00:00Z') });
  const files = new FixedFiles();
  const errors: unknown[] = [];
  const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_m, f) => errors.push(f) };
  const source = new BootFileSource({ plans: store, menuSettings, staticFiles: files, logger });
  return { db, store, files, source, errors };
}

describe('BootFileSource', () => {
  it('pxelinux.cfg/default is the rendered menu', async () => {
    const { source } = setup();
    expect(await text(await source.open('pxelinux.cfg/default', CLIENT))).toBe(renderPxelinuxDefault(settings));
  });

  it('per-MAC file without a plan: the default menu', async () => {
    const { source } = setup();
    expect(await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT))).toBe(renderPxelinuxDefault(settings));
  });

  it.each([
    ['local', localPlan()],
    ['menu', menuPlan()],
    ['job', job],
  ] as const)('per-MAC file with a %s plan: that plan', async (_k, plan) => {
    const { source, store } = setup();
    store.arm(MAC, plan);
    expect(await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT))).toBe(renderPxelinuxForPlan(plan, settings));
  });

  it('reading a job file does not consume it; once consumed the MAC boots locally', async () => {
    const { source, store } = setup();
    store.arm(MAC, job);
    const first = await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT));
    const second = await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT));
    expect(first).toContain(`clonage.token=${TOKEN}`);
    expect(second).toBe(first);
    expect(store.consume(MAC, 'j1')).toBe(true);
    const after = await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT));
    expect(after).toBe(renderPxelinuxForPlan(localPlan(), settings));
    expect(after).not.toContain(TOKEN);
  });

  it.each([
    'pxelinux.cfg/564d0a1b-2c3d-4e5f-6a7b-8c9d0e1f2a3b', // UUID
    'pxelinux.cfg/0A4D0032', // client IP in hex, and its prefixes
    'pxelinux.cfg/0A4D',
    'pxelinux.cfg/01-52-54-00-12-34-5', // truncated
    'pxelinux.cfg/01-52:54:00:12:34:56',
    'pxelinux.cfg/01-52-54-00-12-34-56-78',
    'pxelinux.cfg/01-52-54-00-12-34-56.cfg',
    'pxelinux.cfg/01-52-54-00-12-34-5G',
    'pxelinux.cfg/01-52-54-00-12-34-56/x',
    'pxelinux.cfg/01-52-54-00-AB-CD-EF', // pxelinux always asks in lowercase
    'pxelinux.cfg/06-52-54-00-12-34-56', // ARP type 6 (IEEE 802), not Ethernet
    'pxelinux.cfg/01-ff-ff-ff-ff-ff-ff', // broadcast
    'pxelinux.cfg/01-01-00-5e-00-00-01', // multicast
    'pxelinux.cfg/01-00-00-00-00-00-00', // null
    'pxelinux.cfg/Default',
    'pxelinux.cfg/',
    'pxelinux.cfg',
  ])('%s → not found, never delegated to the boot root', async (path) => {
    const { source, files } = setup();
    expect(await source.open(path, CLIENT)).toBeNull();
    expect(files.asked).toEqual([]);
  });

  it('everything else is delegated to the static boot root', async () => {
    const { source, files } = setup();
    expect(await text(await source.open('pxelinux.0', CLIENT))).toBe('PXELINUX');
    expect(await source.open('toolkits/bootenv/vmlinuz', CLIENT)).toBeNull();
    expect(files.asked).toEqual(['pxelinux.0', 'toolkits/bootenv/vmlinuz']);
  });

  it('broken settings: logs and serves a local boot rather than an error', async () => {
    const { source, errors } = setup(() => {
      throw new Error('settings unreadable');
    });
    const body = await text(await source.open('pxelinux.cfg/default', CLIENT));
    expect(body).toMatch(/^DEFAULT local$/m);
    expect(errors).toHaveLength(1);
  });

  it('a tampered plan row: logs and serves a local boot', async () => {
    const { source, store, db, errors } = setup();
    store.arm(MAC, job);
    db.prepare("UPDATE clonage_boot_plans SET token = 'bad token' WHERE mac = ?").run(MAC.toString());
    const body = await text(await source.open('pxelinux.cfg/01-52-54-00-12-34-56', CLIENT));
    expect(body).toMatch(/^DEFAULT local$/m);
    expect(body).not.toContain('bad token');
    expect(errors).toHaveLength(1);
  });

  it('settings are read on every request', async () => {
    let current = settings;
    const { source } = setup(() => current);
    expect(await text(await source.open('pxelinux.cfg/default', CLIENT))).toMatch(/^UI menu\.c32$/m);
    current = { ...settings, mode: 'graphical' };
    expect(await text(await source.open('pxelinux.cfg/default', CLIENT))).toMatch(/^UI vesamenu\.c32$/m);
  });
});

describe('BootFileSource: the network GRUB (UEFI Secure Boot chain)', () => {
  const GRUB_FILE = 'grub/mac/52:54:00:12:34:56.cfg';

  it('grub/grub.cfg is the main file; a MAC without a plan gets the menu', async () => {
    const { source } = setup();
    expect(await text(await source.open('grub/grub.cfg', CLIENT))).toBe(renderGrubMain(settings));
    expect(await text(await source.open(GRUB_FILE, CLIENT))).toBe(renderGrubForPlan(menuPlan(), MAC, settings));
  });

  it('reading a job file never consumes it; consumed, the PC boots its disk', async () => {
    const { source, store } = setup();
    store.arm(MAC, job);
    const first = await text(await source.open(GRUB_FILE, CLIENT));
    expect(first).toContain(`clonage.token=${TOKEN}`);
    expect(await text(await source.open(GRUB_FILE, CLIENT))).toBe(first);
    expect(store.consume(MAC, 'j1')).toBe(true);
    const after = await text(await source.open(GRUB_FILE, CLIENT));
    expect(after).toBe(renderGrubForPlan(localPlan(), MAC, settings));
    expect(after).not.toContain(TOKEN);
  });

  it.each([
    'grub/x86_64-efi/command.lst', // the signed GRUB asks for its module lists: it has them built in
    'grub/x86_64-efi/http.mod',
    'grub/mac/52-54-00-12-34-56.cfg',
    'grub/mac/52:54:00:12:34:5G.cfg',
    'grub/mac/52:54:00:AB:CD:EF.cfg', // GRUB always writes it in lowercase
    'grub/mac/ff:ff:ff:ff:ff:ff.cfg',
    'grub/mac/.cfg', // $net_default_mac unset
    'grub/mac/52:54:00:12:34:56.cfg/x',
    'grub/grub.cfg-01-52-54-00-12-34-56',
    'grub',
  ])('%s → not found, never delegated to the boot root', async (path) => {
    const { source, files } = setup();
    expect(await source.open(path, CLIENT)).toBeNull();
    expect(files.asked).toEqual([]);
  });

  it('a tampered plan row: logs and serves a GRUB local boot', async () => {
    const { source, store, db, errors } = setup();
    store.arm(MAC, job);
    db.prepare("UPDATE clonage_boot_plans SET token = 'bad token' WHERE mac = ?").run(MAC.toString());
    const body = await text(await source.open(GRUB_FILE, CLIENT));
    expect(body).toContain('set clonage_plan=local');
    expect(body).toContain('chainloader');
    expect(body).not.toContain('bad token');
    expect(errors).toEqual([expect.objectContaining({ file: GRUB_FILE })]);
  });
});
