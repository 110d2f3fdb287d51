/**
 * The readiness checks (src/readiness/readiness.ts) judge facts; the job blocker refuses an action
 * in the wizard and fails a due one before anyone is woken; toolkits publish only the maintenance
 * entries they can run.
 */
import { itemsOf, jobBlocker, overall, type ReadinessFacts, Readiness } from '../../src/readiness/readiness';
import { entryRunnable } from '../../src/toolkits/toolkit-registry';
import { FieldErrors } from '../../src/actions/params/field-errors';
import { admin, rig } from '../helpers/actions-fixtures';

const GIB = 1024 ** 3;
const ready: ReadinessFacts = {
  toolkits: [{ name: 'clonage', runsJobs: true }, { name: 'memtest', runsJobs: false }],
  jobToolkit: 'clonage',
  bootModes: [{ mode: 'bios', chain: 'pxelinux', ready: true, missing: [] }, { mode: 'uefi', chain: 'secureboot', ready: true, missing: [] }],
  tftpPort: 69,
  dhcp: { file: '/etc/dnsmasq.d/clonage.conf', written: true, upToDate: true, pxeBoot: true },
  imageStore: { root: '/var/lib/clonage/images', freeBytes: 200 * GIB, totalBytes: 500 * GIB },
  reserveBytes: 512 << 20,
};
const level = (f: ReadinessFacts, id: string) => itemsOf(f).find((i) => i.id === id)?.level;

describe('readiness checks', () => {
  it('a ready server is all green', () => {
    expect(itemsOf(ready).map((i) => [i.id, i.level])).toEqual([
      ['job-toolkit', 'ok'], ['boot-bios', 'ok'], ['boot-uefi', 'ok'], ['tftp', 'ok'], ['dhcp', 'ok'], ['image-store', 'ok'],
    ]);
    expect(overall(itemsOf(ready))).toBe('ok');
    expect(jobBlocker(ready)).toBeNull();
  });

  it('each fact that is wrong turns its own line, with a fix', () => {
    const cases: [Partial<ReadinessFacts>, string, string][] = [
      [{ toolkits: [] }, 'job-toolkit', 'bad'],
      [{ jobToolkit: 'memtest' }, 'job-toolkit', 'bad'],
      [{ bootModes: [{ mode: 'bios', chain: 'pxelinux', ready: false, missing: ['pxelinux.0'] }, ready.bootModes[1]] }, 'boot-bios', 'bad'],
      [{ bootModes: [ready.bootModes[0], { mode: 'uefi', chain: 'secureboot', ready: false, missing: ['bootx64.efi'] }] }, 'boot-uefi', 'warn'],
      [{ bootModes: [ready.bootModes[0], { mode: 'uefi', chain: 'ipxe', ready: false, missing: ['snponly.efi'] }] }, 'boot-uefi', 'warn'],
      [{ tftpPort: 0 }, 'tftp', 'bad'],
      [{ tftpPort: 6969 }, 'tftp', 'warn'],
      [{ dhcp: null }, 'dhcp', 'warn'],
      [{ dhcp: { ...ready.dhcp!, written: false } }, 'dhcp', 'bad'],
      [{ dhcp: { ...ready.dhcp!, upToDate: false } }, 'dhcp', 'warn'],
      [{ dhcp: { ...ready.dhcp!, pxeBoot: false } }, 'dhcp', 'bad'],
      [{ imageStore: { ...ready.imageStore!, freeBytes: 5 * GIB } }, 'image-store', 'warn'],
      [{ imageStore: { ...ready.imageStore!, freeBytes: 100 << 20 } }, 'image-store', 'bad'],
      [{ imageStore: null }, 'image-store', 'bad'],
    ];
    for (const [change, id, want] of cases) {
      const f = { ...ready, ...change };
      expect([id, level(f, id)]).toEqual([id, want]);
      expect(itemsOf(f).find((i) => i.id === id)!.fix).toBeDefined();
      expect(itemsOf(f).filter((i) => i.id !== id).every((i) => i.level !== 'bad' || i.id === 'job-toolkit')).toBe(true);
    }
  });

  it('the blocker: no job toolkit, a toolkit without agent, or no loader at all', () => {
    expect(jobBlocker({ ...ready, toolkits: [] })?.code).toBe('toolkitMissing');
    expect(jobBlocker({ ...ready, jobToolkit: 'memtest' })?.code).toBe('toolkitNoAgent');
    const down = (m: ReadinessFacts['bootModes'][number]) => ({ ...m, ready: false, missing: ['x'] });
    expect(jobBlocker({ ...ready, bootModes: ready.bootModes.map(down) })?.code).toBe('noLoader');
    expect(jobBlocker({ ...ready, bootModes: [down(ready.bootModes[0]), ready.bootModes[1]] })).toBeNull(); // UEFI only still boots
  });

  it('another part of the module adds or replaces a check', async () => {
    const r = new Readiness(async () => ready);
    r.add(() => ({ id: 'boot-uefi', level: 'bad', label: { key: 'ready.uefi' }, detail: { key: 'ready.loaders.ok' } }), 'boot-uefi');
    const items = await r.items();
    expect(items.filter((i) => i.id === 'boot-uefi').map((i) => i.level)).toEqual(['bad']);
  });
});

describe('maintenance entries a toolkit can run', () => {
  it('agent modes need the agent, a shell any initrd, memtest no initrd; manual backup/restore never', () => {
    const agent = { runsJobs: true, initrd: 'initrd.img' };
    const rescue = { runsJobs: false, initrd: 'initrd.img' };
    const memtest = { runsJobs: false, initrd: null };
    expect(['sender', 'receiver', 'report', 'shell'].every((e) => entryRunnable(e as never, agent))).toBe(true);
    expect(['sender', 'receiver', 'report', 'memtest'].some((e) => entryRunnable(e as never, rescue))).toBe(false);
    expect(entryRunnable('shell', rescue)).toBe(true);
    expect(entryRunnable('memtest', memtest)).toBe(true);
    for (const t of [agent, rescue, memtest]) expect(entryRunnable('backup', t) || entryRunnable('restore', t)).toBe(false);
  });
});

describe('the action service with a blocker', () => {
  it('validate refuses with the catalog message; a due action fails without arming or waking', async () => {
    let blocked = false;
    const r = rig({ blocker: async () => (blocked ? { code: 'toolkitMissing', name: 'clonage', text: 'the boot environment clonage is not installed' } : null) });
    const created = await r.service.create(admin, { type: 'report', parcs: ['salle1'], machines: ['pc01', 'pc02'], params: {} });
    blocked = true;
    const e = await r.service.validate(admin, { type: 'report', parcs: ['salle1'], machines: ['pc03'], params: {} }).catch((x) => x);
    expect(e).toBeInstanceOf(FieldErrors);
    expect((e as FieldErrors).refs.type).toEqual({ key: 'preflight.toolkitMissing', vars: { name: 'clonage' } });
    await r.scheduler.tick();
    expect(r.waker.woken).toEqual([]);
    const view = r.service.snapshot(created.id);
    expect(view.state).toBe('failed');
    expect(view.events.some((ev) => ev.ref?.key === 'event.target.toolkitMissing')).toBe(true);
    expect(r.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_boot_plans').get()).toEqual({ n: 0 });
  });

  it('a busy machine is refused with a catalog message naming it (no raw action id)', async () => {
    const r = rig();
    await r.service.create(admin, { type: 'report', parcs: ['salle1'], machines: ['pc01'], params: {} });
    const e = (await r.service.validate(admin, { type: 'report', parcs: ['salle1'], machines: ['pc01', 'pc02'], params: {} }).catch((x) => x)) as FieldErrors;
    expect(e.refs.machines).toEqual({ key: 'preflight.busy', vars: { name: 'pc01', parcs: 'salle1' } });
  });
});
