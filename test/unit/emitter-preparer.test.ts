/**
 * NetlogonEmitterPreparer with the real ActionService (fake clock, real SQLite file) and an
 * in-memory netlogon destination: tokens, idempotence, acknowledgement, cancel, timeout, cleanup.
 */
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../src/common/domain/errors';
import { GoneError } from '../../src/agent/agent-jobs';
import { hashToken } from '../../src/agent/job-identity';
import { ActionStore } from '../../src/actions/model/action-store';
import { NetlogonEmitterPreparer } from '../../src/emitter/netlogon-emitter-preparer';
import { createFakeHost } from '../helpers/fake-host';
import { actionState, admin, cloneInput, dbSnapshot, MACS } from '../helpers/actions-fixtures';
import { startTestModule } from '../helpers/test-module';
import { armedMacs, domainClone, emitterRig, type EmitterRig, MemoryDestination, newPreparer, prepRow, settle, TEMPLATES, tokensIn } from '../helpers/emitter-fixtures';

const events = (r: EmitterRig, id: string) =>
  (r.host.db.prepare('SELECT message FROM clonage_events WHERE action_id = ? ORDER BY id').all(id) as { message: string }[]).map((e) => e.message);

describe('emitter preparation (netlogon)', () => {
  let r: EmitterRig;
  beforeEach(() => {
    r = emitterRig();
  });
  afterEach(async () => {
    await r.preparer.suspend();
    r.host.cleanup();
  });

  async function startDomainClone(): Promise<string> {
    const { id } = await r.service.create(admin, domainClone());
    await r.scheduler.tick();
    await settle(r);
    return id;
  }

  it('a clone without domain preparation is armed at once: no row, no script, no wake', async () => {
    const { id } = await r.service.create(admin, cloneInput());
    await r.scheduler.tick();
    await r.scheduler.idle();
    expect(actionState(r.host, id)).toBe('armed');
    expect(prepRow(r, id)).toBeUndefined();
    expect(r.dest.puts).toBe(0);
    expect(r.woken).toEqual([]);
  });

  it('writes both scripts for the emitter, stores only SHA-256 hashes of two distinct tokens, wakes the emitter', async () => {
    const id = await startDomainClone();
    expect(actionState(r.host, id)).toBe('preparing');
    expect(armedMacs(r)).toEqual([]);
    expect([...r.dest.folders.keys()]).toEqual(['pc01']);
    const { ack, postClone } = tokensIn(r.dest);
    expect(ack).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(postClone).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ack).not.toBe(postClone);
    const row = prepRow(r, id)!;
    expect(row).toMatchObject({ ack_token_hash: hashToken(ack), postclone_token_hash: hashToken(postClone), acked_at: null, removed_at: null });
    expect(row.scripts_written_at).toBe(r.host.clock.now().toISOString());
    // The cleartext tokens are nowhere in the database.
    const dump = JSON.stringify(dbSnapshot(r.host)) + JSON.stringify(r.host.db.prepare('SELECT * FROM clonage_emitter_preparations').all());
    expect(dump).not.toContain(ack);
    expect(dump).not.toContain(postClone);
    expect(r.dest.file('pc01', 'clonage-emitter.cmd')).toContain(`set "CLONAGE_BASE=http://10.0.0.1:8080/modules/clonage"`);
    expect(r.dest.file('pc01', 'clonage-emitter.cmd')).toContain(`set "CLONAGE_ACTION=${id}"`);
    expect(r.woken).toEqual([`pc01 ${MACS.pc01} 10.0.0.11`]);
    expect(events(r, id).some((m) => m.includes('scripts for pc01 written to memory://pc01'))).toBe(true);
  });

  it('the acknowledgement arms every plan and removes the scripts; a replay is 410', async () => {
    const id = await startDomainClone();
    const { ack } = tokensIn(r.dest);
    r.preparer.acknowledge(id, ack);
    await settle(r);
    await r.scheduler.idle();
    expect(actionState(r.host, id)).toBe('armed');
    expect(armedMacs(r)).toEqual([MACS.pc01, MACS.pc02, MACS.pc03]);
    expect(r.dest.folders.size).toBe(0);
    expect(prepRow(r, id)).toMatchObject({ acked_at: r.host.clock.now().toISOString(), removed_at: r.host.clock.now().toISOString(), failure: null });
    expect(() => r.preparer.acknowledge(id, ack)).toThrow(GoneError);
    expect(events(r, id).filter((m) => m.includes('acknowledged'))).toHaveLength(1);
  });

  it('refuses a missing, malformed or wrong token, an unknown action and another action\'s token; nothing changes', async () => {
    const id = await startDomainClone();
    const { ack, postClone } = tokensIn(r.dest);
    const before = JSON.stringify([dbSnapshot(r.host), prepRow(r, id)]);
    expect(() => r.preparer.acknowledge(id, undefined)).toThrow(UnauthorizedError);
    expect(() => r.preparer.acknowledge(id, 'A'.repeat(43))).toThrow(ForbiddenError);
    expect(() => r.preparer.acknowledge(id, 'short')).toThrow(ForbiddenError);
    expect(() => r.preparer.acknowledge(id, postClone)).toThrow(ForbiddenError);
    expect(() => r.preparer.acknowledge('a_nosuchaction', ack)).toThrow(NotFoundError);
    expect(() => r.preparer.acknowledge('../../etc', ack)).toThrow(NotFoundError);
    expect(() => r.preparer.acknowledge(['a', 'b'], ack)).toThrow(NotFoundError);
    expect(JSON.stringify([dbSnapshot(r.host), prepRow(r, id)])).toBe(before);
    // Another domain clone's ack token does not acknowledge this one, nor this one's the other.
    const other = await r.service.create(admin, cloneInput({ parcs: ['salle2'], emitter: 'pc05', receivers: ['pc06'], params: { domain: 'windows-domain' } }));
    await r.scheduler.tick();
    await settle(r);
    const otherAck = tokensIn(r.dest, 'pc05').ack;
    expect(() => r.preparer.acknowledge(id, otherAck)).toThrow(ForbiddenError);
    expect(() => r.preparer.acknowledge(other.id, ack)).toThrow(ForbiddenError);
    expect(prepRow(r, id)!.acked_at).toBeNull();
    expect(prepRow(r, other.id)!.acked_at).toBeNull();
    expect(actionState(r.host, id)).toBe('preparing');
  });

  it('prepare is idempotent: a second call shares the run; a restarted preparer reuses the tokens and writes nothing', async () => {
    const id = await startDomainClone();
    const hashes = prepRow(r, id);
    const { ack } = tokensIn(r.dest);
    // A new preparer on the same database, as after a restart: same row, no new write.
    const again = new NetlogonEmitterPreparer({
      db: r.host.db, events: r.events, clock: r.host.clock, logger: r.host.logger, templates: TEMPLATES,
      baseUrl: () => 'http://10.0.0.1:8080/modules/clonage', destination: async () => r.dest, pollMs: 60_000,
    });
    const store = new ActionStore(r.host.db);
    const action = store.action(id)!;
    const emitter = store.targets(id).find((t) => t.role === 'sender')!;
    const first = again.prepare(action, emitter);
    expect(again.prepare(action, emitter)).toBe(first);
    await new Promise((res) => setImmediate(res));
    expect(r.dest.puts).toBe(1);
    expect(prepRow(r, id)).toEqual(hashes);
    again.acknowledge(id, ack);
    await expect(first).resolves.toBeUndefined();
    await again.idle();
    expect(r.dest.folders.size).toBe(0);
    // Both preparers saw the ack (the original one through the database on its next check).
    await r.preparer.suspend();
  });

  it('scripts never written (crash before the write): the next prepare makes new tokens and writes', async () => {
    r.dest.failPut = new Error('NT_STATUS_ACCESS_DENIED');
    const { id } = await r.service.create(admin, domainClone());
    // Simulate the crash: a row with hashes but no written scripts.
    r.host.db.prepare(
      "INSERT INTO clonage_emitter_preparations (action_id, emitter_target_id, ack_token_hash, postclone_token_hash) SELECT action_id, id, 'old-ack', 'old-post' FROM clonage_targets WHERE action_id = ? AND role = 'sender'",
    ).run(id);
    r.dest.failPut = null;
    await r.scheduler.tick();
    await settle(r);
    const { ack } = tokensIn(r.dest);
    expect(prepRow(r, id)).toMatchObject({ ack_token_hash: hashToken(ack) });
    expect(r.dest.puts).toBe(1);
  });

  it('a write failure fails the action with the reason; nothing is armed', async () => {
    r.dest.failPut = new Error('smbclient put: access denied');
    const { id } = await r.service.create(admin, domainClone());
    await r.scheduler.tick();
    await r.scheduler.idle();
    expect(actionState(r.host, id)).toBe('failed');
    expect(armedMacs(r)).toEqual([]);
    const error = (r.host.db.prepare('SELECT error FROM clonage_actions WHERE id = ?').get(id) as { error: string }).error;
    expect(error).toContain('cannot place the emitter scripts: smbclient put: access denied');
    expect(prepRow(r, id)).toMatchObject({ failure: expect.stringContaining('access denied') });
    expect(r.woken).toEqual([]);
  });

  it('cancel while waiting: prepare rejects, the scripts are removed, nothing armed, a late ack is refused (409)', async () => {
    const id = await startDomainClone();
    const { ack } = tokensIn(r.dest);
    await r.service.cancel(id, admin);
    await settle(r);
    await r.scheduler.idle();
    expect(actionState(r.host, id)).toBe('cancelled');
    expect(armedMacs(r)).toEqual([]);
    expect(r.dest.folders.size).toBe(0);
    expect(prepRow(r, id)).toMatchObject({ acked_at: null, failure: expect.stringContaining('cancelled') });
    expect(() => r.preparer.acknowledge(id, ack)).toThrow(ConflictError);
  });

  it('no acknowledgement before emitter.ackTimeoutMinutes: the action fails cleanly, scripts removed', async () => {
    r.host.settings.set('emitter.ackTimeoutMinutes', 30);
    const id = await startDomainClone();
    await r.scheduler.tick(r.host.clock.advanceMinutes(29));
    expect(actionState(r.host, id)).toBe('preparing');
    await r.scheduler.tick(r.host.clock.advanceMinutes(2));
    await settle(r);
    await r.scheduler.idle();
    expect(actionState(r.host, id)).toBe('failed');
    expect(armedMacs(r)).toEqual([]);
    expect(r.dest.folders.size).toBe(0);
    expect(prepRow(r, id)!.failure).toContain('more than 30 minutes');
  });

  it('a failed removal is recorded and retried by the next sweep', async () => {
    const id = await startDomainClone();
    r.dest.failRemove = new Error('NT_STATUS_IO_TIMEOUT');
    r.preparer.acknowledge(id, tokensIn(r.dest).ack);
    await settle(r);
    expect(actionState(r.host, id)).toBe('armed');
    expect(prepRow(r, id)!.removed_at).toBeNull();
    expect(events(r, id).some((m) => m.includes('could not remove the emitter scripts'))).toBe(true);
    r.dest.failRemove = null;
    await r.preparer.sweep();
    expect(r.dest.folders.size).toBe(0);
    expect(prepRow(r, id)!.removed_at).not.toBeNull();
  });

  it('module stop does not wait for a preparation waiting for its emitter; the action stays preparing', async () => {
    const dest = new MemoryDestination();
    const m = await startTestModule({ netlogonDestination: async () => dest, emitterPollMs: 60_000 });
    const { host, parts } = m;
    try {
      const { id } = await parts.actions.create(admin, domainClone());
      await parts.scheduler.tick();
      await parts.preparer.idle();
      expect(actionState(host, id)).toBe('preparing');
      await m.module.stop();
      expect(actionState(host, id)).toBe('preparing');
      expect(dest.puts).toBe(1);
      expect(dest.folders.size).toBe(1);
    } finally {
      m.server.closeAllConnections();
      await new Promise((res) => m.server.close(res));
      host.cleanup();
    }
  });

  it('suspend lets go of a waiting preparation without settling it; a new preparer resumes and finishes it', async () => {
    const id = await startDomainClone();
    const { ack } = tokensIn(r.dest);
    await r.preparer.suspend();
    const host2 = createFakeHost({ dbFile: r.host.dbFile, clock: r.host.clock });
    const r2 = emitterRig(host2, r.dest);
    try {
      await r2.scheduler.recover();
      await new Promise((res) => setImmediate(res));
      expect(r.dest.puts).toBe(1);
      r2.preparer.acknowledge(id, ack);
      await settle(r2);
      await r2.scheduler.idle();
      expect(actionState(host2, id)).toBe('armed');
      expect(r.dest.folders.size).toBe(0);
    } finally {
      await r2.preparer.suspend();
      host2.db.close();
    }
  });
});
