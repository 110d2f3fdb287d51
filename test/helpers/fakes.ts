/**
 * Standard fakes of the module's seams, one set per seam (as matchbox's storage/testfakes):
 *  - Fixed…: answers with the values it was given;
 *  - Empty…: knows nothing (no plan, no parc, no reservation);
 *  - Broken…: every call fails with INTENTIONAL, so a test proves the failure path is handled
 *    (logged, shown, or turned into a safe default) rather than crashing.
 * The in-memory lab used by most suites (MemoryDirectory, MemoryDhcp) is in fake-host.ts and is
 * the "fixed" directory and DHCP; MemoryDestination (emitter-fixtures.ts) the fixed netlogon share.
 */
import type { BootPlans } from '../../src/actions/engine/action-core';
import type { BootPlan } from '../../src/boot/boot-plan';
import { localPlan } from '../../src/boot/boot-plan';
import type { Hostname } from '../../src/common/domain/hostname';
import type { Mac } from '../../src/common/domain/mac';
import type { NetlogonDestination } from '../../src/emitter/netlogon-writer';
import type { DhcpApi, DhcpReservation, Directory, DirectoryComputer, DirectoryParc } from '../../src/host/contract';
import type { StepOutcome, WakeMethod, Waker, WakeResult, WakeTarget } from '../../src/wake/waker';
import { MemoryDhcp, MemoryDirectory } from './fake-host';

/** Readiness that blocks nothing: suites that arm jobs without installing a job environment. */
export const NOTHING_BLOCKS = async (): Promise<null> => null;

/** The error every Broken… fake throws: a test can tell it from a real failure. */
export const INTENTIONAL = 'intentional failure (test fake)';
const fail = (): never => {
  throw new Error(INTENTIONAL);
};
const reject = async (): Promise<never> => fail();

/** What the boot side (planFor) and the action engine (BootPlans) both use of the plan store. */
export type PlanSource = BootPlans & { planFor(mac: Mac): BootPlan };

/** One plan for every MAC; arming and disarming are recorded, consuming always succeeds. */
export class FixedBootPlans implements PlanSource {
  readonly armed: { mac: string; plan: BootPlan }[] = [];
  readonly disarmed: string[] = [];
  constructor(private readonly plan: BootPlan) {}
  arm(mac: Mac, plan: BootPlan): void {
    this.armed.push({ mac: mac.toString(), plan });
  }
  get(): BootPlan | null {
    return this.plan;
  }
  consume(): boolean {
    return true;
  }
  disarmJob(jobId: string): boolean {
    this.disarmed.push(jobId);
    return true;
  }
  markIncomplete(): boolean {
    return false;
  }
  planFor(): BootPlan {
    return this.plan;
  }
}

/** No plan anywhere: every PC boots locally; nothing can be consumed or disarmed. */
export class EmptyBootPlans implements PlanSource {
  arm(): void {}
  get(): BootPlan | null {
    return null;
  }
  consume(): boolean {
    return false;
  }
  disarmJob(): boolean {
    return false;
  }
  markIncomplete(): boolean {
    return false;
  }
  planFor(): BootPlan {
    return localPlan();
  }
}

export class BrokenBootPlans implements PlanSource {
  arm = fail;
  get = fail;
  consume = fail;
  disarmJob = fail;
  markIncomplete = fail;
  planFor = fail;
}

/** The default lab (fake-host.ts LAB), or the one given. */
export const FixedDirectory = MemoryDirectory;

export class EmptyDirectory extends MemoryDirectory {
  constructor() {
    super({});
  }
}

export class BrokenDirectory implements Directory {
  listParcs: () => Promise<DirectoryParc[]> = reject;
  getParc: () => Promise<DirectoryParc | null> = reject;
  listComputers: () => Promise<DirectoryComputer[]> = reject;
  getComputer: () => Promise<DirectoryComputer | null> = reject;
  computersInParc: () => Promise<DirectoryComputer[]> = reject;
  rightHolders: () => Promise<string[]> = reject;
}

/** The default lab's reservations (fake-host.ts LAB), or the ones given. */
export const FixedDhcp = MemoryDhcp;

export class EmptyDhcp extends MemoryDhcp {
  constructor() {
    super({});
  }
}

export class BrokenDhcp implements DhcpApi {
  listReservations: () => DhcpReservation[] = fail;
  findByMac: () => DhcpReservation | null = fail;
  findByName: () => DhcpReservation | null = fail;
  findByIp: () => DhcpReservation | null = fail;
  setPxeBoot = fail;
  onChange = fail;
}

/** A share that refuses every write and removal (as an SMB server answering ACCESS_DENIED). */
export class BrokenDestination implements NetlogonDestination {
  describe(machine: Hostname): string {
    return `broken://${machine.value}`;
  }
  put = reject;
  remove = reject;
}

/** The device-level waker (Wake-on-LAN / RPC reboot): records calls, answers with a fixed outcome. */
export class FixedWaker implements Waker {
  readonly calls: { name: string; mac: string; ip: string; method: WakeMethod }[] = [];

  constructor(private readonly ok = true) {}

  async wake(target: WakeTarget, method: WakeMethod): Promise<WakeResult> {
    this.calls.push({ name: String(target.name), mac: target.mac.toString(), ip: target.ip.toString(), method });
    const outcome: StepOutcome = this.ok ? 'done' : 'failed';
    return {
      name: String(target.name), method, ok: this.ok, messages: [],
      wol: method === 'reboot' ? 'skipped' : outcome,
      reboot: method === 'wol' ? 'skipped' : outcome,
    };
  }
}
