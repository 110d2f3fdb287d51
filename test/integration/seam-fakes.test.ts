/**
 * The module started through its composition root with the standard Broken/Empty fakes of
 * test/helpers/fakes.ts at its seams: each failure ends in a recorded, visible outcome, never
 * in a crash or a hung action.
 */
import { createFakeHost } from '../helpers/fake-host';
import { BrokenDestination, BrokenDirectory, EmptyDhcp, INTENTIONAL } from '../helpers/fakes';
import { actionState, admin } from '../helpers/actions-fixtures';
import { startTestModule } from '../helpers/test-module';

describe('the module with broken or empty seams', () => {
  it('a netlogon share that refuses everything: the domain clone fails with the reason, nothing is armed', async () => {
    const m = await startTestModule({ netlogonDestination: async () => new BrokenDestination(), emitterPollMs: 60_000 });
    try {
      const { id } = await m.parts.actions.create(admin, { type: 'clone', parcs: ['salle1'], emitter: 'pc01', receivers: ['pc02'], params: { domain: 'windows-domain' } });
      await m.parts.scheduler.tick();
      await m.parts.scheduler.idle();
      expect(actionState(m.host, id)).toBe('failed');
      expect(m.parts.bootPlans.listArmed()).toEqual([]);
      const error = (m.host.db.prepare('SELECT error FROM clonage_actions WHERE id = ?').get(id) as { error: string }).error;
      expect(error).toContain(`cannot place the emitter scripts: ${INTENTIONAL}`);
    } finally {
      await m.stop();
    }
  });

  it('a directory that does not answer: the wizard page is an error page, the module keeps serving', async () => {
    const host = createFakeHost();
    const m = await startTestModule({}, { ...host, directory: new BrokenDirectory(), cleanup: () => host.cleanup() });
    try {
      const res = await fetch(`${m.base}/modules/clonage/actions/new`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(500);
      expect(m.host.logger.lines.some((l) => l.includes('unhandled error') && l.includes(INTENTIONAL))).toBe(true);
      expect((await fetch(`${m.base}/modules/clonage/boot/ipxe`)).status).toBe(200);
    } finally {
      await m.stop();
    }
  });

  it('no DHCP reservation at all: a machine cannot be chosen (field error), nothing is stored', async () => {
    const host = createFakeHost();
    const m = await startTestModule({}, { ...host, dhcp: new EmptyDhcp(), cleanup: () => host.cleanup() });
    try {
      await expect(m.parts.actions.create(admin, { type: 'report', parcs: ['salle1'], machines: ['pc01'] })).rejects.toMatchObject({ field: 'machines' });
      expect(m.host.db.prepare('SELECT COUNT(*) AS n FROM clonage_actions').get()).toEqual({ n: 0 });
    } finally {
      await m.stop();
    }
  });
});
