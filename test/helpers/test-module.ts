/**
 * The real module, started through its composition root (src/index.ts register) on a fake host
 * and served over HTTP on loopback: what the route, image, agent and deploy suites start from.
 * Defaults that keep a test inside its process: a recording waker (no Wake-on-LAN packet leaves),
 * no scheduler timer (the test ticks), no free-space reserve for the image store.
 */
import type { Server } from 'node:http';
import { register, type ModuleOverrides, type ModuleParts, type RunningModule } from '../../src/index';
import { createFakeHost, type FakeHost, fakeHostApp, listen } from './fake-host';
import { RecordingWaker } from './actions-fixtures';
import { NOTHING_BLOCKS } from './fakes';

export interface TestModule {
  readonly host: FakeHost;
  readonly module: RunningModule;
  readonly parts: ModuleParts;
  readonly waker: RecordingWaker;
  /** http://127.0.0.1:port (the module is under /modules/clonage). */
  readonly base: string;
  readonly server: Server;
  stop(): Promise<void>;
}

export async function startTestModule(overrides: ModuleOverrides = {}, host: FakeHost = createFakeHost()): Promise<TestModule> {
  const waker = new RecordingWaker();
  const module = await register(host, { waker, tickMs: 0, blocker: NOTHING_BLOCKS, ...overrides, imageStore: { reserveBytes: 0, ...overrides.imageStore } });
  const { server, base } = await listen(fakeHostApp(host));
  return {
    host, module, parts: module.parts, waker, base, server,
    async stop() {
      await module.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      host.cleanup();
    },
  };
}
