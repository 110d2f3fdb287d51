import { ForbiddenError, InputError } from '../../src/common/domain/errors';
import { parseActionParams, paramDefaultsFrom } from '../../src/actions/params/action-params';
import { BUILTIN_DEFAULTS, parseCloneParams } from '../../src/actions/params/clone-params';
import { parseActionRequest, type ActionInput } from '../../src/actions/params/action-request';
import { FieldErrors } from '../../src/actions/params/field-errors';
import { parseCronExpression } from '../../src/actions/params/cron-expression';
import { jobDescription, renderKeyValues } from '../../src/agent/job-description';
import { DEFAULT_UDPCAST_TUNING } from '../../src/actions/params/udpcast-tuning';
import { MachineInventory } from '../../src/inventory/machine-inventory';
import { LAB, MemoryDhcp, MemoryDirectory, MemorySettings } from '../helpers/fake-host';
import { cloneInput } from '../helpers/actions-fixtures';
import { ModuleSettings } from '../../src/settings/module-settings';

const NOW = new Date('2025-03-10T08:00:00Z');

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).field;
  }
  throw new Error('expected an InputError');
}

describe('clone parameters', () => {
  it('disk: blank asks for the first fixed disk, absent takes the default, a name must be a whole disk', () => {
    const d = { ...BUILTIN_DEFAULTS, disk: 'sdb' };
    expect(parseCloneParams({ disk: '  ' }, 1, d).disk).toBe('');
    expect(parseCloneParams({}, 1, d).disk).toBe('sdb');
    expect(parseCloneParams({ disk: 'nvme0n1' }, 1, d).disk).toBe('nvme0n1');
    for (const bad of ['sda1', 'auto', '/dev/sda', 'nvme0n1p2', 'mmcblk0boot0']) expect([bad, fieldOf(() => parseCloneParams({ disk: bad }, 1, d))]).toEqual([bad, 'disk']);
  });

  it('takes the defaults, min_receivers = number of receivers', () => {
    expect(parseCloneParams({}, 3)).toEqual({
      type: 'clone', disk: '', compression: 'zstd', minReceivers: 3, minWaitMinutes: 10, maxWaitMinutes: 15, startTimeoutMinutes: 20, autoReboot: 'always',
    });
  });

  it.each(['sda', 'hdb', 'vdz', 'nvme0n1', 'nvme12n3', 'mmcblk0'])('accepts disk %s', (disk) => {
    expect(parseCloneParams({ disk }, 1).disk).toBe(disk);
  });

  it.each<[string, unknown]>([
    ['disk', 'sda1'], ['disk', 'sd'], ['disk', '/dev/sda'], ['disk', 'sda;reboot'], ['disk', 'nvme0'], ['disk', 'SDA'], ['disk', 'xda'], ['disk', ['sda', 'sdb']],
    ['compression', 'pbzip2'], ['compression', 'ZSTD'], ['compression', 'zstd -19'],
    ['min_receivers', '0'], ['min_receivers', '4'], ['min_receivers', '1.5'], ['min_receivers', '-1'], ['min_receivers', 'two'],
    ['min_wait', '-1'], ['min_wait', '1e3'], ['min_wait', '1441'],
    ['max_wait', '0'], ['max_wait', 'x'], ['max_wait', '99999'],
    ['start_timeout', '0'], ['start_timeout', '10 '.repeat(3)],
    ['auto_reboot', 'y'], ['auto_reboot', 'halt'], ['auto_reboot', 'ALWAYS'],
  ])('refuses %s=%j with an InputError on that field', (field, value) => {
    expect(fieldOf(() => parseCloneParams({ [field]: value }, 3))).toBe(field);
  });

  it('requires min_wait ≤ max_wait ≤ start_timeout', () => {
    expect(fieldOf(() => parseCloneParams({ min_wait: '20', max_wait: '15' }, 1))).toBe('max_wait');
    expect(fieldOf(() => parseCloneParams({ max_wait: '30', start_timeout: '20' }, 1))).toBe('start_timeout');
    expect(parseCloneParams({ min_wait: '5', max_wait: '5', start_timeout: '5' }, 1).maxWaitMinutes).toBe(5);
  });

  it('reports every bad field at once', () => {
    try {
      parseCloneParams({ disk: 'x', compression: 'y', auto_reboot: 'z' }, 1);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(FieldErrors);
      expect(Object.keys((e as FieldErrors).errors).sort()).toEqual(['auto_reboot', 'compression', 'disk']);
    }
  });

  it('reads defaults from settings, ignoring unusable values', () => {
    const s = new MemorySettings();
    s.set('clone.compression', 'gzip');
    s.set('clone.disk', 'nvme0n1');
    s.set('clone.minWaitMinutes', 'soon');
    expect(paramDefaultsFrom(new ModuleSettings(s))).toEqual({ ...BUILTIN_DEFAULTS, compression: 'gzip', disk: 'nvme0n1', smbReady: false });
  });
});

describe('other types', () => {
  it('backup: default image name from the clock, image names restricted', () => {
    expect(parseActionParams('backup', {}, { receivers: 1, now: NOW })).toMatchObject({ image: 'image_20250310', disk: '' });
    expect(fieldOf(() => parseActionParams('backup', { image: '../etc' }, { receivers: 1, now: NOW }))).toBe('image');
    expect(fieldOf(() => parseActionParams('backup', { image: 'a b' }, { receivers: 1, now: NOW }))).toBe('image');
  });
  it('restore: empty image means the newest', () => {
    expect(parseActionParams('restore', {}, { receivers: 1, now: NOW })).toMatchObject({ image: '' });
  });
  it('report and memtest', () => {
    expect(parseActionParams('report', { auto_reboot: 'never' }, { receivers: 1, now: NOW })).toEqual({ type: 'report', autoReboot: 'never' });
    expect(parseActionParams('memtest', { disk: 'ignored' }, { receivers: 1, now: NOW })).toEqual({ type: 'memtest' });
  });
});

describe('action request (targets, parcs, timing)', () => {
  const machines = new MachineInventory(new MemoryDirectory(LAB), new MemoryDhcp(LAB));
  const parse = (input: ActionInput, allowed: 'all' | string[] = 'all') => parseActionRequest(input, { allowed, machines, now: NOW });
  const errorsOf = async (input: ActionInput) => {
    const e = await parse(input).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    return e instanceof FieldErrors ? Object.keys(e.errors) : [(e as InputError).field];
  };

  it('builds sender + receivers with MAC and IP from the DHCP reservation', async () => {
    const r = await parse(cloneInput());
    expect(r.targets.map((t) => [t.name, t.role, t.ip.toString()])).toEqual([
      ['pc01', 'sender', '10.0.0.11'], ['pc02', 'receiver', '10.0.0.12'], ['pc03', 'receiver', '10.0.0.13'],
    ]);
    expect(r.params).toMatchObject({ minReceivers: 2 });
    expect(r.timing).toEqual({ kind: 'now' });
  });

  it.each<[string, Partial<ActionInput>, string]>([
    ['no emitter', { emitter: undefined }, 'emitter'],
    ['two emitters', { emitter: ['pc01', 'pc02'] }, 'emitter'],
    ['unknown emitter', { emitter: 'pc99' }, 'emitter'],
    ['no receivers', { receivers: [] }, 'receivers'],
    ['emitter among receivers', { receivers: ['pc01', 'pc02'] }, 'receivers'],
    ['receiver outside the parcs', { receivers: ['pc05'] }, 'receivers'],
    ['receiver without reservation', { parcs: ['salle1', 'salle2'], receivers: ['pc07'] }, 'receivers'],
    ['bad type', { type: 'format' }, 'type'],
    ['no parcs', { parcs: [] }, 'parcs'],
    ['bad parc name', { parcs: ['../x'] }, 'parcs'],
    ['too many min_receivers', { params: { min_receivers: '3' } }, 'min_receivers'],
    ['bad start', { start: 'later' }, 'start'],
    ['start_at missing', { start: 'at' }, 'start_at'],
    ['start_at in the past', { start: 'at', start_at: '2025-03-09T08:00' }, 'start_at'],
    ['start_at too far', { start: 'at', start_at: '2027-03-09T08:00' }, 'start_at'],
    ['cron for a clone', { start: 'cron', cron: '0 18 * * 5' }, 'cron'],
  ])('%s → field error', async (_label, over, field) => {
    expect(await errorsOf(cloneInput(over))).toContain(field);
  });

  it('refuses a parc that is not delegated (403, not a form error)', async () => {
    await expect(parse(cloneInput({ parcs: ['salle1'] }), ['salle2'])).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('accepts a start time and a recurring backup', async () => {
    const at = await parse(cloneInput({ start: 'at', start_at: '2025-03-11T07:30:00Z' }));
    expect(at.timing).toEqual({ kind: 'at', at: new Date('2025-03-11T07:30:00Z') });
    const weekly = await parse({ type: 'backup', parcs: 'salle2', machines: ['pc05', 'pc06'], start: 'cron', cron: '30  18 * * 5' });
    expect(weekly.timing).toEqual({ kind: 'cron', cron: '30 18 * * 5' });
    expect(weekly.targets.map((t) => t.role)).toEqual(['backup', 'backup']);
  });

  it.each(['', 'nonsense', '* * * * *', '0 * * * * *', '61 18 * * 5', '0 18 * * 5; rm', '*/5 * * * *'])('refuses cron %j', (cron) => {
    expect(() => parseCronExpression(cron, NOW)).toThrow(InputError);
  });
});

describe('job description', () => {
  it('refuses values outside the closed character set and bad keys', () => {
    expect(renderKeyValues([['disk', 'sda'], ['port', 9002]])).toBe('disk=sda\nport=9002\n');
    expect(() => renderKeyValues([['disk', 'sda;reboot']])).toThrow();
    expect(() => renderKeyValues([['image', 'a b']])).toThrow();
    expect(() => renderKeyValues([['Bad', 'x']])).toThrow();
    expect(() => renderKeyValues([['message', 'x\nrole=sender']])).toThrow();
  });

  it('gives the sender wait times in seconds and receivers their start timeout', () => {
    const params = parseCloneParams({}, 2);
    const action = { type: 'clone', port: 9002, params } as never;
    const target = (role: string) => ({ id: 'j_x', role, name: 'pc01' }) as never;
    expect(jobDescription(action, target('sender'))).toBe(
      'job=j_x\nrole=sender\nname=pc01\ndisk=\nport=9002\ncompression=zstd\nmin_receivers=2\nmin_wait=600\nmax_wait=900\nretries_until_drop=60\nauto_reboot=always\n',
    );
    expect(jobDescription(action, target('receiver'))).toContain('start_timeout=1200\n');
    expect(jobDescription(action, target('receiver'))).not.toContain('min_receivers');
  });

  it('sends the udpcast tuning from the settings to the sender only; bad settings fall back to the defaults', () => {
    const action = { type: 'clone', port: 9002, params: parseCloneParams({}, 2) } as never;
    const target = (role: string) => ({ id: 'j_x', role, name: 'pc01' }) as never;
    const settings = (values: Record<string, unknown>) => new ModuleSettings({ getOr: <T,>(k: string, d: T): T => (k in values ? (values[k] as T) : d) });
    const tuned = settings({ 'clone.retriesUntilDrop': 20, 'clone.maxBitrate': '600M' }).udpcastTuning();
    expect(tuned).toEqual({ retriesUntilDrop: 20, maxBitrate: '600m' });
    const sender = jobDescription(action, target('sender'), tuned);
    expect(sender).toContain('\nretries_until_drop=20\nmax_bitrate=600m\n');
    expect(jobDescription(action, target('receiver'), tuned)).not.toMatch(/retries_until_drop|max_bitrate/);
    for (const bad of [{ 'clone.retriesUntilDrop': 0 }, { 'clone.retriesUntilDrop': 2.5 }, { 'clone.retriesUntilDrop': '30' }, { 'clone.maxBitrate': '10 m' },
      { 'clone.maxBitrate': '0' }, { 'clone.maxBitrate': '5t' }, { 'clone.maxBitrate': '1m;reboot' }]) {
      const t = settings(bad).udpcastTuning();
      if ('clone.maxBitrate' in bad) expect(t.maxBitrate).toBeNull();
      else expect(t.retriesUntilDrop).toBe(DEFAULT_UDPCAST_TUNING.retriesUntilDrop);
    }
  });
});
