/**
 * Kernel command lines of the boot environment, shared by the pxelinux and iPXE renderers so
 * both boot paths pass exactly the same arguments (docs/agent-protocol.md).
 * A job carries only server, job id and one-time token; a manual (maintenance) boot carries only
 * the server and the mode. Never a password.
 */
import type { JobBootPlan } from './boot-plan';
import { checkServerUrl } from './boot-plan';

export const MANUAL_MODES = ['sender', 'receiver', 'backup', 'restore', 'report', 'shell'] as const;
export type ManualMode = (typeof MANUAL_MODES)[number];

/**
 * The last console= is /dev/console: tty0 so a technician in front of the PC sees the agent;
 * ttyS0 as well so QEMU tests and serial-equipped PCs can read the log.
 */
export const CONSOLE_ARGS: readonly string[] = ['console=ttyS0,115200', 'console=tty0'];

/** What a single kernel argument may contain: no separator, quote, '$' or control character. */
const SAFE_ARG = /^[A-Za-z0-9._~:/,=+-]+$/;
/**
 * x86 kernels take 2048 bytes of command line and syslinux 6 config lines up to 4096; 1024 leaves
 * room for what the loaders append. With the limits on each value, the longest line is ~400.
 */
const MAX_CMDLINE = 1024;

export function jobKernelArgs(serverUrl: string, plan: JobBootPlan): string[] {
  return finish([
    `clonage.server=${checkServerUrl(serverUrl)}`,
    `clonage.job=${plan.jobId}`,
    `clonage.token=${plan.token}`,
    ...CONSOLE_ARGS,
  ]);
}

export function manualKernelArgs(serverUrl: string, mode: ManualMode): string[] {
  if (!MANUAL_MODES.includes(mode)) throw new Error(`unknown manual mode ${String(mode)}`);
  return finish([`clonage.server=${checkServerUrl(serverUrl)}`, `clonage.manual=${mode}`, ...CONSOLE_ARGS]);
}

/**
 * Last line of defence: plans and URLs are validated when built, this re-checks the assembled
 * arguments so a future caller that bypasses the constructors still cannot inject anything.
 */
function finish(args: string[]): string[] {
  for (const a of args) {
    if (!SAFE_ARG.test(a)) throw new Error(`unsafe kernel argument refused: ${JSON.stringify(a.slice(0, 60))}`);
  }
  // +64: room for " BOOTIF=01-aa-bb-cc-dd-ee-ff" (IPAPPEND 2) and iPXE's "initrd=initrd.img".
  if (args.join(' ').length + 64 > MAX_CMDLINE) throw new Error('kernel command line too long');
  return args;
}
