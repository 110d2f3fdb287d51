/**
 * Bounded fuzzing of the parsers that read what a PC sends as text: the report of a `report` job
 * (src/images/report-parse.ts, shown on the reports page) and the image manifest a backup agent
 * commits (src/images/image-manifest.ts, which decides which files become an image). Properties:
 * no exception but InputError (none at all for reports), bounded output, linear time on hostile
 * lines, and a commit that is accepted round-trips through the manifest the server sends back.
 */
import { HOSTILE_REPORTS } from '../../bench/report-parse-bench';
import fc from 'fast-check';
import { InputError } from '../../src/common/domain/errors';
import { parseReport } from '../../src/images/report-parse';
import { buildManifest, parseCommit, renderAgentManifest } from '../../src/images/image-manifest';
import { assertFileName } from '../../src/images/image-names';

const LIMITS = { numRuns: 1000, interruptAfterTimeLimit: 9000 };
const HOSTILE_WORDS = ['$(id)', ';reboot', '../x', '..', '__proto__', 'constructor', '<script>', '"', "'", '\t', 'a b', '', '\u0000', 'x'.repeat(200)];

/** Lines as write_report produces them, with hostile words mixed in. */
const reportLine = fc.oneof(
  fc.constantFrom('### disk sda', '### sfdisk -d sda', '### blkid', '### df', '### disk nvme0n1', '### ' + 'x'.repeat(90), 'label: gpt', 'sector-size: 0', 'sector-size: 99999'),
  fc.tuple(fc.constantFrom('size=', '/dev/sda1 : start= ', '/dev/sda1: LABEL="', '/dev/sda1 ', 'sda1 '), fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...HOSTILE_WORDS), fc.bigInt({ min: 0n, max: 10n ** 19n }).map(String)))
    .map(([a, b]) => a + b),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

describe('fuzz: what PCs send as text', () => {
  it('parseReport never throws; its disks, partitions and numbers stay within bounds', () => {
    let disks = 0;
    fc.assert(fc.property(fc.array(reportLine, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
      const text = lines.join(eol);
      const r = parseReport(text);
      expect(r.skippedLines).toBeLessThanOrEqual(text.split('\n').length);
      for (const d of r.disks) {
        disks++;
        expect(d.name).toMatch(/^[a-z0-9]{1,16}$/);
        expect(d.sectorSize > 0 && Number.isFinite(d.sectorSize)).toBe(true);
        for (const n of [d.sizeBytes, ...d.partitions.flatMap((p) => [p.startSector, p.sizeBytes, p.usedBytes, p.freeBytes])]) {
          expect(n === null || (Number.isFinite(n) && n >= 0)).toBe(true);
        }
        for (const p of d.partitions) {
          expect(p.name.length).toBeLessThanOrEqual(120);
          expect(p.name).not.toContain('/');
          expect((p.type ?? '').length).toBeLessThanOrEqual(40);
        }
      }
    }), LIMITS);
    expect(disks).toBeGreaterThan(0);
  });

  it('parseReport returns bounded results on 64 KiB hostile reports (their speed is measured by npm run bench, "reports")', () => {
    for (const r of HOSTILE_REPORTS) {
      const parsed = parseReport(r.body(64 * 1024));
      for (const d of parsed.disks) expect(d.partitions.length).toBeLessThanOrEqual(256);
      expect(JSON.stringify(parsed).length).toBeLessThan(1024 * 1024);
    }
  });

  /** Mostly valid (so acceptance is reached), sometimes hostile. */
  const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: hostile, weight: 1 });
  const sha = fc.stringMatching(/^[0-9a-f]{64}$/);
  const fileName = mostly(fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}\.[0-9]{3}$/), fc.constantFrom(...HOSTILE_WORDS, 'commit', 'manifest', 'x.tmp'));
  const num = mostly(fc.integer({ min: 0, max: 1 << 26 }).map(String), fc.constantFrom('-1', '1e3', '0x10', '99999999999999999', ''));
  /** A commit body: plausible records in a plausible order, each open to hostile words. */
  const commit = fc.record({
    header: mostly(fc.constant('clonage-image 1'), fc.constantFrom('clonage-image 2', 'clonage-image  1', 'image x')),
    disk: fc.tuple(mostly(fc.constantFrom('sda', 'nvme0n1'), fc.constantFrom('sda1', '../sda')), num, mostly(fc.constantFrom('512', '4096'), fc.constant('3')))
      .map(([d, n, s]) => `disk ${d} ${n} ${s}`),
    chunkBytes: num.map((n) => `chunk_bytes ${n}`),
    table: fc.tuple(fileName, num, sha).map(([f, n, h]) => `table ${f} ${n} ${h}`),
    tools: fc.array(fc.tuple(fc.constantFrom('partclone', '__proto__', 'constructor', 'zstd'), mostly(fc.constant('0.3.23'), fc.constantFrom('', '$(id)')))
      .map(([a, b]) => `tool ${a} ${b}`.trimEnd()), { maxLength: 3 }),
    parts: fc.uniqueArray(fc.record({
      head: fc.tuple(mostly(fc.constantFrom('1', '2', '3'), fc.constantFrom('0', '300')), mostly(fc.constantFrom('sda1', 'sda2'), fc.constantFrom('Sda1', '../x')),
        mostly(fc.constantFrom('partclone.extfs partclone', 'partclone.dd raw'), fc.constantFrom('none none', 'none raw')), mostly(fc.constantFrom('zstd', 'none'), fc.constant('bzip2')), num, num)
        .map(([n, name, tm, c, sz, u]) => `part ${n} ${name} ext4 ${tm} ${c} ${sz} ${u}`),
      chunks: fc.array(fc.tuple(fileName, num, sha), { minLength: 1, maxLength: 3 }),
    }), { maxLength: 3, selector: (p) => p.head.split(' ')[1] }),
    endDelta: mostly(fc.constant(0), fc.constantFrom(1, -1)),
    trailer: mostly(fc.constant(''), fc.constantFrom('disk sda 1 512', ' ')),
  });
  type Commit = typeof commit extends fc.Arbitrary<infer T> ? T : never;
  const render = (c: Commit) => {
    const lines = [c.header, c.disk, c.chunkBytes, c.table, ...c.tools];
    let chunks = 0;
    for (const p of c.parts) {
      lines.push(p.head);
      const n = p.head.split(' ')[1];
      for (const [f, b, h] of p.chunks) (lines.push(`chunk ${n} ${f} ${b} ${h}`), chunks++);
    }
    lines.push(`end ${chunks + c.endDelta}`, c.trailer);
    return lines.join('\n');
  };

  it('parseCommit: InputError or a draft of checked files, each once, that round-trips through the server manifest', () => {
    let accepted = 0;
    fc.assert(fc.property(commit, (c) => {
      let draft;
      try {
        draft = parseCommit(render(c));
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return;
      }
      accepted++;
      const files = [draft.table, ...(draft.head ? [draft.head] : []), ...draft.partitions.flatMap((p) => p.chunks)];
      for (const f of files) expect(assertFileName(f.file)).toBe(f.file);
      expect(new Set(files.map((f) => f.file)).size).toBe(files.length);
      expect(Object.getPrototypeOf(draft.tools)).toBe(Object.prototype);
      const manifest = buildManifest(draft, { image: 'img', mac: '52:54:00:12:00:0b', machine: 'pc', createdAt: 'now', jobId: 'j_x', tableText: 'label: dos\n' });
      const text = renderAgentManifest(manifest);
      for (const line of text.split('\n').slice(0, -1)) expect(line).toMatch(/^[a-z_-]+( [A-Za-z0-9._:/,@+-]{1,128})+$/);
      const again = parseCommit(text);
      expect(again.partitions).toEqual(draft.partitions);
      expect([again.disk, again.table, again.head, again.chunkBytes]).toEqual([draft.disk, draft.table, draft.head, draft.chunkBytes]);
    }), LIMITS);
    expect(accepted).toBeGreaterThan(20);
  });
});
