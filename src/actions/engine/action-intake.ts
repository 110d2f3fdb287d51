/**
 * Storing a new action: the one path by which both the wizard (ActionService.create) and a
 * recurring schedule (Scheduler) add an action and its targets. The busy check, the UdpCast port
 * and the insert are one IMMEDIATE transaction; the "created" event goes out after the commit.
 */
import type { ActionRequest, PlannedTarget } from '../model/action-types';
import { msg } from '../../i18n/module-messages';
import { FieldErrors } from '../params/field-errors';
import { newActionId, newJobId, unusableTokenHash } from '../../agent/job-identity';
import type { ActionCore } from './action-core';
import { insertWithFreePort } from './port-allocation';

export type NewActionRequest = Pick<ActionRequest, 'type' | 'params' | 'targets' | 'parcs'>;

/** A machine is in one unfinished action at a time: one boot plan per MAC. */
export function assertNotBusy(core: ActionCore, request: Pick<ActionRequest, 'type' | 'targets'>): void {
  const busy = core.store.busyMacs(request.targets.map((t) => t.mac.toString()));
  if (busy.length) {
    const field = request.type === 'clone' ? 'receivers' : 'machines';
    const parcs = (core.store.action(busy[0].actionId)?.parcs ?? []).join(', ');
    throw new FieldErrors({ [field]: `${field}: ${busy.map((b) => `${b.name} is already in action ${b.actionId}`).join(', ')}` },
      { [field]: msg('preflight.busy', { name: busy.map((b) => b.name).join(', '), parcs }) });
  }
}

/** Inserts action + targets (unarmed); refuses machines busy with another unfinished action. Nothing is armed before a tick. */
export function insertAction(core: ActionCore, request: NewActionRequest, by: string, startAt: Date, scheduleId: string | null): string {
  const id = newActionId();
  const write = (port: number | null) => {
    assertNotBusy(core, request);
    core.store.insert(
      { id, type: request.type, params: request.params, parcs: request.parcs, createdBy: by, createdAt: core.nowIso(), startAt: startAt.toISOString(), port, scheduleId },
      request.targets.map((t: PlannedTarget) => ({ id: newJobId(), mac: t.mac.toString(), name: t.name, ip: t.ip.toString(), role: t.role, tokenHash: unusableTokenHash() })),
    );
    const names = request.targets.map((t) => `${t.name} (${t.role})`).join(', ');
    const shown = { by, type: request.type, names: request.targets.map((t) => t.name).join(', '), at: startAt.toISOString() };
    core.event(id, null, 'info', `created by ${by}: ${request.type} of ${names}${port ? `, port ${port}` : ''}, start ${startAt.toISOString()}`,
      port ? msg('event.createdPort', { ...shown, port }) : msg('event.created', shown));
  };
  core.change(() => (request.type === 'clone' || request.type === 'deploy' ? insertWithFreePort(core.store, write) : write(null)));
  return id;
}
