import type { Database } from 'better-sqlite3';
import type { HostWeb } from '../../host/contract';
import type { MachineInventory } from '../../inventory/machine-inventory';
import type { Readiness } from '../../readiness/readiness';
import type { ActionService } from '../../actions/engine/action-service';
import type { ActionStore } from '../../actions/model/action-store';
import type { Scheduler } from '../../actions/engine/scheduler';
import type { ScheduleAdmin } from '../../actions/engine/schedule-admin';
import type { ImageLibrary } from '../../images/image-library';
import type { ActionStreams } from '../admin/sse-stream';
import type { ApiTokens } from './api-tokens';

/** What the API routes need: the services the pages use, nothing of their own. */
export interface ApiDeps {
  readonly web: HostWeb;
  readonly db: Database;
  readonly tokens: ApiTokens;
  readonly inventory: MachineInventory;
  readonly readiness: Readiness;
  readonly actions: ActionService;
  readonly store: Pick<ActionStore, 'busyMacs'>;
  readonly scheduler: Pick<Scheduler, 'tick'>;
  readonly streams: ActionStreams;
  readonly library: ImageLibrary;
  readonly schedules: ScheduleAdmin;
  readonly onTickError: (e: unknown) => void;
}

