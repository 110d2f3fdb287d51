/**
 * What `clonage` prints (pure): tables of every list answer as the API sends them, one action
 * with its PCs, the live-stream parser, progress frames for a terminal and plain lines for a log
 * (golden files), the outcome → exit code, and server text never reaching the terminal raw.
 */
import { COMMANDS } from '../../src/cli/commands';
import { EXIT } from '../../src/cli/exit-codes';
import { mergeUpdate, outcome, outcomeWords, plainLines, SseParser, ttyFrame, watchView, type PlainMemory } from '../../src/cli/progress';
import { bytes, cell, table } from '../../src/cli/render';
import { expectGolden } from '../helpers/golden';

const render = (words: string, data: unknown) => COMMANDS.find((c) => c.words.join(' ') === words)!.render(data, {});

const target = (name: string, state: string, percent: number | null, message: string | null = null) =>
  ({ id: `t-${name}`, name, mac: '52:54:00:12:00:0b', ip: '10.77.0.11', role: 'receiver', state, stage: null, percent, bytes: null, rateKbps: null,
    elapsedSeconds: 3, exitCode: null, message, logTail: '' });

const ACTION = {
  id: 'a7f3c2', type: 'clone', state: 'running', params: {}, parcs: ['salle101'], port: 9000, createdBy: 'admin', createdAt: '2026-12-03T14:00:00.000Z',
  startAt: '2026-12-03T14:00:00.000Z', startedAt: '2026-12-03T14:00:05.000Z', finishedAt: null, elapsedSeconds: 60, error: null, events: [],
  targets: [target('s101-pc01', 'running', 100, 'sender'), target('s101-pc02', 'running', 42.4, 'restoring sda2'), target('s101-pc03', 'armed', null)],
  canCancel: true, canStartNow: false, counts: { total: 3, succeeded: 0, failed: 0, cancelled: 0 }, partial: false, canRetry: false,
};

describe('clonage output', () => {
  test('list tables of the API answers (golden)', () => {
    const out = [
      render('actions ls', [
        { id: 'a7f3c2', type: 'clone', state: 'running', parcs: ['salle101'], machines: ['s101-pc01'], createdBy: 'admin', createdAt: '2026-12-03T14:00:00.000Z',
          startAt: '2026-12-03T14:00:00.000Z', finishedAt: null, counts: { targets: 3, succeeded: 0, failed: 0 } },
        { id: 'b0', type: 'report', state: 'failed', parcs: ['cdi', 'salle101'], createdAt: '2026-12-02T08:00:00.000Z', counts: { targets: 12, succeeded: 10, failed: 2 } },
      ]),
      render('actions ls', []),
      render('images ls', [
        { id: 3, machine: 's101-pc01', mac: '52:54:00:12:00:0b', name: 'image_20261203', createdAt: '2026-12-03T10:00:00.000Z', sizeBytes: 5_368_709_120,
          store: 'server', verifiedBy: 'sha256', retention: 'protected', protected: true, manageable: true },
        { id: 4, machine: 'cdi-pc02', name: 'x', createdAt: '2026-12-03T11:00:00.000Z', sizeBytes: 512, store: 'partition', verifiedBy: null, protected: false },
      ]),
      render('schedules ls', [
        { id: 's1', type: 'backup', cron: '0 7 * * 1-5', parcs: ['salle101'], machines: [], createdBy: 'admin', enabled: false, disabledByServer: false,
          nextRuns: ['2026-12-04T07:00:00.000Z', '2026-12-07T07:00:00.000Z'], lastRun: { actionId: 'a1', state: 'succeeded', partial: false, at: '2026-12-03T07:00:00.000Z' } },
      ]),
      render('parcs ls', [{ name: 'salle101', machineCount: 12 }, { name: 'cdi', machineCount: 4 }]),
      render('machines ls', [{ name: 's101-pc01', mac: '52:54:00:12:00:0b', ip: '10.77.0.11', reserved: true, busyActionId: null, lastReportAt: null }]),
      render('readiness', { overall: 'warn', items: [{ id: 'tftp', level: 'ok', label: 'Serveur TFTP', detail: 'port 69', fix: null },
        { id: 'bootenv', level: 'warn', label: 'Environnement de démarrage', detail: 'absent', fix: 'Construire' }] }),
      render('actions show', { action: ACTION }),
      render('actions cancel', { action: { ...ACTION, state: 'cancelled', targets: [] } }),
      render('schedules pause', { schedule: { id: 's1' } }),
      render('images rm', { deleted: { id: 3, machine: 's101-pc01', name: 'image_20261203', protected: false } }),
      render('images rename', { image: { id: 3, machine: 's101-pc01', name: 'master' } }),
      render('machines report', {
        name: 's101-pc01', mac: '52:54:00:12:00:0b',
        report: { id: 9, createdAt: '2026-12-03T09:00:00.000Z', parsed: { disks: [{ name: 'sda', sizeBytes: 21_474_836_480, label: 'gpt', bus: 'sata', model: 'QEMU HARDDISK', removable: false, auto: true, sectorSize: 512, partitions: [
          { name: 'sda1', sizeBytes: 536_870_912, fs: 'vfat', label: 'EFI', usedBytes: 33_554_432 }, { name: 'sda2', sizeBytes: 20_000_000_000, fs: 'ntfs', label: null, usedBytes: null }] }],
        storePartitions: [], storeImages: [], skippedLines: 0 } },
        history: [], backups: [{ id: 3, image: 'image_20261203', status: 'succeeded', store: 'server', createdAt: '2026-12-03T10:00:00.000Z', sizeBytes: 5_368_709_120 }],
      }),
      render('machines report', { name: 'cdi-pc01', mac: '52:54:00:12:00:20', report: null, history: [], backups: [] }),
    ];
    expectGolden('cli/tables.txt', out.join('\n====\n'));
  });

  test('server text is data: escape sequences and line breaks never reach the terminal', () => {
    expect(cell('pc\x1b[2J\nx\u009b')).toBe('pc?[2J?x?');
    expect(table([{ header: 'N', value: (r) => r.n }], [{ n: '\x07' }])).toBe('N\n?\n');
    const frame = ttyFrame(watchView({ ...ACTION, id: 'a\x1b[H', targets: [target('a\rb', 'failed', null, 'boom\x1b]0;owned\x07')] })!, 80);
    expect(frame).toEqual(['action a?[H: running', 'a?b  [------------------------------]    - failed    boom?]0;owned?']);
    expect(bytes(0)).toBe('0 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(-1)).toBe('-');
  });

  test('the SSE parser: events split anywhere across chunks, CRLF, comments, multi-line data', () => {
    const text = ': heartbeat\r\n\r\nevent: snapshot\r\ndata: {"a":1}\r\n\r\nevent: update\ndata: line1\ndata: line2\n\ndata:x\n\n';
    const whole = new SseParser().push(text);
    expect(whole).toEqual([{ event: 'snapshot', data: '{"a":1}' }, { event: 'update', data: 'line1\nline2' }, { event: 'message', data: 'x' }]);
    for (let cut = 1; cut < text.length; cut += 1) {
      const p = new SseParser();
      expect([...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))]).toEqual(whole);
    }
  });

  test('a stream update carries only the changed PCs: merged into what was shown, by name', () => {
    const first = watchView(ACTION)!;
    const update = watchView({ ...ACTION, state: 'succeeded', targets: [target('s101-pc03', 'succeeded', 100)] })!;
    const merged = mergeUpdate(first, update);
    expect(merged.state).toBe('succeeded');
    expect(merged.targets.map((t) => [t.name, t.state])).toEqual([['s101-pc01', 'running'], ['s101-pc02', 'running'], ['s101-pc03', 'succeeded']]);
    expect(outcome(mergeUpdate(merged, watchView({ ...ACTION, state: 'failed', targets: [target('s101-pc01', 'failed', null)] })!))).toBe(EXIT.partial);
    expect(mergeUpdate(null, update)).toEqual(update);
  });

  test('live state from a GET answer or a stream message; outcome → exit code', () => {
    const v = watchView({ action: ACTION })!;
    expect(v).toEqual(watchView(ACTION));
    expect(v.targets.map((t) => [t.name, t.state, t.percent])).toEqual([['s101-pc01', 'running', 100], ['s101-pc02', 'running', 42.4], ['s101-pc03', 'armed', null]]);
    expect(watchView({ nothing: 1 })).toBeNull();
    expect(outcome(v)).toBeNull();
    const ended = (state: string, ...states: string[]) => ({ ...v, state, targets: states.map((s, i) => ({ name: `p${i}`, state: s, percent: null, message: null })) });
    expect(outcome(ended('succeeded', 'succeeded'))).toBe(EXIT.ok);
    expect(outcome(ended('failed', 'succeeded', 'failed'))).toBe(EXIT.partial);
    expect(outcome(ended('failed', 'failed', 'failed'))).toBe(EXIT.actionFailed);
    expect(outcome(ended('cancelled', 'cancelled'))).toBe(EXIT.cancelled);
    expect(outcomeWords(ended('failed', 'succeeded', 'failed'))).toBe('action a7f3c2 ended with errors: 1/2 PCs succeeded, 1 failed');
  });

  test('progress: terminal frames at two widths, plain lines only on change (golden)', () => {
    const frames = [80, 40].map((w) => ttyFrame(watchView(ACTION)!, w).join('\n'));
    const steps = [
      ACTION,
      { ...ACTION, targets: [target('s101-pc01', 'running', 100, 'sender'), target('s101-pc02', 'running', 48, 'restoring sda2'), target('s101-pc03', 'armed', null)] },
      { ...ACTION, targets: [target('s101-pc01', 'running', 100, 'sender'), target('s101-pc02', 'running', 51, 'restoring sda2'), target('s101-pc03', 'running', 5)] },
      { ...ACTION, state: 'failed', targets: [target('s101-pc01', 'succeeded', 100), target('s101-pc02', 'succeeded', 100), target('s101-pc03', 'failed', 5, 'disk too small')] },
    ];
    let memory: PlainMemory = new Map();
    const plain: string[] = [];
    for (const s of steps) {
      const r = plainLines(memory, watchView(s)!);
      memory = r.memory;
      plain.push(...r.lines, '--');
    }
    expectGolden('cli/progress.txt', [...frames, plain.join('\n')].join('\n====\n') + '\n');
  });
});
