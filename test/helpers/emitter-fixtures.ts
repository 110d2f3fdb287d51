/**
 * Shared set-up of the emitter tests: the real action service on a fake host (real SQLite file,
 * fake clock), the real preparer, and an in-memory netlogon destination that records every call.
 */
import path from 'node:path';
import type { Hostname } from '../../src/common/domain/hostname';
import { NetlogonEmitterPreparer, type EmitterMachine } from '../../src/emitter/netlogon-emitter-preparer';
import { PostCloneService } from '../../src/emitter/postclone-service';
import type { CheckedFile, NetlogonDestination } from '../../src/emitter/netlogon-writer';
import { loadNetlogonTemplates } from '../../src/emitter/netlogon-template';
import type { ActionEvents } from '../../src/actions/engine/ports';
import { createFakeHost, type FakeHost } from './fake-host';
import { cloneInput, rig, type Rig } from './actions-fixtures';
import { ModuleSettings } from '../../src/settings/module-settings';

export const TEMPLATES = loadNetlogonTemplates(path.resolve(__dirname, '..', '..'));

export class MemoryDestination implements NetlogonDestination {
  readonly folders = new Map<string, Map<string, string>>();
  puts = 0;
  removes = 0;
  failPut: Error | null = null;
  failRemove: Error | null = null;
  describe(machine: Hostname): string {
    return `memory://${machine.value}`;
  }
  async put(machine: Hostname, files: readonly CheckedFile[]): Promise<void> {
    if (this.failPut) throw this.failPut;
    this.puts++;
    const dir = this.folders.get(machine.value) ?? new Map<string, string>();
    for (const f of files) dir.set(f.name, f.content.toString('utf8'));
    this.folders.set(machine.value, dir);
  }
  async remove(machine: Hostname, names: readonly string[]): Promise<void> {
    if (this.failRemove) throw this.failRemove;
    this.removes++;
    const dir = this.folders.get(machine.value);
    for (const n of names) dir?.delete(n);
    if (dir && dir.size === 0) this.folders.delete(machine.value);
  }
  file(machine: string, name: string): string | undefined {
    return this.folders.get(machine)?.get(name);
  }
}

/** What a Windows PC would read in its scripts: `set "CLONAGE_TOKEN=…"` and `$Token = '…'`. */
export function tokensIn(dest: MemoryDestination, machine = 'pc01'): { ack: string; postClone: string } {
  const cmd = dest.file(machine, 'clonage-emitter.cmd');
  const ps1 = dest.file(machine, 'clonage-postclone.ps1');
  const ack = cmd && /set "CLONAGE_TOKEN=([A-Za-z0-9_-]+)"/.exec(cmd)?.[1];
  const postClone = ps1 && /\$Token = '([A-Za-z0-9_-]+)'/.exec(ps1)?.[1];
  if (!ack || !postClone) throw new Error(`no scripts for ${machine}`);
  return { ack, postClone };
}

export interface EmitterRig extends Rig {
  readonly dest: MemoryDestination;
  readonly preparer: NetlogonEmitterPreparer;
  readonly postClone: PostCloneService;
  readonly woken: string[];
}

export function newPreparer(host: FakeHost, events: ActionEvents, dest: MemoryDestination, woken: string[] = []): NetlogonEmitterPreparer {
  return new NetlogonEmitterPreparer({
    db: host.db, events, clock: host.clock, logger: host.logger, templates: TEMPLATES,
    baseUrl: () => `${host.network.publicBaseUrl}${host.web.mountPath}`,
    destination: async () => dest,
    wakeEmitter: async (m: EmitterMachine) => void woken.push(`${m.name} ${m.mac} ${m.ip}`),
    pollMs: 60_000,
  });
}

export function emitterRig(host = createFakeHost(), dest = new MemoryDestination()): EmitterRig {
  const woken: string[] = [];
  let preparer!: NetlogonEmitterPreparer;
  const r = rig({ emitterPreparer: (events) => (preparer = newPreparer(host, events, dest, woken)) }, host);
  const postClone = new PostCloneService({ db: host.db, events: r.events, clock: host.clock, logger: host.logger, dhcp: host.dhcp, settings: new ModuleSettings(host.settings) });
  return { ...r, dest, preparer, postClone, woken };
}

export const domainClone = (over: Record<string, unknown> = {}) => cloneInput({ params: { domain: 'windows-domain', ...over } });

/** Lets pending promise callbacks (waits, removals) run. */
export async function settle(r: EmitterRig): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
  await r.preparer.idle();
}

export function prepRow(r: Rig, actionId: string): Record<string, unknown> | undefined {
  return r.host.db.prepare('SELECT * FROM clonage_emitter_preparations WHERE action_id = ?').get(actionId) as Record<string, unknown> | undefined;
}

export const armedMacs = (r: Rig) => r.bootPlans.listArmed().map((p) => p.mac.toString()).sort();
