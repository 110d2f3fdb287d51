import type { DeploySources } from '../actions/params/deploy-params';
import type { HostContext } from '../host/contract';
import type { ImageWiring } from '../images/wire-images';
import { DeploySender } from './deploy-sender';

/**
 * Multicast deploy wiring: the good images of the server store as deploy sources, and the
 * server-side sender (udp-sender on the interface of setting deploy.interface).
 */
export function wireDeploy(host: HostContext, images: ImageWiring): { sources: DeploySources; deployer: DeploySender } {
  const records = images.service.records;
  const sources: DeploySources = {
    hasGoodImage: (mac, image) => image !== '' && records.forRestore(mac, image)?.image === image,
    list: () => records.allSucceeded().filter((r) => r.location === 'server'),
  };
  const deployer = new DeploySender({ store: images.store, clock: host.clock, logger: host.logger, settings: host.settings });
  return { sources, deployer };
}
