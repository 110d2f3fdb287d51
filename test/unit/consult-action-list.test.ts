import Database from 'better-sqlite3';
import { migrateClonage } from '../../src/store/clonage-schema';
import { listActions, parseActionListFilter } from '../../src/consult/action-list';
import { InputError } from '../../src/common/domain/errors';

describe('consult page: which actions a user sees', () => {
  const db = new Database(':memory:');
  migrateClonage(db);
  const add = (id: string, type: string, state: string, parcs: string[], machines: string[], created: string) => {
    db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at)
                VALUES (?, ?, ?, '{}', ?, 'admin', ?, ?)`).run(id, type, state, JSON.stringify(parcs), created, created);
    for (const m of machines) {
      db.prepare(`INSERT INTO clonage_targets (id, action_id, mac, name, ip, role, state, token_hash, updated_at)
                  VALUES (?, ?, '52:54:00:00:00:01', ?, '10.0.0.1', 'backup', ?, 'h', ?)`).run(`${id}-${m}`, id, m, state, created);
    }
  };
  add('a1', 'clone', 'succeeded', ['salle101'], ['s101-pc01', 's101-pc02'], '2026-03-01T20:00:00.000Z');
  add('a2', 'backup', 'armed', ['cdi'], ['cdi-pc01'], '2026-03-02T20:00:00.000Z');
  add('a3', 'report', 'running', ['salle101', 'cdi'], ['s101-pc03', 'cdi-pc02'], '2026-03-03T20:00:00.000Z');
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

  test('a delegated admin sees only actions whose parcs are all delegated to them', () => {
    expect(ids(listActions(db, ['salle101'], {}))).toEqual(['a1']);
    expect(ids(listActions(db, ['salle101', 'cdi'], {}))).toEqual(['a3', 'a2', 'a1']);
    expect(ids(listActions(db, [], {}))).toEqual([]);
    expect(ids(listActions(db, 'all', {}))).toEqual(['a3', 'a2', 'a1']);
  });

  test('filters by type, state group, parc, machine and dates', () => {
    expect(ids(listActions(db, 'all', { type: 'backup' }))).toEqual(['a2']);
    expect(ids(listActions(db, 'all', { state: 'pending' }))).toEqual(['a2']);
    expect(ids(listActions(db, 'all', { state: 'finished' }))).toEqual(['a1']);
    expect(ids(listActions(db, 'all', { parc: 'cdi' }))).toEqual(['a3', 'a2']);
    expect(ids(listActions(db, 'all', { machine: 'S101-PC02' }))).toEqual(['a1']);
    expect(ids(listActions(db, 'all', { from: '2026-03-02', to: '2026-03-02' }))).toEqual(['a2']);
    expect(listActions(db, 'all', { machine: 's101-pc01' })[0].machines).toEqual(['s101-pc01', 's101-pc02']);
  });

  test.each([['type', 'shutdown'], ['state', 'x'], ['parc', "a' OR 1=1"], ['machine', '../etc'], ['from', '2026-3-1'], ['to', ['a', 'b']]])(
    'a bad %s filter is refused',
    (k, v) => {
      expect(() => parseActionListFilter({ [k]: v })).toThrow(InputError);
    },
  );
});
