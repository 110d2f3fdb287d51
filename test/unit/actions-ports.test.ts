import Database from 'better-sqlite3';
import { ConflictError } from '../../src/common/domain/errors';
import { firstFreeEvenPort, insertWithFreePort } from '../../src/actions/engine/port-allocation';
import { ActionStore } from '../../src/actions/model/action-store';
import { migrateClonage } from '../../src/store/clonage-schema';
import { createFakeHost } from '../helpers/fake-host';
import { admin, cloneInput, makeService, rig } from '../helpers/actions-fixtures';

/** A lab of 40 clone groups (one sender, one receiver each) so many clones can be active at once. */
const BIG_LAB = {
  big: Array.from({ length: 80 }, (_, i) => ({
    name: `b${String(i).padStart(2, '0')}`,
    mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`,
    ip: `10.0.1.${i + 10}`,
  })),
};
const pair = (i: number) => cloneInput({ parcs: ['big'], emitter: BIG_LAB.big[2 * i].name, receivers: [BIG_LAB.big[2 * i + 1].name] });

function insertPort(db: Database.Database, id: string, port: number, state = 'scheduled'): void {
  db.prepare(`INSERT INTO clonage_actions (id, type, state, params_json, parcs_json, created_by, created_at, start_at, port)
    VALUES (?, 'clone', ?, '{}', '[]', 't', 'x', 'x', ?)`).run(id, state, port);
}

describe('port allocation', () => {
  it('takes the first even port ≥ 9002 that is free', () => {
    expect(firstFreeEvenPort(new Set())).toBe(9002);
    expect(firstFreeEvenPort(new Set([9002, 9004, 9008]))).toBe(9006);
  });

  it('ignores ports of finished actions', () => {
    const db = new Database(':memory:');
    migrateClonage(db);
    insertPort(db, 'a1', 9002, 'succeeded');
    insertPort(db, 'a2', 9004, 'running');
    expect([...new ActionStore(db).activePorts()]).toEqual([9004]);
    expect(firstFreeEvenPort(new ActionStore(db).activePorts())).toBe(9002);
  });

  it('retries when the UNIQUE index refuses a port another writer took', () => {
    const db = new Database(':memory:');
    migrateClonage(db);
    insertPort(db, 'other', 9002);
    const picks = [9002, 9002, 9004];
    const port = insertWithFreePort(new ActionStore(db), (p) => {
      insertPort(db, 'mine', p);
      return p;
    }, () => picks.shift()!);
    expect(port).toBe(9004);
    expect(picks).toEqual([]);
  });

  it('gives up with a ConflictError when it keeps colliding', () => {
    const db = new Database(':memory:');
    migrateClonage(db);
    insertPort(db, 'other', 9002);
    expect(() => insertWithFreePort(new ActionStore(db), (p) => insertPort(db, 'mine', p), () => 9002)).toThrow(ConflictError);
  });

  it('concurrent creates never share a port, across two connections to the same file', async () => {
    const one = rig({}, createFakeHost({ lab: BIG_LAB }));
    const twoHost = createFakeHost({ lab: BIG_LAB, dbFile: one.host.dbFile });
    const two = makeService(twoHost);
    try {
      const created = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? two.service : one.service).create(admin, pair(i))),
      );
      const ports = one.host.db.prepare('SELECT port FROM clonage_actions').all() as { port: number }[];
      expect(created).toHaveLength(40);
      expect(new Set(ports.map((p) => p.port)).size).toBe(40);
      expect(Math.min(...ports.map((p) => p.port))).toBe(9002);
      expect(ports.every((p) => p.port % 2 === 0)).toBe(true);
    } finally {
      twoHost.cleanup();
      one.host.cleanup();
    }
  });

  it('reuses the port of a finished clone', async () => {
    const { host, service } = rig();
    try {
      const a = await service.create(admin, cloneInput());
      await service.cancel(a.id, admin);
      const b = await service.create(admin, cloneInput());
      const port = (id: string) => (host.db.prepare('SELECT port FROM clonage_actions WHERE id = ?').get(id) as { port: number }).port;
      expect(port(a.id)).toBe(9002);
      expect(port(b.id)).toBe(9002);
    } finally {
      host.cleanup();
    }
  });
});
