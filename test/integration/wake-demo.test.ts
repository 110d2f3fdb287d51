/**
 * The `npm start` demo and Wake-on-LAN (issue 12): the embedded defaults aim at 10.77.0.255, the
 * directed broadcast of a subnet this host does not have. Sent anyway, the datagram would be an
 * ordinary unicast for the default gateway and leave the machine. The real shell, started on
 * exactly those network defaults, must send nothing: a warning at start, and on the action a
 * warning event saying why its machine was not woken.
 *
 * If the test host really is on 10.77.0.0/24 (a lab bridge), that is the PCs' network and sending
 * there is right: the test then has nothing to prove and says so.
 */
import { Ipv4 } from '../../src/common/domain/ipv4';
import { defaultConfig } from '../../src/shell/config';
import { hostInterfaces, interfaceFor } from '../../src/wake/wake-interface';
import { Client, createAction, installFakeToolkit, until } from '../helpers/hostile';
import { APP_ROOT, startTestShell, type TestShell } from '../helpers/test-shell';

const demo = defaultConfig(APP_ROOT);
const onDemoSubnet = interfaceFor(Ipv4.parse('10.77.0.255'), hostInterfaces()) !== null;

(onDemoSubnet ? describe.skip : describe)('Wake-on-LAN with the embedded demo network defaults', () => {
  let shell: TestShell;

  beforeAll(async () => {
    // The demo's own network section: no loopback wakeBroadcasts override as other test shells have.
    expect(demo.network.wakeBroadcasts).toBeUndefined();
    shell = await startTestShell({ network: demo.network }, { autoEnable: ['clonage'], beforeStart: installFakeToolkit });
  });
  afterAll(() => shell.stopAndClean());

  it('warns at start that nothing will be sent to 10.77.0.255', () => {
    const line = shell.logLines.find((l) => l.includes('Wake-on-LAN disabled'));
    expect(line).toContain('"level":"warn"');
    expect(line).toContain('10.77.0.255');
  });

  it('sends no magic packet for an action and shows why on the action', async () => {
    const admin = await Client.as(shell.url, 'admin');
    const id = await createAction(admin, { type: 'backup', parc: 'salle101', machine: ['s101-pc04'] });
    const events = () =>
      shell.db.prepare("SELECT level, message FROM clonage_events WHERE action_id = ? AND message LIKE '%wake failed%'").all(id) as { level: string; message: string }[];
    await until(() => events().length > 0, 'the wake warning on the action', 20_000);
    expect(events()).toEqual([
      {
        level: 'warn',
        message: 's101-pc04: wake failed (wol: wake 52:54:00:12:00:0e: no packet sent (10.77.0.255:9: no interface of this host is on the subnet of 10.77.0.255: not sent)); start it by hand',
      },
    ]);
    expect(shell.logLines.some((l) => l.includes('"msg":"wake sent"'))).toBe(false);
    expect(shell.logLines.filter((l) => l.includes('"msg":"wake failed"'))).toHaveLength(1);
  });
});
