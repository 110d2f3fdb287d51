/**
 * The action engine assembled from its core and the features it drives: the lifecycle (stages
 * through time), the scheduler (the timer) and the page commands, all on one ActionCore. The
 * composition root (src/index.ts) builds the core and the features first, then this; the
 * engine's unit tests build it the same way with fakes for the features.
 */
import type { Clock, Logger } from '../../host/contract';
import type { ModuleSettings } from '../../settings/module-settings';
import type { ActionCore } from './action-core';
import { ActionLifecycle, type EmitterPreparer, type StageTimeouts, type Waker } from './action-lifecycle';
import { ActionSchedules } from './action-schedules';
import { type ActionAccess, ActionService } from './action-service';
import type { DeployCoordination, Deployer } from './deploy-coordination';
import { Scheduler, stageTimeouts } from './scheduler';
import type { MachineSource } from '../params/action-request';
import type { ImageChecks } from '../params/image-choice';
import type { DeploySources } from '../params/deploy-params';
import type { JobBlocker } from '../../readiness/readiness';

export interface ActionEngineDeps {
  readonly core: ActionCore;
  readonly deploy: DeployCoordination;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: ModuleSettings;
  readonly machines: MachineSource;
  readonly access: ActionAccess;
  readonly waker: Waker;
  /** Optional: without one, clones skip the preparing stage (non-domain PCs, Linux). */
  readonly emitterPreparer?: EmitterPreparer;
  /** Without one, a deploy fails at start. */
  readonly deployer?: Deployer;
  readonly sources?: DeploySources;
  readonly checks?: ImageChecks;
  /** Overrides the settings' stage timeouts (tests). */
  readonly timeouts?: Partial<StageTimeouts>;
  /** Why no job can run now (readiness.ts jobBlocker): the wizard refuses, a due action fails unwoken. */
  readonly blocker?: () => Promise<JobBlocker | null>;
}

export interface ActionEngine {
  readonly lifecycle: ActionLifecycle;
  readonly schedules: ActionSchedules;
  readonly scheduler: Scheduler;
  readonly service: ActionService;
}

export function actionEngine(d: ActionEngineDeps): ActionEngine {
  const { core, clock, logger, settings } = d;
  const lifecycle = new ActionLifecycle(core, {
    waker: d.waker, emitterPreparer: d.emitterPreparer, deployer: d.deployer,
    toolkit: () => settings.toolkit(),
    timeouts: () => stageTimeouts(settings, d.timeouts),
    blocker: d.blocker,
  });
  const schedules = new ActionSchedules(core.db);
  const scheduler = new Scheduler({
    core, lifecycle, schedules, deploy: d.deploy, deployer: d.deployer, clock, logger, access: d.access, machines: d.machines,
  });
  const service = new ActionService({
    core, schedules, clock, logger, settings, sources: d.sources, checks: d.checks, deployer: d.deployer, machines: d.machines, access: d.access, blocker: d.blocker,
  });
  return { lifecycle, schedules, scheduler, service };
}
