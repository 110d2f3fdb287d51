import type { HostContext } from '../../host/contract';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { BootPlanStore } from '../../boot/boot-plan-store';
import type { BootPlans } from './action-core';
import { type EmitterPreparer, noopWaker, type StageTimeouts, type Waker } from './action-lifecycle';
import { ActionService } from './action-service';
import type { Deployer, DeployCoordination } from './deploy-coordination';
import type { DeploySources } from '../params/deploy-params';
import { registerAgentRoutes } from '../../http/pc/agent-routes';
import { registerActionRoutes } from '../../http/admin/action-routes';
import { registerScheduleRoutes } from '../../http/admin/schedule-routes';
import { ScheduleAdmin } from './schedule-admin';
import type { JobBlocker } from '../../readiness/readiness';

/** Optional extras of an emitter preparer (src/emitter/netlogon-emitter-preparer.ts has both). */
export interface PreparerHooks {
  /** Given the service before recover(): the preparer follows action changes (cancel, timeout). */
  attach?(changes: { subscribe(actionId: string, listener: () => void): () => void }): void;
  /** On stop: lets go of preparations waiting for an acknowledgement (they resume after a restart). */
  suspend?(): Promise<void>;
}

/** What the action wiring can be given instead of its defaults (tests, other hosts). */
export interface ActionWiringOptions {
  readonly bootPlans?: BootPlans;
  /** Default: no-op (logged), until the Wake-on-LAN / RPC reboot service is wired here. */
  readonly waker?: Waker;
  readonly emitterPreparer?: EmitterPreparer & PreparerHooks;
  readonly timeouts?: Partial<StageTimeouts>;
  /** Multicast deploy: good server images, and the server-side sender (src/deploy/). */
  readonly sources?: DeploySources;
  readonly deployer?: Deployer & { attach?(coordination: DeployCoordination): void };
  /** Scheduler period; 0 disables the timer (tests call tick()). */
  readonly tickMs?: number;
  readonly heartbeatMs?: number;
  /** Why no job can run now (src/readiness/): refused in the wizard, failed unwoken at start. */
  readonly blocker?: () => Promise<JobBlocker | null>;
}

export interface ActionWiring {
  readonly service: ActionService;
  stop(): Promise<void>;
}

/**
 * Actions: service, agent endpoints, action pages, and the timer that starts due actions and
 * applies timeouts. recover() runs first so a restart never leaves plans armed for dead jobs.
 */
export async function wireActions(host: HostContext, inventory: MachineInventory, opts: ActionWiringOptions = {}): Promise<ActionWiring> {
  const waker = opts.waker ?? noopWaker;
  if (!opts.waker) host.logger.warn('actions: no waker wired, machines must be started by hand');
  const service = new ActionService({
    db: host.db,
    clock: host.clock,
    bootPlans: opts.bootPlans ?? new BootPlanStore(host.db, host.clock),
    logger: host.logger,
    machines: inventory,
    access: { parcsOf: (user) => host.web.parcsOf(user, 'parc_can_clone') },
    waker,
    emitterPreparer: opts.emitterPreparer,
    settings: host.settings,
    timeouts: opts.timeouts,
    sources: opts.sources,
    deployer: opts.deployer,
    blocker: opts.blocker,
  });
  opts.emitterPreparer?.attach?.(service);
  opts.deployer?.attach?.(service.deploy);
  registerAgentRoutes(host.web.router, service, host.logger);
  const routes = registerActionRoutes({ host, service, inventory, heartbeatMs: opts.heartbeatMs });
  registerScheduleRoutes(host, new ScheduleAdmin({ db: host.db, schedules: service.schedules, clock: host.clock, logger: host.logger,
    parcsOf: (user) => host.web.parcsOf(user, 'parc_can_clone') }));
  await service.recover(host.clock.now());
  const tick = () => service.tick(host.clock.now()).catch((e) => host.logger.error('action tick failed', { error: String((e as Error)?.stack ?? e) }));
  const tickMs = opts.tickMs ?? 15_000;
  const timer = tickMs > 0 ? setInterval(tick, tickMs) : null;
  if (timer) void tick();
  return {
    service,
    async stop() {
      if (timer) clearInterval(timer);
      routes.closeStreams();
      // Module stop: no udp-sender may outlive the module (its receivers then fail by timeout).
      await opts.deployer?.stopAll();
      // A preparation waiting for its emitter would hold the stop until the ack timeout: the
      // preparer lets go of it (without arming or failing the action) and the rest is awaited.
      const preparer = opts.emitterPreparer;
      if (preparer?.suspend) {
        const suspended = preparer.suspend();
        await Promise.race([service.idle(), suspended]);
        await suspended;
      } else await service.idle();
    },
  };
}

