/**
 * The live stream's shared hub (src/http/admin/sse-stream.ts): every viewer of an action gets the
 * same update from ONE live read per flush, updates carry only the targets that changed, a viewer
 * that joined between two flushes is not sent events its snapshot already listed, and the bus
 * subscription goes with the last viewer.
 */
import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import { ActionBus, type ActionListener } from '../../src/actions/engine/action-bus';
import type { EventRow, TargetRow } from '../../src/actions/model/action-types';
import { toActionView, type ActionView } from '../../src/actions/model/action-view';
import { ActionStreams, type ActionStreamSource } from '../../src/http/admin/sse-stream';
import { memoryLogger } from '../helpers/memory-logger';
import { admin, cloneInput, rig } from '../helpers/actions-fixtures';

const NOW = new Date('2026-12-03T10:00:00Z');

function target(i: number, patch: Partial<TargetRow> = {}): TargetRow {
  return {
    id: `j${i}`, actionId: 'a1', mac: `02:00:00:00:00:0${i}`, name: `pc0${i}`, ip: `10.0.0.${10 + i}`, role: 'receiver', state: 'running',
    tokenHash: 'h', stage: 'receiving', percent: 0, bytes: 0, rateKbps: 0, exitCode: null, message: null, log: 'secret log', startedAt: NOW.toISOString(),
    finishedAt: null, updatedAt: NOW.toISOString(), sessionHash: null, fetchedFrom: null, smbCredentialsAt: null, logBytes: 10, firmware: null, secureBoot: null, ...patch,
  };
}

class Source implements ActionStreamSource {
  targets = [1, 2, 3].map((i) => target(i));
  events: EventRow[] = [{ id: 1, actionId: 'a1', targetId: null, at: NOW.toISOString(), level: 'info', message: 'created' }];
  liveReads = 0;
  readonly bus = new ActionBus(memoryLogger());
  private view(events: readonly EventRow[], withLogs: boolean): ActionView {
    const action = { id: 'a1', type: 'clone', state: 'running', params: {}, parcs: ['salle1'], createdBy: 'admin', createdAt: NOW.toISOString(), startAt: NOW.toISOString(),
      startedAt: NOW.toISOString(), armedAt: null, finishedAt: null, port: 9000, scheduleId: null, error: null } as unknown as Parameters<typeof toActionView>[0];
    return toActionView(action, withLogs ? this.targets : this.targets.map((t) => ({ ...t, log: '' })), events, NOW);
  }
  snapshot(): ActionView {
    return this.view(this.events, true);
  }
  live(): ActionView {
    this.liveReads++;
    return this.view([], false);
  }
  subscribe(actionId: string, l: ActionListener): () => void {
    return this.bus.subscribe(actionId, l);
  }
  /** A change as the engine makes it: the row, then a publish. */
  progress(i: number, percent: number, event?: EventRow): void {
    this.targets = this.targets.map((t) => (t.id === `j${i}` ? { ...t, percent } : t));
    if (event) this.events.push(event);
    this.bus.publish({ actionId: 'a1', events: event ? [event] : [] });
  }
}

class FakeRes extends EventEmitter {
  text = '';
  ended = false;
  status() { return this; }
  set() { return this; }
  flushHeaders() {}
  write(chunk: string | Buffer) { this.text += chunk.toString(); return true; }
  end() { this.ended = true; }
  /** The `data:` of every message of this event type, parsed. */
  messages(event: string): ActionView[] {
    return [...this.text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].filter((m) => m[1] === event).map((m) => JSON.parse(m[2]) as ActionView);
  }
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const event = (id: number, message: string): EventRow => ({ id, actionId: 'a1', targetId: 'j1', at: NOW.toISOString(), level: 'info', message });

describe('action live stream: one shared hub per action', () => {
  let source: Source;
  let streams: ActionStreams;
  const open = (locale: 'fr' | 'en' = 'fr') => {
    const res = new FakeRes();
    streams.serve('a1', locale, {} as Request, res as unknown as Response);
    return res;
  };

  beforeEach(() => {
    source = new Source();
    streams = new ActionStreams(source, { throttleMs: 5, heartbeatMs: 60_000 });
  });
  afterEach(() => streams.closeAll());

  it('sends each viewer its full snapshot, logs included, then updates without logs', async () => {
    const a = open();
    expect(a.messages('snapshot')[0].targets.map((t) => t.logTail)).toEqual(['secret log', 'secret log', 'secret log']);
    source.progress(2, 40);
    await tick(30);
    const [u] = a.messages('update');
    expect(u.targets.map((t) => [t.id, t.percent, t.logTail])).toEqual([['j2', 40, '']]);
  });

  it('reads the action once per flush for all its viewers, and sends only the changed targets', async () => {
    const viewers = Array.from({ length: 20 }, () => open());
    expect(source.bus.listenerCount('a1')).toBe(1);
    source.progress(1, 10);
    source.progress(3, 30);
    source.progress(3, 35);
    await tick(30);
    expect(source.liveReads).toBe(1);
    for (const v of viewers) {
      const updates = v.messages('update');
      expect(updates).toHaveLength(1);
      expect(updates[0].targets.map((t) => [t.id, t.percent])).toEqual([['j1', 10], ['j3', 35]]);
      expect(updates[0].counts).toEqual(viewers[0].messages('update')[0].counts);
    }
    source.progress(1, 10); // the same figures again: nothing new for the page
    await tick(30);
    expect(source.liveReads).toBe(2);
    expect(viewers[0].messages('update')[1].targets).toEqual([]);
  });

  it('does not repeat to a late viewer the events its snapshot listed, and translates per viewer', async () => {
    const early = open('fr');
    source.progress(1, 5, event(2, 'pc01: receiving'));
    const late = open('en'); // joins before the flush: its snapshot has event 2
    source.progress(2, 6, event(3, 'pc02: receiving'));
    await tick(30);
    expect(early.messages('update')[0].events.map((e) => e.id)).toEqual([2, 3]);
    expect(late.messages('update')[0].events.map((e) => e.id)).toEqual([3]);
    expect(late.messages('snapshot')[0].events.map((e) => e.id)).toEqual([1, 2]);
    source.progress(2, 7, event(4, 'pc02: writing'));
    await tick(30);
    expect(late.messages('update')[1].events.map((e) => e.id)).toEqual([4]);
  });

  it('drops the hub and its bus subscription with the last viewer', async () => {
    const a = open();
    const b = open();
    expect(streams.hubCount()).toBe(1);
    a.emit('close');
    expect(source.bus.listenerCount('a1')).toBe(1);
    b.emit('close');
    expect(source.bus.listenerCount('a1')).toBe(0);
    expect(streams.hubCount()).toBe(0);
    source.progress(1, 50);
    await tick(30);
    expect(source.liveReads).toBe(0);
    expect(a.messages('update')).toEqual([]);
  });
});

describe('the live read of an action (ActionService.live)', () => {
  it('is the snapshot without events and without logs, every other target column read', async () => {
    const r = rig();
    try {
      const { id } = await r.service.create(admin, cloneInput());
      const t = r.core.store.targets(id)[0];
      r.core.store.updateTarget(t.id, { log: 'udp-receiver started\n', percent: 12, stage: 'receiving' });
      const live = r.core.store.liveTargets(id);
      expect(live).toEqual(r.core.store.targets(id).map((x) => ({ ...x, log: '' })));
      const view = r.service.live(id);
      expect(view.events).toEqual([]);
      expect(view).toEqual({ ...r.service.snapshot(id), events: [], targets: r.service.snapshot(id).targets.map((x) => ({ ...x, logTail: '' })) });
    } finally {
      r.host.cleanup();
    }
  });
});
