/**
 * Emitter preparation for clones of Windows domain PCs (docs/emitter-preparation.md): the
 * EmitterPreparer the action service calls, the post-clone service, and their HTTP endpoints.
 */
import type { HostContext } from '../host/contract';
import { registerEmitterRoutes } from '../http/pc/emitter-routes';
import type { NetlogonDestination } from './netlogon-writer';
import { loadNetlogonTemplates } from './netlogon-template';
import { netlogonDestinationFrom, scriptOptionsFrom } from './emitter-settings';
import { type EmitterMachine, NetlogonEmitterPreparer } from './netlogon-emitter-preparer';
import { PostCloneService } from './postclone-service';

export { NetlogonEmitterPreparer, SCRIPT_NAMES } from './netlogon-emitter-preparer';
export type { ActionChanges, EmitterMachine, NetlogonEmitterPreparerDeps } from './netlogon-emitter-preparer';
export { PostCloneService } from './postclone-service';
export { PreparationStore } from './preparation-store';
export type { PreparationRow } from './preparation-store';
export { joinCredentialsFrom, netlogonDestinationFrom, postCloneValidHours, scriptOptionsFrom } from './emitter-settings';

export interface EmitterPreparationOptions {
  /** Starts or reboots the emitter once its scripts are placed (the host's waker). */
  readonly wakeEmitter?: (machine: EmitterMachine) => Promise<void>;
  /** Default: from the settings (netlogon.destination …), read at each use. */
  readonly destination?: () => Promise<NetlogonDestination>;
  readonly pollMs?: number;
}

export interface EmitterPreparation {
  readonly preparer: NetlogonEmitterPreparer;
  readonly postClone: PostCloneService;
  /** Mounts /api/emitter and /api/postclone on the module router. */
  registerRoutes(): void;
}

export function createEmitterPreparation(host: HostContext, opts: EmitterPreparationOptions = {}): EmitterPreparation {
  const preparer = new NetlogonEmitterPreparer({
    db: host.db,
    clock: host.clock,
    logger: host.logger,
    templates: loadNetlogonTemplates(host.moduleRoot),
    baseUrl: () => `${host.network.publicBaseUrl.replace(/\/+$/, '')}${host.web.mountPath}`,
    destination: opts.destination ?? (() => netlogonDestinationFrom(host.settings, host.dataDir)),
    scriptOptions: () => scriptOptionsFrom(host.settings),
    wakeEmitter: opts.wakeEmitter,
    pollMs: opts.pollMs,
  });
  const postClone = new PostCloneService({ db: host.db, clock: host.clock, logger: host.logger, dhcp: host.dhcp, settings: host.settings });
  return {
    preparer,
    postClone,
    registerRoutes: () => registerEmitterRoutes(host.web.router, { emitter: preparer, postClone, logger: host.logger }),
  };
}
