/**
 * The module's composition root, and its only entry point: the host calls register() when the
 * module is enabled and stop() on the returned instance when it is disabled or shuts down.
 * Tests and benchmarks start the module here too, with `overrides` for what cannot be real in
 * them (a waker that sends no packet, a netlogon share, a spawn port, a stopped timer).
 *
 * Read it top to bottom: every service is built once, after what it needs (no back-reference is
 * set later), then every router is mounted in one list, then the scheduler starts.
 */
import path from 'node:path';
import type { HostContext, ModuleInstance } from './host/contract';
import { migrateClonage } from './store/clonage-schema';
import { MachineInventory } from './inventory/machine-inventory';
import { BootPlanStore } from './boot/boot-plan-store';
import { BootService } from './boot/boot-service';
import { ToolkitRegistry } from './toolkits/toolkit-registry';
import { ToolkitInstaller } from './toolkits/toolkit-installer';
import { ActionCore, type BootPlans } from './actions/engine/action-core';
import { actionEvents, type ActionEvents } from './actions/engine/ports';
import { DeployCoordination, type Deployer } from './actions/engine/deploy-coordination';
import type { StageTimeouts, Waker } from './actions/engine/action-lifecycle';
import type { ActionSchedules } from './actions/engine/action-schedules';
import type { ActionService } from './actions/engine/action-service';
import type { Scheduler } from './actions/engine/scheduler';
import { actionEngine } from './actions/engine/action-engine';
import type { DeploySources } from './actions/params/deploy-params';
import { imageChecks } from './images/image-checks';
import { AgentJobs } from './agent/agent-jobs';
import { jobBlocker, type JobBlocker, Readiness } from './readiness/readiness';
import { gatherReadinessFacts } from './readiness/readiness-facts';
import { ImageLibrary } from './images/image-library';
import { ScheduleAdmin } from './actions/engine/schedule-admin';
import { registerImageLibraryRoutes } from './http/admin/image-library-routes';
import { registerScheduleRoutes } from './http/admin/schedule-routes';
import { ImageService } from './images/image-service';
import { ImageStore, type ImageStoreOptions } from './images/image-store';
import { DeploySender } from './deploy/deploy-sender';
import { NetlogonEmitterPreparer } from './emitter/netlogon-emitter-preparer';
import { PostCloneService } from './emitter/postclone-service';
import { loadNetlogonTemplates } from './emitter/netlogon-template';
import { netlogonDestinationFrom } from './emitter/emitter-settings';
import { ModuleSettings } from './settings/module-settings';
import type { NetlogonDestination } from './emitter/netlogon-writer';
import { actionWaker } from './wake/action-waker';
import { registerPageRoutes } from './http/admin/page-routes';
import { registerConfigRoutes } from './http/admin/config-routes';
import { registerActionRoutes } from './http/admin/action-routes';
import { ActionStreams } from './http/admin/sse-stream';
import { AGENT_BASE_PATH, agentRouter } from './http/pc/agent-routes';
import { imageRouter } from './http/pc/image-routes';
import { EMITTER_BASE_PATH, emitterAckRouter, POSTCLONE_BASE_PATH, postCloneRouter } from './http/pc/emitter-routes';
import { BOOT_BASE_PATH, bootRouter } from './http/pc/boot-routes';
import { errorMiddleware } from './http/error-middleware';
import { ApiTokens } from './http/api/api-tokens';
import { API_BASE_PATH, apiRouter } from './http/api/api-router';
import { registerTokenRoutes } from './http/admin/token-routes';

/** What a test or another host may put in place of the defaults. */
export interface ModuleOverrides {
  /** Boot plans the actions arm (default: the boot service's store, on the host's database). */
  readonly bootPlans?: BootPlans;
  /** Default: Wake-on-LAN / RPC reboot from the settings (src/wake/). */
  readonly waker?: Waker;
  /** Where emitter scripts go; default: from the settings (netlogon.destination …), read at each use. */
  readonly netlogonDestination?: () => Promise<NetlogonDestination>;
  readonly emitterPollMs?: number;
  /** The server-side multicast sender; default: udp-sender (src/deploy/deploy-sender.ts). */
  readonly deployer?: (coordination: DeployCoordination, store: ImageStore) => Deployer;
  readonly imageStore?: Partial<Omit<ImageStoreOptions, 'root'>>;
  readonly timeouts?: Partial<StageTimeouts>;
  /** Why no job can run now; default: the readiness checks (src/readiness/: job environment, loaders…). */
  readonly blocker?: () => Promise<JobBlocker | null>;
  /** Scheduler period; 0 starts no timer (tests call parts.scheduler.tick()). Default 15 s. */
  readonly tickMs?: number;
  /** Live action pages: SSE keep-alive and coalescing periods. */
  readonly heartbeatMs?: number;
  readonly streamThrottleMs?: number;
}

/** Every service of a running module, for tests and benchmarks that drive it. */
export interface ModuleParts {
  readonly inventory: MachineInventory;
  readonly bootPlans: BootPlanStore;
  readonly boot: BootService;
  readonly toolkits: ToolkitRegistry;
  readonly readiness: Readiness;
  readonly core: ActionCore;
  readonly events: ActionEvents;
  readonly agent: AgentJobs;
  readonly deploy: DeployCoordination;
  readonly imageStore: ImageStore;
  readonly images: ImageService;
  readonly sources: DeploySources;
  readonly deployer: Deployer;
  readonly preparer: NetlogonEmitterPreparer;
  readonly postClone: PostCloneService;
  readonly schedules: ActionSchedules;
  readonly scheduler: Scheduler;
  readonly actions: ActionService;
  readonly streams: ActionStreams;
}

export interface RunningModule extends ModuleInstance {
  readonly parts: ModuleParts;
}

export async function register(host: HostContext, overrides: ModuleOverrides = {}): Promise<RunningModule> {
  const { db, clock, logger } = host;
  // Every setting through the schemas of src/settings/ (typed, declared once).
  const settings = new ModuleSettings(host.settings);
  migrateClonage(db);

  // The action engine's shared core and the ports other features use. The boot side needs
  // AgentJobs (which client may read a job's boot file), so they come first.
  const inventory = new MachineInventory(host.directory, host.dhcp);
  const bootPlans = new BootPlanStore(db, clock);
  const core = new ActionCore(db, clock, overrides.bootPlans ?? bootPlans, logger);
  const events = actionEvents(core);
  const agent = new AgentJobs(core, () => settings.udpcastTuning(), () => settings.addressCheck());
  const deploy = new DeployCoordination(core);

  // Booting: boot root, TFTP (started first: a PC may be booting right now).
  const toolkits = new ToolkitRegistry(path.join(host.dataDir, 'toolkits'));
  const boot = new BootService({ host, settings, plans: bootPlans, toolkits, guard: (jobId, address, via) => agent.bootFileAllowed(jobId, address, via) });
  await boot.start();
  try {
    const installer = new ToolkitInstaller({
      toolkitsDir: toolkits.dir, moduleRoot: host.moduleRoot, clock, logger, onChange: () => boot.refreshBootRoot(),
    });

    // Features, each given the ports it needs.
    const imageStore = new ImageStore({ root: path.join(host.dataDir, 'images'), ...overrides.imageStore });
    const images = new ImageService({ db, clock, logger, store: imageStore, settings, authority: agent, actions: core.store });
    const sources: DeploySources = {
      hasGoodImage: (mac, image) => image !== '' && images.records.forRestore(mac, image)?.image === image,
      list: () => images.records.allSucceeded().filter((r) => r.location === 'server'),
    };
    const readiness = new Readiness(() => gatherReadinessFacts({
      toolkits, settings, bootModes: () => boot.readiness().modes, tftpPort: () => boot.tftpPort, dhcp: host.dhcp,
      imageRoot: imageStore.root, reserveBytes: imageStore.reserveBytes,
    }));
    const deployer = overrides.deployer?.(deploy, imageStore) ?? new DeploySender({ coordination: deploy, store: imageStore, clock, logger, settings });
    const waker = overrides.waker ?? actionWaker(host);
    const preparer = new NetlogonEmitterPreparer({
      db, events, clock, logger,
      templates: loadNetlogonTemplates(host.moduleRoot),
      baseUrl: () => `${host.network.publicBaseUrl.replace(/\/+$/, '')}${host.web.mountPath}`,
      destination: overrides.netlogonDestination ?? (() => netlogonDestinationFrom(settings, host.dataDir)),
      scriptOptions: () => settings.emitterScript(),
      wakeEmitter: async (m) => void (await waker.wake(m)),
      pollMs: overrides.emitterPollMs,
    });
    const postClone = new PostCloneService({ db, events, clock, logger, dhcp: host.dhcp, settings });

    // The engine: lifecycle and scheduler (the timer), and the page commands.
    const { schedules, scheduler, service: actions } = actionEngine({
      core, deploy, clock, logger, settings, waker, emitterPreparer: preparer, deployer, sources, checks: imageChecks(db), timeouts: overrides.timeouts,
      blocker: overrides.blocker ?? (async () => jobBlocker(await readiness.facts())),
      machines: inventory, access: { parcsOf: (user) => host.web.parcsOf(user, 'parc_can_clone') },
    });
    const scheduleAdmin = new ScheduleAdmin({ db, schedules, clock, logger, parcsOf: (user) => host.web.parcsOf(user, 'parc_can_clone') });
    const library = new ImageLibrary({ db, store: imageStore, clock, logger, settings });
    const tokens = new ApiTokens(db, clock, logger);
    const streams = new ActionStreams(actions, { heartbeatMs: overrides.heartbeatMs, throttleMs: overrides.streamThrottleMs });

    // Every route of the module. PCs (no session, text/plain, src/http/pc/):
    const router = host.web.router;
    router.use(AGENT_BASE_PATH, agentRouter(agent, logger, {
      images: imageRouter(images, logger),
      // A job's result ends it: staging folders of jobs that no longer run go (a backup that failed half-way).
      afterResult: () => void images.sweep().catch((e) => logger.warn('image store sweep failed', { error: String(e) })),
    }));
    router.use(EMITTER_BASE_PATH, emitterAckRouter(preparer, logger));
    router.use(POSTCLONE_BASE_PATH, postCloneRouter(postClone, logger));
    router.use(BOOT_BASE_PATH, bootRouter({ plans: boot.plansForClients, menuSettings: boot.menuSettings, toolkitsDir: boot.toolkitsDir, logger }));
    // Admin pages (the host's session, rights and CSRF, src/http/admin/):
    registerPageRoutes({ host, inventory });
    registerActionRoutes({ host, service: actions, scheduler, inventory, sources, streams, library });
    registerScheduleRoutes(host, scheduleAdmin);
    registerImageLibraryRoutes({ host, library, inventory });
    registerConfigRoutes(host, toolkits, installer, readiness, boot);
    registerTokenRoutes(host, tokens);
    // The REST API (API tokens, or a session with its CSRF header; JSON errors; src/http/api/):
    router.use(API_BASE_PATH, apiRouter({
      web: host.web, db, tokens, inventory, readiness, actions, store: core.store, scheduler, streams, library, schedules: scheduleAdmin,
      onTickError: (e) => logger.error('tick after an API call failed', { error: String(e) }),
    }));
    router.use(errorMiddleware(host.web, logger));

    // Start: a restart never leaves plans armed for dead jobs, then the timer.
    await scheduler.recover(clock.now());
    void preparer.sweep();
    void images.sweep().catch((e) => logger.warn('image store sweep failed', { error: String(e) }));
    scheduler.start(overrides.tickMs ?? settings.actions().checkSeconds * 1000);
    logger.info('clonage module started');

    const parts: ModuleParts = {
      inventory, bootPlans, boot, toolkits, readiness, core, events, agent, deploy, imageStore, images, sources, deployer,
      preparer, postClone, schedules, scheduler, actions, streams,
    };
    return {
      parts,
      async stop() {
        scheduler.stop();
        streams.closeAll();
        // No udp-sender may outlive the module (its receivers then fail by timeout).
        await deployer.stopAll();
        // A preparation waiting for its emitter would hold the stop until the ack timeout: the
        // preparer lets go of it (without arming or failing the action) and the rest is awaited.
        const suspended = preparer.suspend();
        await Promise.race([scheduler.idle(), suspended]);
        await suspended;
        await boot.stop();
        logger.info('clonage module stopped');
      },
    };
  } catch (e) {
    await boot.stop();
    throw e;
  }
}
