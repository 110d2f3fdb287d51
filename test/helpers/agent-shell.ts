/**
 * The sh agent (pxe/agent/) loaded as a library: its functions called directly under the shells
 * that run it (busybox sh as in the initramfs, and dash as a second POSIX reading), cockpit-style:
 * a table of inputs in, the printed results out. No network, no disk, no namespace.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const AGENT_DIR = path.resolve(__dirname, '../../pxe/agent');
export const LOADER = path.join(AGENT_DIR, 'clonage-agent.sh');

/** The files clonage-agent.sh loads, in its order (the one visible list). */
export function agentFileList(): string[] {
  const text = fs.readFileSync(LOADER, 'utf8');
  const loop = /for agent_file in \\\n([\s\S]*?)\ndo\n/.exec(text);
  if (!loop) throw new Error('clonage-agent.sh: the `for agent_file in …` list is missing');
  return loop[1].split('\n').map((l) => l.replace(/\\$/, '').trim()).filter(Boolean);
}

const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const DASH = ['/usr/bin/dash', '/bin/dash'].find((p) => fs.existsSync(p));
/** [name, argv prefix] of each shell found on this machine. */
export const SHELLS: Array<[string, string[]]> = [
  ...(BUSYBOX ? [['busybox sh', [BUSYBOX, 'sh']] as [string, string[]]] : []),
  ...(DASH ? [['dash', [DASH]] as [string, string[]]] : []),
];

export interface ShellCall {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Runs `script` after loading every agent file (CLONAGE_AGENT_LOAD_ONLY). `input` is the
 * script's stdin: tables go in as lines, so that no value is ever quoted into the script.
 */
export function callAgent(shell: string[], script: string, opts: { input?: string; env?: Record<string, string>; work?: string } = {}): ShellCall {
  const work = opts.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-agent-fn-'));
  const env = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CLONAGE_AGENT_LOAD_ONLY: '1', CLONAGE_AGENT_DIR: AGENT_DIR,
    CLONAGE_WORK_DIR: work, CLONAGE_DEV_DIR: path.join(work, 'dev'), ...opts.env,
  };
  const program = `. "$CLONAGE_AGENT_DIR/clonage-agent.sh" || exit 99\nmkdir -p "$WORK"\n${script}`;
  try {
    const stdout = execFileSync(shell[0], [...shell.slice(1), '-c', program], { input: opts.input ?? '', env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { stdout, stderr: '', code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; status?: number };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? '', code: err.status ?? -1 };
  } finally {
    if (!opts.work) fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Each line of `values` through `fn "$line"`: "1" where it returns 0, "0" otherwise. */
export function acceptance(shell: string[], fn: string, values: readonly string[]): Record<string, boolean> {
  const out = callAgent(shell, `while IFS= read -r v; do if ${fn} "$v"; then echo 1; else echo 0; fi; done`, { input: values.map((v) => `${v}\n`).join('') });
  if (out.code !== 0) throw new Error(`${fn}: exit ${out.code}: ${out.stderr}`);
  const lines = out.stdout.split('\n');
  return Object.fromEntries(values.map((v, i) => [v, lines[i] === '1']));
}
