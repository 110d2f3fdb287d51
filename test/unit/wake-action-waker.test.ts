import { actionWaker } from '../../src/wake/action-waker';
import { RecordingWaker } from '../../src/wake/waker';
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

  test('uses the method of the settings', async () => {
    const rec = new RecordingWaker();
    host.settings.set('wake.method', 'wol+reboot');
    await actionWaker(host, rec).wake(machine);
    expect(rec.calls).toEqual([{ name: 'pc01', mac: '02:00:00:00:00:01', ip: '10.0.0.11', method: 'wol+reboot' }]);
  });

  test('remote reboot without a configured account is reported, not thrown, and runs no program', async () => {
    host.settings.set('wake.method', 'reboot');
    await actionWaker(host).wake(machine);
    const line = host.logger.lines.find((l) => l.includes('wake failed'));
    expect(line).toMatch(/no account configured/);
  });
});
