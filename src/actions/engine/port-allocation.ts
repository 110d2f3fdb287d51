/**
 * UdpCast port of a clone: the first even port ≥ 9002 not used by an active action (udpcast uses
 * portbase and portbase+1, hence even ports). SE3 picked MAX-like values without any lock and
 * ignored running clones (se3-reference.md §7). Here the choice and the insert happen in one
 * IMMEDIATE transaction, and the partial UNIQUE index clonage_actions_active_port is the final
 * guarantee: a writer on another connection that picked the same port gets a constraint error,
 * and we pick again.
 */
import type { ActionStore } from '../model/action-store';
import { ConflictError } from '../../common/domain/errors';

export const FIRST_PORT = 9002;
export const LAST_PORT = 65534;
const MAX_ATTEMPTS = 20;

export function firstFreeEvenPort(used: ReadonlySet<number>): number {
  for (let p = FIRST_PORT; p <= LAST_PORT; p += 2) if (!used.has(p)) return p;
  throw new ConflictError('no free UdpCast port: too many active clone actions');
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/**
 * Runs `insert(port)` in an IMMEDIATE transaction with a free port; on a UNIQUE violation (another
 * connection won that port) picks again. `pick` is injectable so tests can force a collision.
 */
export function insertWithFreePort<T>(
  store: Pick<ActionStore, 'db' | 'activePorts'>,
  insert: (port: number) => T,
  pick: () => number = () => firstFreeEvenPort(store.activePorts()),
): T {
  let lastError: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      return store.db.transaction(() => insert(pick())).immediate();
    } catch (e) {
      if (!isUniqueViolation(e) && !isBusy(e)) throw e;
      lastError = e;
    }
  }
  throw new ConflictError(`could not allocate a UdpCast port: ${(lastError as Error)?.message ?? 'busy'}`);
}
