import type { HostContext } from '../host/contract';
import type { Waker as ActionWaker, WakeTarget as ActionWakeTarget } from '../actions/engine/action-lifecycle';
import type { Ipv4 } from '../common/domain/ipv4';
import { parseWakeDestination, WakeOnLan } from './wake-on-lan';
import { hostInterfaces, interfaceFor, type InterfaceLister } from './wake-interface';
import { DefaultWaker, type Rebooter, type Waker } from './waker';
import { RpcReboot } from './rpc-reboot';
import { ModuleSettings } from '../settings/module-settings';

/**
 * `net rpc shutdown -r` needs an account allowed to shut the PCs down (SE3 used adminse3). Read
 * from the settings (wake.rpc.*, src/settings/accounts.ts) at each wake, so a change on the
 * configuration applies at once; absent, reboot is reported as unavailable and WoL still runs.
 */
function rpcRebooter(settings: ModuleSettings): Rebooter {
  return {
    async reboot(ip, req) {
      const credentials = settings.rpcAccount();
      if (!credentials) throw new Error('remote reboot: no account configured (Configuration page, wake.rpc.username / wake.rpc.password)');
      await new RpcReboot({ credentials }).reboot(ip, req);
    },
  };
}

/**
 * The actions' waker: Wake-on-LAN to the directed broadcasts of the PCs' subnets (from the host),
 * method from the module settings. A PC that does not wake is not an error for the action: it may
 * already be on, or be started by hand; the armed-stage timeout decides. The reason is logged and
 * thrown, so the action shows it as a warning event on that machine.
 *
 * A broadcast that no interface of this host carries is never sent (it would leave through the
 * default gateway): the `npm start` demo, whose embedded subnet 10.77.0.0/24 the host does not
 * have, therefore sends no Wake-on-LAN at all, and says so at start and on each action.
 */
export function actionWaker(host: HostContext, waker?: Waker, interfaces: InterfaceLister = hostInterfaces): ActionWaker {
  const settings = new ModuleSettings(host.settings);
  const destinations = host.network.wakeBroadcasts.map((ip) => parseWakeDestination(ip));
  if (waker === undefined) warnUnreachable(host, destinations.map((d) => d.address), interfaces);
  const real =
    waker ??
    new DefaultWaker({
      wol: new WakeOnLan({ destinations, interfaces }),
      rebooter: rpcRebooter(settings),
    });
  return {
    async wake(machine: ActionWakeTarget): Promise<{ method: string }> {
      const method = settings.wakeMethod();
      const r = await real.wake(machine, method);
      const fields = { machine: machine.name, method, wol: r.wol, reboot: r.reboot, messages: r.messages };
      if (r.ok) {
        host.logger.info('wake sent', fields);
        return { method };
      }
      host.logger.warn('wake failed', fields);
      throw new Error(r.messages.join('; '));
    },
  };
}

/** Says once at start which wake destinations no interface carries (they will never be sent). */
function warnUnreachable(host: HostContext, broadcasts: readonly Ipv4[], list: InterfaceLister): void {
  const interfaces = list();
  const missing = broadcasts.filter((b) => interfaceFor(b, interfaces) === null).map(String);
  if (missing.length === 0) return;
  host.logger.warn('Wake-on-LAN disabled for subnets this host has no interface on: nothing will be sent there', {
    broadcasts: missing,
    interfaces: interfaces.map((i) => `${i.name} ${i.address}/${i.prefix}`),
  });
}
