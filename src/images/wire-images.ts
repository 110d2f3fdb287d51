import { join } from 'node:path';
import type { HostContext } from '../host/contract';
import { registerImageRoutes } from '../http/pc/image-routes';
import { ImageService, type JobAuthority } from './image-service';
import { ImageStore, type ImageStoreOptions } from './image-store';

export interface ImageWiring {
  readonly service: ImageService;
  readonly store: ImageStore;
  /** The action service, once it exists: image calls are refused (409) until then. */
  attach(authority: JobAuthority): void;
}

/**
 * The server image store under <dataDir>/images and its agent endpoints. Call before wireActions:
 * these routes must be mounted before the agent router's catch-all. Leftover uploads of backups
 * that no longer run are swept at start (in the background) and then at most once a minute.
 */
export function wireImages(host: HostContext, opts: Partial<ImageStoreOptions> = {}): ImageWiring {
  const store = new ImageStore({ root: join(host.dataDir, 'images'), ...opts });
  const service = new ImageService({ db: host.db, clock: host.clock, logger: host.logger, store, settings: host.settings });
  registerImageRoutes(host.web.router, service, host.logger);
  return {
    service,
    store,
    attach(authority) {
      service.attach(authority);
      void service.sweep().catch((e) => host.logger.warn('image store sweep failed', { error: String(e) }));
    },
  };
}
