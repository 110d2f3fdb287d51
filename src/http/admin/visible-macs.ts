import type { Request } from 'express';
import type { HostUser, HostWeb } from '../../host/contract';
import type { MachineInventory } from '../../inventory/machine-inventory';
import { userOf } from './admin-kit';

/**
 * MACs of the machines in the parcs delegated to the user (parc_can_clone), or null for every
 * machine (system_is_admin): what reports and images pages may show and change.
 */
export async function visibleMacs(web: Pick<HostWeb, 'currentUser' | 'parcsOf'>, inventory: MachineInventory, req: Request): Promise<Set<string> | null> {
  return visibleMacsOf(web, inventory, userOf(web, req));
}

/** The same for a known user (the REST API's caller). */
export async function visibleMacsOf(web: Pick<HostWeb, 'parcsOf'>, inventory: MachineInventory, user: HostUser): Promise<Set<string> | null> {
  const allowed = await web.parcsOf(user, 'parc_can_clone');
  if (allowed === 'all') return null;
  const machines = await inventory.machines(allowed, allowed);
  return new Set(machines.flatMap((m) => (m.mac ? [m.mac.toString()] : [])));
}
