import type { HostContext } from '../host/contract';
import type { Waker as ActionWaker, WakeTarget as ActionWakeTarget } from '../actions/engine/action-lifecycle';
import { parseWakeDestination, WakeOnLan } from './wake-on-lan';
import { DefaultWaker, parseWakeMethod, type Rebooter, type Waker } from './waker';
import { RpcReboot } from './rpc-reboot';
import { parseSambaCredentials } from '../samba/samba-command';

/**
 * `net rpc shutdown -r` needs an account allowed to shut the PCs down (SE3 used adminse3). Read
 * from the settings `wake.rpc.username`, `.password`, `.domain` at each wake, so a change on the
 * configuration applies at once; absent, reboot is reported as unavailable and WoL still runs.
 */
function rpcRebooter(host: HostContext): Rebooter {
  return {
    async reboot(ip, req) {
      const username = host.settings.get<string>('wake.rpc.username');
      if (!username) throw new Error('remote reboot: no account configured (settings wake.rpc.username / wake.rpc.password)');
      const credentials = parseSambaCredentials({
        username,
        password: host.settings.get<string>('wake.rpc.password'),
        domain: host.settings.get<string>('wake.rpc.domain'),
      });
      await new RpcReboot({ credentials }).reboot(ip, req);
    },
  };
}

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
      rebooter: rpcRebooter(host),
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
