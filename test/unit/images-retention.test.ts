import type { BackupRow } from '../../src/images/backup-records';
import { monthsBefore, parseRetention, retentionVictims } from '../../src/images/retention';
import { FakeClock } from '../helpers/fake-host';

let nextId = 1;
const row = (image: string, createdAt: string): BackupRow => ({
  id: nextId++, mac: '02:00:00:00:00:01', name: 'pc01', image, location: 'server', status: 'succeeded', createdAt,
  sizeBytes: 1, targetId: null, deletedAt: null, deletedReason: null,
});
const names = (rows: BackupRow[]) => rows.map((r) => r.image).sort();

describe('backup retention', () => {
  const clock = new FakeClock(new Date('2025-06-15T10:00:00Z'));
  const jan = row('jan', '2025-01-10T08:00:00.000Z');
  const mar = row('mar', '2025-03-16T08:00:00.000Z');
  const may = row('may', '2025-05-20T08:00:00.000Z');
  const now = row('now', '2025-06-15T10:00:00.000Z');
  const all = [may, jan, now, mar];

  it.each([
    ['all', { kind: 'all' }],
    ['keep-last-3', { kind: 'keep-last', count: 3 }],
    ['older-than-6-months', { kind: 'older-than', months: 6 }],
    ['older-than-1-month', { kind: 'older-than', months: 1 }],
  ])('reads %p', (v, p) => expect(parseRetention(v)).toEqual(p));

  it.each(['keep-last-0', 'older-than-0-months', 'older-than-500-months', 'keep', '', 3, null, 'keep-last-3; rm'])('refuses %p', (v) => {
    expect(parseRetention(v)).toBeNull();
  });

  it('all: deletes nothing', () => {
    expect(retentionVictims(all, now.id, { kind: 'all' }, clock.now())).toEqual([]);
  });

  it('keep-last-K keeps the K newest, the one just made among them', () => {
    expect(names(retentionVictims(all, now.id, { kind: 'keep-last', count: 2 }, clock.now()))).toEqual(['jan', 'mar']);
    expect(names(retentionVictims(all, now.id, { kind: 'keep-last', count: 1 }, clock.now()))).toEqual(['jan', 'mar', 'may']);
    expect(retentionVictims(all, now.id, { kind: 'keep-last', count: 4 }, clock.now())).toEqual([]);
  });

  it('older-than-N-months deletes what is older than N calendar months before the clock', () => {
    expect(names(retentionVictims(all, now.id, { kind: 'older-than', months: 3 }, clock.now()))).toEqual(['jan']);
    expect(names(retentionVictims(all, now.id, { kind: 'older-than', months: 1 }, clock.now()))).toEqual(['jan', 'mar']);
    clock.set('2025-09-01T00:00:00Z');
    expect(names(retentionVictims(all, now.id, { kind: 'older-than', months: 3 }, clock.now()))).toEqual(['jan', 'mar', 'may']);
    clock.set('2025-06-15T10:00:00Z');
  });

  it('never the backup just made, even when it is not the newest or is old', () => {
    const old = row('old-but-just-made', '2024-01-01T00:00:00.000Z');
    expect(names(retentionVictims([...all, old], old.id, { kind: 'older-than', months: 3 }, clock.now()))).toEqual(['jan']);
    expect(names(retentionVictims([...all, old], old.id, { kind: 'keep-last', count: 1 }, clock.now()))).toEqual(['jan', 'mar', 'may']);
  });

  it('never the only good image', () => {
    expect(retentionVictims([jan], jan.id, { kind: 'keep-last', count: 1 }, clock.now())).toEqual([]);
    // The image that triggered retention is not among the good ones (e.g. recorded elsewhere): the newest stays.
    expect(names(retentionVictims([jan, mar], 9999, { kind: 'older-than', months: 1 }, clock.now()))).toEqual(['jan']);
  });

  it('months are calendar months, the day clamped to the month', () => {
    expect(monthsBefore(new Date('2025-03-31T12:00:00Z'), 1).toISOString()).toBe('2025-02-28T12:00:00.000Z');
    expect(monthsBefore(new Date('2024-03-31T12:00:00Z'), 1).toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(monthsBefore(new Date('2025-01-15T00:00:00Z'), 13).toISOString()).toBe('2023-12-15T00:00:00.000Z');
  });
});
