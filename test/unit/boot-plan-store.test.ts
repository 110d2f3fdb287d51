import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { incompletePlan, jobPlan, localPlan, menuPlan } from '../../src/boot/boot-plan';
import { BootPlanStore } from '../../src/boot/boot-plan-store';
import { ConflictError, InputError } from '../../src/common/domain/errors';
import { Mac } from '../../src/common/domain/mac';

const TOKEN = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c';
const TOKEN2 = 'Z'.repeat(43);
const A = Mac.parse('52:54:00:12:34:56');
const B = Mac.parse('52:54:00:ab:cd:ef');

class FakeClock {
  constructor(public t = new Date('2025-03-10T08:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t = new Date(this.t.getTime() + ms);
  }
}

const job = (jobId: string, token = TOKEN) => jobPlan({ jobId, token, toolkit: 'bootenv', label: 'clonage-receiver' });

describe('BootPlanStore', () => {
  let db: Db;
  let clock: FakeClock;
  let store: BootPlanStore;

  beforeEach(() => {
    db = new Database(':memory:');
    clock = new FakeClock();
    store = new BootPlanStore(db, clock);
  });
  afterEach(() => db.close());

  it('runs its migration once, under its own owner', () => {
    new BootPlanStore(db, clock);
    const rows = db.prepare("SELECT id FROM schema_migrations WHERE owner = 'clonage.boot'").all();
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('nothing armed: get is null, the MAC boots the menu', () => {
    expect(store.get(A)).toBeNull();
    expect(store.planFor(A)).toEqual(menuPlan());
    expect(store.listArmed()).toEqual([]);
  });

  it('arm then get returns the same plan; reading does not consume it', () => {
    store.arm(A, job('j1'));
    expect(store.get(A)).toEqual(job('j1'));
    expect(store.planFor(A)).toEqual(job('j1'));
    expect(store.planFor(A)).toEqual(job('j1'));
    expect(store.get(B)).toBeNull();
  });

  it('arm replaces the previous plan of the MAC', () => {
    store.arm(A, job('j1'));
    store.arm(A, localPlan());
    expect(store.get(A)).toEqual(localPlan());
    store.arm(A, job('j2', TOKEN2));
    expect(store.get(A)).toEqual(job('j2', TOKEN2));
    expect(store.consume(A, 'j1')).toBe(false);
  });

  it('consume: true once, then false; the token is erased; the MAC then boots locally', () => {
    store.arm(A, job('j1'));
    expect(store.consume(A, 'j1')).toBe(true);
    expect(store.consume(A, 'j1')).toBe(false);
    expect(store.get(A)).toBeNull();
    expect(store.planFor(A)).toEqual(localPlan());
    const row = db.prepare('SELECT token, consumed_at FROM clonage_boot_plans WHERE mac = ?').get(A.toString());
    expect(row).toEqual({ token: null, consumed_at: '2025-03-10T08:00:00.000Z' });
    expect(store.listArmed()).toEqual([]);
  });

  it('consume of the wrong job, the wrong MAC or a non-job plan is false and changes nothing', () => {
    store.arm(A, job('j1'));
    store.arm(B, menuPlan());
    expect(store.consume(A, 'j2')).toBe(false);
    expect(store.consume(B, 'j1')).toBe(false);
    expect(store.get(A)).toEqual(job('j1'));
    expect(() => store.consume(A, 'j1 OR 1=1')).toThrow(InputError);
  });

  it('a consumed job cannot be armed again (no replay); another job can', () => {
    store.arm(A, job('j1'));
    store.consume(A, 'j1');
    expect(() => store.arm(A, job('j1'))).toThrow(ConflictError);
    expect(() => store.arm(B, job('j1'))).toThrow(ConflictError);
    store.arm(A, job('j2', TOKEN2));
    expect(store.planFor(A)).toEqual(job('j2', TOKEN2));
  });

  it('one job id cannot be armed on two MACs', () => {
    store.arm(A, job('j1'));
    expect(() => store.arm(B, job('j1'))).toThrow(ConflictError);
    expect(store.get(B)).toBeNull();
  });

  it('disarm forgets the plan, armed or consumed: back to the menu', () => {
    store.arm(A, job('j1'));
    expect(store.disarm(A)).toBe(true);
    expect(store.disarm(A)).toBe(false);
    expect(store.planFor(A)).toEqual(menuPlan());
    store.arm(A, job('j2', TOKEN2));
    store.consume(A, 'j2');
    expect(store.disarm(A)).toBe(true);
    expect(store.planFor(A)).toEqual(menuPlan());
  });

  it('disarmJob removes that job wherever it is', () => {
    store.arm(A, job('j1'));
    store.arm(B, job('j2', TOKEN2));
    expect(store.disarmJob('j1')).toBe(true);
    expect(store.disarmJob('j1')).toBe(false);
    expect(store.get(A)).toBeNull();
    expect(store.get(B)).toEqual(job('j2', TOKEN2));
  });

  it('listArmed: unconsumed plans by MAC with their arming time', () => {
    store.arm(B, localPlan());
    clock.advance(60_000);
    store.arm(A, job('j1'));
    store.arm(Mac.parse('52:54:00:00:00:01'), job('j3', TOKEN2));
    store.consume(Mac.parse('52:54:00:00:00:01'), 'j3');
    expect(store.listArmed().map((a) => [a.mac.toString(), a.plan.kind, a.createdAt.toISOString()])).toEqual([
      ['52:54:00:12:34:56', 'job', '2025-03-10T08:01:00.000Z'],
      ['52:54:00:ab:cd:ef', 'local', '2025-03-10T08:00:00.000Z'],
    ]);
  });

  it('purgeConsumed forgets consumed plans older than the limit only', () => {
    store.arm(A, job('j1'));
    store.consume(A, 'j1');
    clock.advance(3600_000);
    store.arm(B, job('j2', TOKEN2));
    store.consume(B, 'j2');
    expect(store.purgeConsumed(new Date('2025-03-10T08:30:00.000Z'))).toBe(1);
    expect(store.planFor(A)).toEqual(menuPlan());
    expect(store.planFor(B)).toEqual(localPlan());
  });

  it('concurrent consumers: exactly one wins', () => {
    store.arm(A, job('j1'));
    const other = new BootPlanStore(db, clock);
    const results = [store.consume(A, 'j1'), other.consume(A, 'j1'), store.consume(A, 'j1')];
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a tampered row is re-validated before it can reach a boot file', () => {
    store.arm(A, job('j1'));
    db.prepare("UPDATE clonage_boot_plans SET job_id = 'x init=/bin/sh' WHERE mac = ?").run(A.toString());
    expect(() => store.planFor(A)).toThrow(InputError);
  });

  it('the schema refuses incoherent rows', () => {
    const insert = db.prepare(
      'INSERT INTO clonage_boot_plans (mac, kind, job_id, token, toolkit, label, created_at, consumed_at) VALUES (?,?,?,?,?,?,?,?)',
    );
    expect(() => insert.run('x1', 'job', null, TOKEN, 'b', 'l', 't', null)).toThrow(/CHECK/);
    expect(() => insert.run('x2', 'local', null, TOKEN, null, null, 't', null)).toThrow(/CHECK/);
    expect(() => insert.run('x3', 'job', 'j9', TOKEN, 'b', 'l', 't', 't')).toThrow(/CHECK/);
    expect(() => insert.run('x4', 'reboot', null, null, null, null, 't', null)).toThrow(/CHECK/);
    expect(() => insert.run('x5', 'incomplete', null, null, null, null, 't', null)).toThrow(/CHECK/);
    expect(() => insert.run('x6', 'incomplete', 'j8', null, 'b', 'l', 't', null)).toThrow(/CHECK/);
    expect(() => insert.run('x7', 'incomplete', 'j7', null, null, null, 't', 't')).toThrow(/CHECK/);
  });

  describe('a job that left its disk partly written', () => {
    it('its consumed plan becomes "incomplete": served (not the local disk), never purged, until a new plan is armed', () => {
      store.arm(A, job('j1'));
      expect(store.markIncomplete(A, 'j1')).toBe(false); // not consumed yet: the job never ran
      store.consume(A, 'j1');
      expect(store.planFor(A)).toEqual(localPlan());
      clock.advance(60_000);
      expect(store.markIncomplete(A, 'j1')).toBe(true);
      expect(store.planFor(A)).toEqual(incompletePlan('j1'));
      expect(store.get(A)).toEqual(incompletePlan('j1'));
      expect(store.purgeConsumed(new Date('2030-01-01T00:00:00.000Z'))).toBe(0);
      expect(store.planFor(A)).toEqual(incompletePlan('j1'));
      expect(store.markIncomplete(A, 'j1')).toBe(false); // once
      // "relancer les postes en échec": the new job replaces it; it runs once, then the disk.
      store.arm(A, job('j2', TOKEN2));
      expect(store.planFor(A)).toEqual(job('j2', TOKEN2));
      expect(store.consume(A, 'j2')).toBe(true);
      expect(store.planFor(A)).toEqual(localPlan());
    });

    it('never replaces a plan armed since for that MAC, nor another MAC\'s', () => {
      store.arm(A, job('j1'));
      store.consume(A, 'j1');
      store.arm(A, job('j2', TOKEN2));
      expect(store.markIncomplete(A, 'j1')).toBe(false);
      expect(store.planFor(A)).toEqual(job('j2', TOKEN2));
      expect(store.markIncomplete(B, 'j2')).toBe(false);
      expect(() => store.markIncomplete(A, 'bad id')).toThrow(InputError);
    });

    it('disarm gives the MAC its menu back (the admin decided the disk may boot)', () => {
      store.arm(A, job('j1'));
      store.consume(A, 'j1');
      store.markIncomplete(A, 'j1');
      expect(store.disarm(A)).toBe(true);
      expect(store.planFor(A)).toEqual(menuPlan());
    });

    it('migration 2 keeps the plans of a database made by migration 1', () => {
      const old = new Database(':memory:');
      old.exec(`CREATE TABLE schema_migrations (owner TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (owner, id));
        INSERT INTO schema_migrations VALUES ('clonage.boot', 1, 'boot plans per MAC', 't');
        CREATE TABLE clonage_boot_plans (mac TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('local','menu','job')), job_id TEXT, token TEXT,
          toolkit TEXT, label TEXT, created_at TEXT NOT NULL, consumed_at TEXT);
        CREATE UNIQUE INDEX clonage_boot_plans_job ON clonage_boot_plans(job_id) WHERE job_id IS NOT NULL;`);
      old.prepare('INSERT INTO clonage_boot_plans VALUES (?,?,?,?,?,?,?,?)').run(A.toString(), 'job', 'j1', TOKEN, 'bootenv', 'clonage-receiver', 't', null);
      const s2 = new BootPlanStore(old, clock);
      expect(s2.planFor(A)).toEqual(job('j1'));
      s2.consume(A, 'j1');
      expect(s2.markIncomplete(A, 'j1')).toBe(true);
      expect(s2.planFor(A)).toEqual(incompletePlan('j1'));
      old.close();
    });
  });
});
