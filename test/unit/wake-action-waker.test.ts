import { actionWaker } from '../../src/wake/action-waker';
import { FixedWaker } from '../helpers/fakes';
import { Mac } from '../../src/common/domain/mac';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { createFakeHost, type FakeHost } from '../helpers/fake-host';

describe('the actions waker', () => {
  let host: FakeHost;
  beforeEach(() => {
    host = createFakeHost();
  });
  afterEach(() => host.cleanup());
  const machine = { name: 'pc01', mac: Mac.parse('02:00:00:00:00:01'), ip: Ipv4.parse('10.0.0.11') };

  test('a wake broadcast no interface carries: warned at start, nothing sent, the reason thrown for the action', async () => {
    // The fake host's PCs are on 10.0.0.0/24; this "server" only has loopback.
    const lo = () => [{ name: 'lo', address: Ipv4.parse('127.0.0.1'), prefix: 8 }];
    const waker = actionWaker(host, undefined, lo);
    expect(host.logger.lines.find((l) => l.includes('Wake-on-LAN disabled'))).toContain('10.0.0.255');
    await expect(waker.wake(machine)).rejects.toThrow('wol: wake 02:00:00:00:00:01: no packet sent (10.0.0.255:9: no interface of this host is on the subnet of 10.0.0.255: not sent)');
    expect(host.logger.lines.find((l) => l.includes('wake failed'))).toBeDefined();
  });

  test('uses the method of the settings', async () => {
    const rec = new FixedWaker();
    host.settings.set('wake.method', 'wol+reboot');
    await actionWaker(host, rec).wake(machine);
    expect(rec.calls).toEqual([{ name: 'pc01', mac: '02:00:00:00:00:01', ip: '10.0.0.11', method: 'wol+reboot' }]);
  });

  test('remote reboot without a configured account is logged and thrown (the action shows it), and runs no program', async () => {
    host.settings.set('wake.method', 'reboot');
    await expect(actionWaker(host).wake(machine)).rejects.toThrow(/no account configured/);
    const line = host.logger.lines.find((l) => l.includes('wake failed'));
    expect(line).toMatch(/no account configured/);
  });
});
