/**
 * The one thing the scheduler calls to get a machine onto the network boot: a facade over
 * Wake-on-LAN (PC off) and RPC reboot (PC on, running Windows). SE3 offered the same choices per
 * action (se3-reference §1: `wake` checkbox, `shutdown_reboot`).
 *
 * `wol+reboot` is the "whatever state it is in" choice: a PC that is off ignores the reboot
 * request (the RPC fails as unreachable) and a PC that is on ignores the magic packet, so the
 * result is a success when either part worked.
 */
import { InputError } from '../common/domain/errors';
import type { Hostname } from '../common/domain/hostname';
import type { Ipv4 } from '../common/domain/ipv4';
import type { Mac } from '../common/domain/mac';
import type { RebootRequest } from './rpc-reboot';
import type { SecureOnPassword, WakeReport } from './wake-on-lan';

export type WakeMethod = 'wol' | 'reboot' | 'wol+reboot';
export const WAKE_METHODS: readonly WakeMethod[] = ['wol', 'reboot', 'wol+reboot'];

export interface WakeTarget {
  readonly mac: Mac;
  readonly ip: Ipv4;
  readonly name: Hostname | string;
}

export type StepOutcome = 'done' | 'skipped' | 'failed';

export interface WakeResult {
  readonly name: string;
  readonly method: WakeMethod;
  readonly wol: StepOutcome;
  readonly reboot: StepOutcome;
  /** True when the method's goal was reached (see the file comment for wol+reboot). */
  readonly ok: boolean;
  /** Short, password-free explanations, for the action's event log. */
  readonly messages: readonly string[];
}

export interface Waker {
  wake(target: WakeTarget, method: WakeMethod): Promise<WakeResult>;
}

/** The parts the facade drives; WakeOnLan and RpcReboot satisfy them. */
export interface WolSender {
  wake(mac: Mac, opts?: { secureOn?: SecureOnPassword | null }): Promise<WakeReport>;
}
export interface Rebooter {
  reboot(ip: Ipv4, req?: RebootRequest): Promise<void>;
}

export interface DefaultWakerOptions {
  readonly wol: WolSender;
  /** Null when no credentials are configured: `reboot` then fails with a clear message. */
  readonly rebooter: Rebooter | null;
  readonly rebootRequest?: RebootRequest;
  /** Per-MAC SecureOn passwords, for the rare NICs configured with one. */
  readonly secureOnFor?: (mac: Mac) => SecureOnPassword | null;
}

export function parseWakeMethod(input: unknown, field = 'wake.method'): WakeMethod {
  if (typeof input === 'string' && (WAKE_METHODS as readonly string[]).includes(input)) return input as WakeMethod;
  throw new InputError(`${field}: expected one of ${WAKE_METHODS.join(', ')}`, field);
}

export class DefaultWaker implements Waker {
  constructor(private readonly options: DefaultWakerOptions) {}

  async wake(target: WakeTarget, method: WakeMethod): Promise<WakeResult> {
    const messages: string[] = [];
    let wol: StepOutcome = 'skipped';
    let reboot: StepOutcome = 'skipped';
    if (method === 'wol' || method === 'wol+reboot') {
      try {
        const report = await this.options.wol.wake(target.mac, { secureOn: this.options.secureOnFor?.(target.mac) ?? null });
        wol = 'done';
        messages.push(`wol: ${report.packetsSent} packet(s) sent`);
        for (const f of report.failures) messages.push(`wol: ${f.destination}: ${f.error}`);
      } catch (e) {
        wol = 'failed';
        messages.push(`wol: ${errorText(e)}`);
      }
    }
    if (method === 'reboot' || method === 'wol+reboot') {
      if (!this.options.rebooter) {
        reboot = 'failed';
        messages.push('reboot: no account is configured for remote reboot');
      } else {
        try {
          await this.options.rebooter.reboot(target.ip, this.options.rebootRequest);
          reboot = 'done';
          messages.push(`reboot: requested on ${target.ip}`);
        } catch (e) {
          reboot = 'failed';
          messages.push(`reboot: ${errorText(e)}`);
        }
      }
    }
    const ok = method === 'wol' ? wol === 'done' : method === 'reboot' ? reboot === 'done' : wol === 'done' || reboot === 'done';
    return { name: String(target.name), method, wol, reboot, ok, messages };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
