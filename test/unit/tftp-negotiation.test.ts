import { fitToBudget } from '../../src/tftp/budget';
import { negotiateOptions, type NegotiationLimits } from '../../src/tftp/options';
import { checkRequestPath, isSafeRelativePath } from '../../src/tftp/request-path';

const limits: NegotiationLimits = { maxBlockSize: 1468, maxWindowSize: 16, defaultTimeoutMs: 700, maxTimeoutSeconds: 5 };
const opts = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));

describe('fitToBudget', () => {
  const big = 1 << 20;
  it('grants the negotiated window and the read-ahead when the budget allows', () => {
    const f = fitToBudget(opts({ blksize: '1468', windowsize: '16' }), big, limits, 65536, 10 * big);
    expect(f).toMatchObject({ readAheadBytes: 65536, reservedBytes: 65536 + 1468 * 16 }); // read-ahead chunk + the window's packets
    expect(f?.negotiated.windowSize).toBe(16);
  });
  it('reserves no more than the file', () => {
    expect(fitToBudget([], 300, limits, 65536, 10 * big)?.reservedBytes).toBe(600);
  });
  it('drops the read-ahead first, then shrinks the window and says so in the OACK', () => {
    expect(fitToBudget([], big, limits, 65536, 4096)).toMatchObject({ readAheadBytes: 0, reservedBytes: 1024 });
    const f = fitToBudget(opts({ blksize: '1468', windowsize: '16' }), big, limits, 65536, 2 * 1468 * 3 + 10);
    expect(f?.negotiated.windowSize).toBe(3);
    expect(f?.negotiated.oack).toEqual(opts({ blksize: '1468', windowsize: '3' }));
    expect(f?.reservedBytes).toBe(2 * 1468 * 3);
  });
  it('refuses when not even one block fits', () => {
    expect(fitToBudget(opts({ blksize: '1468' }), big, limits, 0, 2 * 1468 - 1)).toBeNull();
  });
});

describe('negotiateOptions', () => {
  it('without options: RFC 1350 defaults and no OACK', () => {
    expect(negotiateOptions([], 10, limits)).toEqual({ blockSize: 512, windowSize: 1, timeoutMs: 700, rollover: 0, oack: null });
  });

  it.each<[string, Record<string, string>, Partial<ReturnType<typeof negotiateOptions>>]>([
    ['blksize granted', { blksize: '1024' }, { blockSize: 1024, oack: opts({ blksize: '1024' }) }],
    ['blksize clamped to the cap', { blksize: '65464' }, { blockSize: 1468, oack: opts({ blksize: '1468' }) }],
    ['blksize below 8 ignored', { blksize: '7' }, { blockSize: 512, oack: null }],
    ['blksize not a number ignored', { blksize: '1e3' }, { blockSize: 512, oack: null }],
    ['blksize negative ignored', { blksize: '-512' }, { oack: null }],
    ['tsize answers the real size', { tsize: '0' }, { oack: opts({ tsize: '123456' }) }],
    ['timeout in seconds', { timeout: '3' }, { timeoutMs: 3000, oack: opts({ timeout: '3' }) }],
    ['timeout 0 refused', { timeout: '0' }, { timeoutMs: 700, oack: null }],
    ['timeout 256 refused', { timeout: '256' }, { oack: null }],
    ['timeout at the cap (5 s) granted', { timeout: '5' }, { timeoutMs: 5000, oack: opts({ timeout: '5' }) }],
    ['timeout over the cap declined, not shortened (RFC 2349)', { timeout: '255' }, { timeoutMs: 700, oack: null }],
    ['windowsize granted', { windowsize: '8' }, { windowSize: 8, oack: opts({ windowsize: '8' }) }],
    ['windowsize clamped', { windowsize: '500' }, { windowSize: 16, oack: opts({ windowsize: '16' }) }],
    ['windowsize 0 ignored', { windowsize: '0' }, { windowSize: 1, oack: null }],
    ['rollover 1', { rollover: '1' }, { rollover: 1, oack: opts({ rollover: '1' }) }],
    ['rollover 2 ignored', { rollover: '2' }, { rollover: 0, oack: null }],
    ['names are case-insensitive, answered lower-case', { BlkSize: '800' }, { blockSize: 800, oack: opts({ blksize: '800' }) }],
    ['unknown options left out', { multicast: '', blksize: '600' }, { oack: opts({ blksize: '600' }) }],
  ])('%s', (_name, requested, expected) => {
    expect(negotiateOptions(opts(requested), 123456, limits)).toMatchObject(expected);
  });

  it('declines tsize for an empty file (curl rejects "tsize 0")', () => {
    expect(negotiateOptions(opts({ tsize: '0', blksize: '1024' }), 0, limits).oack).toEqual(opts({ blksize: '1024' }));
  });

  it('keeps the first of repeated options', () => {
    const n = negotiateOptions([{ name: 'blksize', value: '600' }, { name: 'BLKSIZE', value: '700' }], 0, limits);
    expect(n.blockSize).toBe(600);
    expect(n.oack).toEqual(opts({ blksize: '600' }));
  });

  it('answers all accepted options in request order', () => {
    const n = negotiateOptions(opts({ tsize: '0', blksize: '1468', windowsize: '4', timeout: '1' }), 9, limits);
    expect(n.oack).toEqual(opts({ tsize: '9', blksize: '1468', windowsize: '4', timeout: '1' }));
  });
});

describe('checkRequestPath', () => {
  it.each([
    ['pxelinux.0', 'pxelinux.0'],
    ['pxelinux.cfg/01-aa-bb-cc-dd-ee-ff', 'pxelinux.cfg/01-aa-bb-cc-dd-ee-ff'],
    ['/bootx64.efi', 'bootx64.efi'],
    ['a//./b', 'a/b'],
    ['dir/', 'dir'],
    ['my file.txt', 'my file.txt'],
  ])('accepts %j as %j', (raw, path) => {
    expect(checkRequestPath(raw)).toEqual({ ok: true, path });
  });

  it.each([
    ['', 'empty'],
    ['../etc/passwd', '..'],
    ['a/../../b', '..'],
    ['a/..', '..'],
    ['//etc/passwd', 'absolute'],
    ['a\\..\\b', 'backslash'],
    ['a\0b', 'ASCII'],
    ['a\nb', 'ASCII'],
    ['caf\u00e9', 'ASCII'],
    ['/', 'no file'],
    ['./.', 'no file'],
    ['x'.repeat(256), 'too long'],
  ])('refuses %j with error 2', (raw, why) => {
    const check = checkRequestPath(raw);
    expect(check).toMatchObject({ ok: false, code: 2 });
    if (!check.ok) expect(check.message).toContain(why);
  });

  it('refuses any leading slash when stripping is off', () => {
    expect(checkRequestPath('/f', { stripLeadingSlash: false, maxLength: 255 })).toMatchObject({ ok: false, code: 2 });
  });

  it('isSafeRelativePath only accepts already-normalised relative paths', () => {
    expect(isSafeRelativePath('a/b')).toBe(true);
    expect(isSafeRelativePath('/a')).toBe(false);
    expect(isSafeRelativePath('a//b')).toBe(false);
    expect(isSafeRelativePath('../a')).toBe(false);
  });
});
