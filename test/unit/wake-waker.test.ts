import { InputError } from '../../src/common/domain/errors';
import { Hostname } from '../../src/common/domain/hostname';
import { Ipv4 } from '../../src/common/domain/ipv4';
import { Mac } from '../../src/common/domain/mac';
import { SambaCommandError } from '../../src/samba/samba-command';
import type { RebootRequest } from '../../src/wake/rpc-reboot';
import { SecureOnPassword, WakeError } from '../../src/wake/wake-on-lan';
import { DefaultWaker, parseWakeMethod, type Rebooter, type WakeMethod, type WolSender } from '../../src/wake/waker';

const target = { mac: Mac.parse('52:54:00:00:00:07'), ip: Ipv4.parse('10.77.0.7'), name: Hostname.parse('pc07') };

function parts(wolOk: boolean, rebootOk: boolean) {
  const log: string[] = [];
  const wol: WolSender = {
    wake: async (mac, opts) => {
      log.push(`wol ${mac} ${opts?.secureOn ? 'secureon' : ''}`.trim());
      if (!wolOk) throw new WakeError('no packet could be sent', { mac: mac.toString(), packetsSent: 0, failures: [] });
      return { mac: mac.toString(), packetsSent: 3, failures: [] };
    },
  };
  const rebooter: Rebooter = {
    reboot: async (ip: Ipv4, req?: RebootRequest) => {
      log.push(`reboot ${ip} ${req?.delaySeconds ?? ''}`.trim());
      if (!rebootOk) throw new SambaCommandError('net rpc shutdown', 'unreachable', 'NT_STATUS_IO_TIMEOUT', 255);
    },
  };
  return { log, wol, rebooter };
}

describe('DefaultWaker', () => {
  it.each<[WakeMethod, boolean, boolean, string[], boolean]>([
    ['wol', true, true, ['wol 52:54:00:00:00:07'], true],
    ['wol', false, true, ['wol 52:54:00:00:00:07'], false],
    ['reboot', true, true, ['reboot 10.77.0.7 20'], true],
    ['reboot', true, false, ['reboot 10.77.0.7 20'], false],
    // A PC that is off cannot take the reboot: the magic packet alone is a success, and vice versa.
    ['wol+reboot', true, false, ['wol 52:54:00:00:00:07', 'reboot 10.77.0.7 20'], true],
    ['wol+reboot', false, true, ['wol 52:54:00:00:00:07', 'reboot 10.77.0.7 20'], true],
    ['wol+reboot', false, false, ['wol 52:54:00:00:00:07', 'reboot 10.77.0.7 20'], false],
  ])('%s (wol ok=%s, reboot ok=%s)', async (method, wolOk, rebootOk, calls, ok) => {
    const p = parts(wolOk, rebootOk);
    const waker = new DefaultWaker({ wol: p.wol, rebooter: p.rebooter, rebootRequest: { delaySeconds: 20 } });
    const r = await waker.wake(target, method);
    expect(p.log).toEqual(calls);
    expect(r.ok).toBe(ok);
    expect(r.name).toBe('pc07');
    expect(r.method).toBe(method);
    expect(r.wol).toBe(method === 'reboot' ? 'skipped' : wolOk ? 'done' : 'failed');
    expect(r.reboot).toBe(method === 'wol' ? 'skipped' : rebootOk ? 'done' : 'failed');
    if (!ok) expect(r.messages.join(' ')).toMatch(/no packet|unreachable/);
  });

  it('fails a reboot clearly when no account is configured', async () => {
    const p = parts(true, true);
    const r = await new DefaultWaker({ wol: p.wol, rebooter: null }).wake(target, 'reboot');
    expect(r).toMatchObject({ ok: false, reboot: 'failed', messages: ['reboot: no account is configured for remote reboot'] });
  });

  it('passes the per-MAC SecureOn password', async () => {
    const p = parts(true, true);
    const waker = new DefaultWaker({ wol: p.wol, rebooter: null, secureOnFor: () => SecureOnPassword.parse('010203040506') });
    await waker.wake(target, 'wol');
    expect(p.log).toEqual(['wol 52:54:00:00:00:07 secureon']);
  });

  it('parses the method setting', () => {
    expect(parseWakeMethod('wol+reboot')).toBe('wol+reboot');
    expect(() => parseWakeMethod('shutdown')).toThrow(InputError);
  });
});
