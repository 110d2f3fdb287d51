import { createHash } from 'crypto';
import { InputError } from '../../src/common/domain/errors';
import { buildManifest, parseCommit, renderAgentManifest, tableLabel } from '../../src/images/image-manifest';
import { assertFileName, assertImageName, defaultImageName, macDirName, sanitiseImageName } from '../../src/images/image-names';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const TABLE = 'label: dos\nlabel-id: 0x1234\ndevice: /dev/sda\nunit: sectors\nsector-size: 512\n\n/dev/sda1 : start=2048, size=163840, type=83\n';

function commitText(over: { end?: number; extra?: string[] } = {}): string {
  return [
    'clonage-image 1',
    'disk sda 209715200 512',
    'chunk_bytes 67108864',
    `table table.sfdisk ${TABLE.length} ${sha(TABLE)}`,
    `head head.bin 1048576 ${sha('head')}`,
    'tool partclone 0.3.23',
    'tool zstd 1.5.4',
    'part 1 sda1 ext4 partclone.extfs partclone zstd 83886080 11058176',
    `chunk 1 sda1.pc.zst.000 67108864 ${sha('a')}`,
    `chunk 1 sda1.pc.zst.001 5391 ${sha('b')}`,
    'part 2 sda2 unknown partclone.dd raw zstd 124780544 124780544',
    `chunk 2 sda2.dd.zst.000 133228 ${sha('c')}`,
    'part 3 sda3 swap none none none 1048576 0',
    ...(over.extra ?? []),
    `end ${over.end ?? 3}`,
    '',
  ].join('\n');
}

const problem = (text: string): string => {
  try {
    parseCommit(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('image manifest lines', () => {
  it('parses a commit: disk, table, head, tools, partitions with their chunks in order', () => {
    const d = parseCommit(commitText());
    expect(d.disk).toEqual({ name: 'sda', sizeBytes: 209715200, sectorSize: 512 });
    expect(d.table.file).toBe('table.sfdisk');
    expect(d.head?.bytes).toBe(1048576);
    expect(d.tools).toEqual({ partclone: '0.3.23', zstd: '1.5.4' });
    expect(d.partitions.map((p) => [p.number, p.mode, p.chunks.map((c) => c.file)])).toEqual([
      [1, 'partclone', ['sda1.pc.zst.000', 'sda1.pc.zst.001']], [2, 'raw', ['sda2.dd.zst.000']], [3, 'none', []],
    ]);
  });

  it.each([
    ['a cut body (no end line)', commitText().replace(/end 3\n/, '')],
    ['a wrong chunk count', commitText({ end: 2 })],
    ['a file listed twice', commitText({ extra: [`chunk 2 sda1.pc.zst.000 5 ${sha('x')}`], end: 4 })],
    ['a bad sha', commitText().replace(sha('c'), 'abc')],
    ['a chunk of an undeclared partition', commitText({ extra: [`chunk 9 x.000 5 ${sha('x')}`], end: 4 })],
    ['a chunk of a partition that stores nothing', commitText({ extra: [`chunk 3 x.000 5 ${sha('x')}`], end: 4 })],
    ['an unknown record', commitText({ extra: ['rm -rf /'] })],
    ['a path as file name', commitText().replace('sda2.dd.zst.000', '../../etc/passwd')],
    ['a tool that does not fit the mode', commitText().replace('partclone.dd raw', 'partclone.extfs raw')],
    ['a partition without chunks', commitText().replace(/chunk 2 .*\n/, '').replace('end 3', 'end 2')],
    ['quotes or shell characters', commitText().replace('tool zstd 1.5.4', 'tool zstd $(reboot)')],
    ['another format', commitText().replace('clonage-image 1', 'clonage-image 2')],
  ])('refuses %s', (_what, text) => {
    expect(problem(text)).toMatch(/manifest/);
  });

  it('builds manifest.json and renders the agent lines, which parse back to the same image', () => {
    const d = parseCommit(commitText());
    const m = buildManifest(d, { image: 'image_20250310', mac: '02:00:00:00:00:01', machine: 'pc01', createdAt: '2025-03-10T08:00:00.000Z', jobId: 'j_1', tableText: TABLE });
    expect(m.partitionTable).toMatchObject({ label: 'dos', text: TABLE });
    expect(m.storedBytes).toBe(TABLE.length + 1048576 + 67108864 + 5391 + 133228);
    const lines = renderAgentManifest(m);
    expect(lines).toMatch(/^clonage-image 1\nimage image_20250310\ndisk sda 209715200 512\n/);
    for (const l of lines.trim().split('\n')) expect(l).toMatch(/^[a-z_-]+( [A-Za-z0-9._:/,@+-]+)*$/);
    const again = parseCommit(lines);
    expect(again.partitions).toEqual(d.partitions);
  });

  it('needs an sfdisk label', () => {
    expect(tableLabel('label: gpt\n')).toBe('gpt');
    expect(() => tableLabel('hello')).toThrow(InputError);
  });
});

describe('image and file names', () => {
  const NOW = new Date('2025-03-10T23:30:00Z');
  it.each([
    ['', 'image_20250310'],
    [undefined, 'image_20250310'],
    ['Sauvegarde été', 'Sauvegarde_ete'],
    ['../../etc', '_._etc'],
    ['a b;c', 'a_b_c'],
    ['---', 'image_20250310'],
    ['x'.repeat(80), 'x'.repeat(64)],
  ])('%p → %p', (raw, expected) => {
    expect(sanitiseImageName(raw as string, NOW)).toBe(expected);
    expect(assertImageName(expected)).toBe(expected);
  });

  it('default name from the clock, MAC directory with dashes', () => {
    expect(defaultImageName(NOW)).toBe('image_20250310');
    expect(macDirName('02:00:00:00:00:0A')).toBe('02-00-00-00-00-0a');
  });

  it.each(['', '.hidden', '../x', 'a/b', 'manifest', 'manifest.json', 'commit', 'x.tmp', 'a b', 'é'])('refuses the file name %p', (n) => {
    expect(() => assertFileName(n)).toThrow(InputError);
  });
});
