import type { HostContext } from '../host/contract';
import type { Waker as ActionWaker, WakeTarget as ActionWakeTarget } from '../actions/action-lifecycle';
import { parseWakeDestination, WakeOnLan } from './wake-on-lan';
import { DefaultWaker, parseWakeMethod, type Waker } from './waker';

/**
 * The actions' waker: Wake-on-LAN to the directed broadcasts of the PCs' subnets (from the host),
 * method from the module settings. A PC that does not wake is not an error for the action: it may
 * already be on, or be started by hand; the armed-stage timeout decides, and the reason is logged.
 */
export function actionWaker(host: HostContext, waker?: Waker): ActionWaker {
  const real =
    waker ??
    new DefaultWaker({
      wol: new WakeOnLan({ destinations: host.network.wakeBroadcasts.map((ip) => parseWakeDestination(ip)) }),
      // RPC reboot needs domain credentials; until the configuration page stores them, reboot is off
      rebooter: null,
    });
  return {
    async wake(machine: ActionWakeTarget): Promise<void> {
      const method = parseWakeMethod(host.settings.getOr<string>('wake.method', 'wol'));
      const r = await real.wake(machine, method);
      const fields = { machine: machine.name, method, wol: r.wol, reboot: r.reboot, messages: r.messages };
      if (r.ok) host.logger.info('wake sent', fields);
      else host.logger.warn('wake failed', fields);
    },
  };
}
