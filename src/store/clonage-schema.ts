import type { Database } from 'better-sqlite3';
import { migrate, type Migration } from '../common/store/migrations';
import { migrateLibrary } from '../images/library-schema';

/**
 * The module's own tables (prefix clonage_). Boot plans live in src/boot/boot-plan-store.ts
 * with their own migration owner, so that the boot service can be tested alone.
 */
const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'actions, targets, events, reports, backups, schedules',
    sql: `
      CREATE TABLE clonage_actions (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ('clone','backup','restore','report','memtest')),
        state TEXT NOT NULL CHECK (state IN ('scheduled','preparing','armed','running','succeeded','failed','cancelled')),
        params_json TEXT NOT NULL,
        parcs_json TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        start_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        port INTEGER,
        schedule_id TEXT,
        error TEXT
      );
      CREATE INDEX clonage_actions_state ON clonage_actions(state, start_at);
      CREATE UNIQUE INDEX clonage_actions_active_port ON clonage_actions(port)
        WHERE port IS NOT NULL AND state NOT IN ('succeeded','failed','cancelled');
      CREATE TABLE clonage_targets (
        id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL REFERENCES clonage_actions(id) ON DELETE CASCADE,
        mac TEXT NOT NULL,
        name TEXT NOT NULL,
        ip TEXT NOT NULL,
        role TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('scheduled','preparing','armed','running','succeeded','failed','cancelled')),
        token_hash TEXT NOT NULL,
        stage TEXT,
        percent REAL,
        bytes INTEGER,
        rate_kbps INTEGER,
        exit_code INTEGER,
        message TEXT,
        log TEXT NOT NULL DEFAULT '',
        started_at TEXT,
        finished_at TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX clonage_targets_action ON clonage_targets(action_id);
      CREATE INDEX clonage_targets_mac ON clonage_targets(mac, state);
      CREATE TABLE clonage_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        action_id TEXT NOT NULL REFERENCES clonage_actions(id) ON DELETE CASCADE,
        target_id TEXT,
        at TEXT NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
      );
      CREATE INDEX clonage_events_action ON clonage_events(action_id, id);
      CREATE TABLE clonage_reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mac TEXT NOT NULL,
        name TEXT NOT NULL,
        target_id TEXT,
        created_at TEXT NOT NULL,
        content TEXT NOT NULL
      );
      CREATE INDEX clonage_reports_mac ON clonage_reports(mac, created_at);
      CREATE TABLE clonage_backups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mac TEXT NOT NULL,
        name TEXT NOT NULL,
        image TEXT NOT NULL,
        location TEXT NOT NULL CHECK (location IN ('partition','smb','server')),
        status TEXT NOT NULL CHECK (status IN ('succeeded','failed','deleted')),
        created_at TEXT NOT NULL,
        size_bytes INTEGER,
        manifest_json TEXT
      );
      CREATE INDEX clonage_backups_mac ON clonage_backups(mac, created_at);
      CREATE TABLE clonage_schedules (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        cron TEXT NOT NULL,
        params_json TEXT NOT NULL,
        targets_json TEXT NOT NULL,
        created_by TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        last_run_at TEXT
      );`,
  },
  {
    id: 2,
    // Why: the armed-stage timeout runs from when plans were armed, not from when emitter
    // preparation started; a schedule needs its parcs (who may manage the actions it creates) and
    // its next due time (so a restart neither skips nor repeats a run).
    name: 'action armed_at; schedule parcs, created_at, next_run_at',
    sql: `
      ALTER TABLE clonage_actions ADD COLUMN armed_at TEXT;
      ALTER TABLE clonage_schedules ADD COLUMN parcs_json TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clonage_schedules ADD COLUMN created_at TEXT;
      ALTER TABLE clonage_schedules ADD COLUMN next_run_at TEXT;
      CREATE INDEX clonage_schedules_due ON clonage_schedules(enabled, next_run_at);`,
  },
  {
    id: 3,
    // Why: a clone of Windows domain PCs prepares its emitter first (src/emitter/). Tokens are
    // stored as SHA-256 only; the row survives a restart so a resumed preparation reuses them.
    name: 'emitter preparations (ack and post-clone token hashes, script placement and removal)',
    sql: `
      CREATE TABLE clonage_emitter_preparations (
        action_id TEXT PRIMARY KEY REFERENCES clonage_actions(id) ON DELETE CASCADE,
        emitter_target_id TEXT NOT NULL,
        ack_token_hash TEXT NOT NULL,
        postclone_token_hash TEXT NOT NULL,
        scripts_written_at TEXT,
        acked_at TEXT,
        removed_at TEXT,
        failure TEXT
      );
      CREATE UNIQUE INDEX clonage_emitter_preparations_postclone ON clonage_emitter_preparations(postclone_token_hash);
      CREATE INDEX clonage_emitter_preparations_pending ON clonage_emitter_preparations(removed_at);`,
  },
  {
    id: 4,
    // Why: the server image store (src/images/) records which job made a backup, and why and when
    // a backup was deleted (retention, replaced by a same-named image); restore picks the newest
    // succeeded image of a MAC.
    name: 'backups: target_id, deleted_at, deleted_reason; index by mac, location, status',
    sql: `
      ALTER TABLE clonage_backups ADD COLUMN target_id TEXT;
      ALTER TABLE clonage_backups ADD COLUMN deleted_at TEXT;
      ALTER TABLE clonage_backups ADD COLUMN deleted_reason TEXT;
      CREATE INDEX clonage_backups_mac_status ON clonage_backups(mac, location, status, created_at);`,
  },
  {
    id: 5,
    // Why: a new action type, the multicast deploy of a server image (udp-sender on the server).
    // SQLite cannot change a CHECK constraint, so clonage_actions is rebuilt. With foreign keys on,
    // dropping it would cascade to targets, events and preparations, and renaming it would move
    // their references: the children are rebuilt too (new tables first, old ones dropped children
    // first, then renamed; the last rename points the children's references at clonage_actions).
    name: 'actions: type deploy (tables rebuilt)',
    sql: `
      CREATE TABLE clonage_actions_new (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL CHECK (type IN ('clone','backup','restore','report','memtest','deploy')),
        state TEXT NOT NULL CHECK (state IN ('scheduled','preparing','armed','running','succeeded','failed','cancelled')),
        params_json TEXT NOT NULL, parcs_json TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
        start_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, port INTEGER, schedule_id TEXT, error TEXT, armed_at TEXT
      );
      INSERT INTO clonage_actions_new (id, type, state, params_json, parcs_json, created_by, created_at, start_at, started_at, finished_at, port, schedule_id, error, armed_at) SELECT id, type, state, params_json, parcs_json, created_by, created_at, start_at, started_at, finished_at, port, schedule_id, error, armed_at FROM clonage_actions;
      CREATE TABLE clonage_targets_new (
        id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL REFERENCES clonage_actions_new(id) ON DELETE CASCADE,
        mac TEXT NOT NULL, name TEXT NOT NULL, ip TEXT NOT NULL, role TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('scheduled','preparing','armed','running','succeeded','failed','cancelled')),
        token_hash TEXT NOT NULL, stage TEXT, percent REAL, bytes INTEGER, rate_kbps INTEGER, exit_code INTEGER,
        message TEXT, log TEXT NOT NULL DEFAULT '', started_at TEXT, finished_at TEXT, updated_at TEXT NOT NULL
      );
      INSERT INTO clonage_targets_new (id, action_id, mac, name, ip, role, state, token_hash, stage, percent, bytes, rate_kbps, exit_code, message, log, started_at, finished_at, updated_at) SELECT id, action_id, mac, name, ip, role, state, token_hash, stage, percent, bytes, rate_kbps, exit_code, message, log, started_at, finished_at, updated_at FROM clonage_targets;
      CREATE TABLE clonage_events_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        action_id TEXT NOT NULL REFERENCES clonage_actions_new(id) ON DELETE CASCADE,
        target_id TEXT, at TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL
      );
      INSERT INTO clonage_events_new (id, action_id, target_id, at, level, message) SELECT id, action_id, target_id, at, level, message FROM clonage_events;
      CREATE TABLE clonage_emitter_preparations_new (
        action_id TEXT PRIMARY KEY REFERENCES clonage_actions_new(id) ON DELETE CASCADE,
        emitter_target_id TEXT NOT NULL, ack_token_hash TEXT NOT NULL, postclone_token_hash TEXT NOT NULL,
        scripts_written_at TEXT, acked_at TEXT, removed_at TEXT, failure TEXT
      );
      INSERT INTO clonage_emitter_preparations_new (action_id, emitter_target_id, ack_token_hash, postclone_token_hash, scripts_written_at, acked_at, removed_at, failure) SELECT action_id, emitter_target_id, ack_token_hash, postclone_token_hash, scripts_written_at, acked_at, removed_at, failure FROM clonage_emitter_preparations;
      DROP TABLE clonage_emitter_preparations;
      DROP TABLE clonage_events;
      DROP TABLE clonage_targets;
      DROP TABLE clonage_actions;
      ALTER TABLE clonage_targets_new RENAME TO clonage_targets;
      ALTER TABLE clonage_events_new RENAME TO clonage_events;
      ALTER TABLE clonage_emitter_preparations_new RENAME TO clonage_emitter_preparations;
      ALTER TABLE clonage_actions_new RENAME TO clonage_actions;
      CREATE INDEX clonage_actions_state ON clonage_actions(state, start_at);
      CREATE UNIQUE INDEX clonage_actions_active_port ON clonage_actions(port)
        WHERE port IS NOT NULL AND state NOT IN ('succeeded','failed','cancelled');
      CREATE INDEX clonage_targets_action ON clonage_targets(action_id);
      CREATE INDEX clonage_targets_mac ON clonage_targets(mac, state);
      CREATE INDEX clonage_events_action ON clonage_events(action_id, id);
      CREATE UNIQUE INDEX clonage_emitter_preparations_postclone ON clonage_emitter_preparations(postclone_token_hash);
      CREATE INDEX clonage_emitter_preparations_pending ON clonage_emitter_preparations(removed_at);`,
  },
  {
    id: 6,
    // Why: events the server writes are shown in the reader's language (docs/i18n.md): their
    // catalog key and values are kept next to the English sentence, which stays for logs and APIs.
    name: 'events: message_key, message_vars',
    sql: `
      ALTER TABLE clonage_events ADD COLUMN message_key TEXT;
      ALTER TABLE clonage_events ADD COLUMN message_vars TEXT;`,
  },
  {
    id: 7,
    // Why (issue 12): the boot token only fetches the job; the answer's session secret (its
    // SHA-256 here) and the address that fetched it authorise every later call. smb-credentials is
    // answered once per job, and a job's log volume is capped (the stored log is only its tail).
    // A schedule whose creator lost the right or whose machines left the parc is disabled, with why.
    name: 'targets: agent session hash, fetched_from, smb_credentials_at, log_bytes; events and reports by target; why a schedule was disabled',
    sql: `
      ALTER TABLE clonage_targets ADD COLUMN session_hash TEXT;
      ALTER TABLE clonage_targets ADD COLUMN fetched_from TEXT;
      ALTER TABLE clonage_targets ADD COLUMN smb_credentials_at TEXT;
      ALTER TABLE clonage_targets ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX clonage_events_target ON clonage_events(target_id);
      CREATE INDEX clonage_reports_target ON clonage_reports(target_id);
      ALTER TABLE clonage_schedules ADD COLUMN disabled_reason TEXT;
      ALTER TABLE clonage_schedules ADD COLUMN disabled_at TEXT;`,
  },
  {
    id: 8,
    // Why (issue 12, item 5): the image carries one post-clone claim token for every clone; each
    // machine exchanges it once, from its reserved address, for a token of its own (only the
    // SHA-256 here), which alone may ask for the join account, once, and is dead after `done`.
    name: 'post-clone tokens per machine',
    sql: `
      CREATE TABLE clonage_postclone_machines (
        target_id TEXT PRIMARY KEY,
        action_id TEXT NOT NULL REFERENCES clonage_actions(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL,
        address TEXT,
        issued_at TEXT NOT NULL,
        join_given_at TEXT,
        done_at TEXT
      );
      CREATE UNIQUE INDEX clonage_postclone_machines_token ON clonage_postclone_machines(token_hash);`,
  },
  {
    id: 9,
    // Why: what each admin chose last in the wizard is a preference of that admin, not a module
    // setting (it was kept as settings wizard.<login>.<key>; src/http/admin/admin-defaults.ts moves them).
    name: 'admin_defaults',
    sql: `
      CREATE TABLE clonage_admin_defaults (
        login TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (login, key)
      );`,
  },
  {
    id: 10,
    // Why (issue 13): how each PC booted, from its agent's result, is a fact of that PC in that
    // action: the action page shows it in the PC's row (docs/boot.md, Secure Boot really on).
    name: 'targets: firmware, secure_boot',
    sql: `
      ALTER TABLE clonage_targets ADD COLUMN firmware TEXT;
      ALTER TABLE clonage_targets ADD COLUMN secure_boot TEXT;`,
  },
];

export function migrateClonage(db: Database): number[] {
  const applied = migrate(db, 'clonage', MIGRATIONS);
  migrateLibrary(db); // its own owner: clonage_image_protection references clonage_backups
  return applied;
}
