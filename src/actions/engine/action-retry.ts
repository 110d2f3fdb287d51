/**
 * "Relancer les postes en échec": a new action with the parameters of a finished one, on its
 * targets that failed. Pure: the service checks rights, inserts it (busy check, ports) and says
 * which action it came from.
 */
import { Ipv4 } from '../../common/domain/ipv4';
import { Mac } from '../../common/domain/mac';
import type { ActionParams, ActionRequest, ActionRow, PlannedTarget, TargetRow } from '../model/action-types';
import { isTerminal } from '../model/action-types';
export { canRetry, isPartial, targetCounts, type TargetCounts } from '../model/action-outcome';

/**
 * The new request, or null when nothing failed. A clone keeps its emitter (it is needed again,
 * whatever its own state) and retries the receivers that failed; the waits for receivers never
 * ask more than there are. A deploy's source is verified again (its stream digests are dropped).
 */
export function retryRequest(action: ActionRow, targets: readonly TargetRow[]): Pick<ActionRequest, 'type' | 'params' | 'targets' | 'parcs'> | null {
  if (!isTerminal(action.state)) return null;
  const failed = targets.filter((t) => t.state === 'failed' && t.role !== 'sender');
  if (!failed.length) return null;
  const planned = (t: TargetRow): PlannedTarget => ({ name: t.name, mac: Mac.parse(t.mac), ip: Ipv4.parse(t.ip), role: t.role });
  const sender = action.type === 'clone' ? targets.find((t) => t.role === 'sender') : undefined;
  if (action.type === 'clone' && !sender) return null;
  let params: ActionParams = action.params;
  if (params.type === 'clone') params = { ...params, minReceivers: Math.min(params.minReceivers, failed.length) };
  if (params.type === 'deploy') {
    const { streams: _verifiedBefore, ...rest } = params;
    params = { ...rest, minReceivers: Math.min(params.minReceivers, failed.length) };
  }
  return { type: action.type, params, parcs: action.parcs, targets: [...(sender ? [planned(sender)] : []), ...failed.map(planned)] };
}
