/**
 * Issue 12, item 3: a schedule re-checks its creator's rights and its parc's machines at every
 * run. When they no longer hold, the run is skipped, the schedule disabled, and an event (on its
 * last action, in the reader's language) and the log say why. A machine whose reservation moved
 * to another address is run on the new address, never on the one resolved at creation.
 */
import { Ipv4 } from '../../src/common/domain/ipv4';
import { MemoryDhcp } from '../helpers/fake-host';
import { admin, prof, rig, type Rig } from '../helpers/actions-fixtures';
import { moduleTranslator, translateRef } from '../../src/i18n/module-messages';
import { ActionStore } from '../../src/actions/model/action-store';

describe('schedules re-check rights and machines at every run', () => {
  let r: Rig;
  /** What parcsOf answers for prof (the fake host's delegation, changeable per test). */
  let profParcs: 'all' | string[];

  beforeEach(() => {
    profParcs = ['salle2'];
    r = rig({ access: { parcsOf: async (u) => (u.login === 'prof' ? profParcs : u.login === 'admin' ? 'all' : []) } });
    r.host.clock.set('2025-03-12T17:00:00Z');
  });
  afterEach(() => r.host.cleanup());

  const dhcp = () => r.host.dhcp as MemoryDhcp;
  const actions = () => r.host.db.prepare('SELECT id, schedule_id FROM clonage_actions ORDER BY created_at, rowid').all() as { id: string; schedule_id: string }[];
  const events = (actionId: string) => new ActionStore(r.host.db).events(actionId);
  const nextDay = async (day: number) => {
    r.host.clock.set(`2025-03-${day}T18:00:30Z`);
    await r.scheduler.tick(r.host.clock.now());
  };
  async function weekly(user = prof, machines = ['pc05', 'pc06']) {
    const c = await r.service.create(user, { type: 'report', parcs: ['salle2'], machines, start: 'cron', cron: '0 18 * * *' });
    expect(c.kind).toBe('schedule');
    return c.id;
  }

  it('runs while the rights and machines hold; after the delegation is removed the run is skipped and the schedule disabled, with why', async () => {
    const id = await weekly();
    await nextDay(12);
    expect(actions()).toHaveLength(1);
    const first = actions()[0].id;
    await r.service.cancel(first, admin);
    profParcs = []; // the parc delegation was taken away
    await nextDay(13);
    expect(actions()).toHaveLength(1); // no new action
    const s = r.schedules.get(id)!;
    expect(s.enabled).toBe(false);
    expect(s.disabledReason).toBe('prof may no longer act on salle2');
    const ev = events(first).at(-1)!;
    expect([ev.level, ev.message]).toEqual(['warn', `schedule ${id} disabled, run of 2025-03-13T18:00:30.000Z skipped: prof may no longer act on salle2`]);
    expect(translateRef(moduleTranslator('fr'), ev.ref!)).toContain('n’a plus le droit d’agir sur salle2');
    expect(r.host.logger.lines.some((l) => l.includes(`schedule ${id} disabled`))).toBe(true);
    // Disabled: later due times do nothing, even with the rights back.
    profParcs = ['salle2'];
    await nextDay(14);
    expect(actions()).toHaveLength(1);
  });

  it('a machine that left the parc or lost its reservation: skipped and disabled; a moved reservation is followed', async () => {
    const id = await weekly(admin);
    const pc06 = dhcp().reservations.findIndex((x) => x.name.toString() === 'pc06');
    dhcp().reservations[pc06] = { ...dhcp().reservations[pc06], ip: Ipv4.parse('10.0.0.66') };
    await nextDay(12);
    const [a] = actions();
    const ips = r.host.db.prepare('SELECT name, ip FROM clonage_targets WHERE action_id = ? ORDER BY name').all(a.id);
    expect(ips).toEqual([{ name: 'pc05', ip: '10.0.0.15' }, { name: 'pc06', ip: '10.0.0.66' }]);
    r.host.db.prepare("UPDATE clonage_targets SET state = 'succeeded'").run();
    r.host.db.prepare("UPDATE clonage_actions SET state = 'succeeded'").run();
    dhcp().reservations.splice(pc06, 1); // pc06 is no longer selectable
    await nextDay(13);
    expect(actions()).toHaveLength(1);
    const s = r.schedules.get(id)!;
    expect([s.enabled, s.disabledReason]).toEqual([false, 'pc06 no longer in salle2 with the same MAC and a DHCP reservation']);
    expect(events(a.id).at(-1)!.ref?.key).toBe('event.schedule.machinesChanged');
  });
});
