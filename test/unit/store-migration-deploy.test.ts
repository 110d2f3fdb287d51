import Database from 'better-sqlite3';
import { migrateClonage } from '../../src/store/clonage-schema';

/** Migration 5 rebuilds clonage_actions and its children (new type): rows and cascades survive. */
test('migration 5 keeps actions, targets and events, and accepts deploy', () => {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrateClonage(db);
  db.prepare("DELETE FROM schema_migrations WHERE owner = 'clonage' AND id = 5").run();
  db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at)
    VALUES ('a1', 'clone', 'running', '{}', '[]', 'admin', 't', 't')`).run();
  db.prepare(`INSERT INTO clonage_targets (id, action_id, mac, name, ip, role, state, token_hash, updated_at)
    VALUES ('j1', 'a1', 'm', 'pc', 'ip', 'sender', 'running', 'h', 't')`).run();
  db.prepare(`INSERT INTO clonage_events (action_id, at, level, message) VALUES ('a1', 't', 'info', 'x')`).run();
  expect(migrateClonage(db)).toEqual([5]);
  expect(db.prepare('SELECT COUNT(*) AS n FROM clonage_targets').get()).toEqual({ n: 1 });
  expect(db.prepare('SELECT id FROM clonage_events').all()).toEqual([{ id: 1 }]);
  db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at)
    VALUES ('a2', 'deploy', 'scheduled', '{}', '[]', 'admin', 't', 't')`).run();
  db.prepare(`INSERT INTO clonage_events (action_id, at, level, message) VALUES ('a2', 't', 'info', 'y')`).run();
  expect(db.prepare("SELECT id FROM clonage_events WHERE action_id = 'a2'").get()).toEqual({ id: 2 });
  expect(db.pragma('foreign_key_check')).toEqual([]);
  expect(String((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'clonage_targets'").get() as { sql: string }).sql)).toMatch(/REFERENCES "?clonage_actions"?\(id\)/);
  db.prepare("DELETE FROM clonage_actions WHERE id = 'a1'").run();
  expect(db.prepare('SELECT COUNT(*) AS n FROM clonage_targets').get()).toEqual({ n: 0 });
  expect(() => db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at)
    VALUES ('a3', 'bogus', 'scheduled', '{}', '[]', 'admin', 't', 't')`).run()).toThrow(/CHECK/);
});
