/**
 * In-process fan-out of action updates to live pages (SSE). The database is the source of truth:
 * a listener that misses an update (or a page opened later) reads the state again; this bus only
 * makes pages fast. A throwing listener is logged and does not stop the others.
 */
import type { Logger } from '../../host/contract';
import type { EventRow } from '../model/action-types';

export interface ActionUpdate {
  readonly actionId: string;
  /** Events appended by the change, oldest first; empty for progress-only updates. */
  readonly events: readonly EventRow[];
}

export type ActionListener = (update: ActionUpdate) => void;

export class ActionBus {
  private readonly listeners = new Map<string, Set<ActionListener>>();

  constructor(private readonly logger: Logger) {}

  /** Returns the unsubscribe function; calling it twice is harmless. */
  subscribe(actionId: string, listener: ActionListener): () => void {
    let set = this.listeners.get(actionId);
    if (!set) this.listeners.set(actionId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.listeners.get(actionId);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.listeners.delete(actionId);
    };
  }

  publish(update: ActionUpdate): void {
    for (const l of [...(this.listeners.get(update.actionId) ?? [])]) {
      try {
        l(update);
      } catch (e) {
        this.logger.warn('action listener failed', { actionId: update.actionId, error: String(e) });
      }
    }
  }

  listenerCount(actionId?: string): number {
    if (actionId) return this.listeners.get(actionId)?.size ?? 0;
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}
