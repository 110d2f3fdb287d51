/**
 * Rendering of the Windows scripts that prepare a domain PC to be a clone emitter (replacing
 * SE3's sysprep.sh, se3-reference §3) and that rename/rejoin the clones afterwards.
 *
 * Every value is validated here against a charset that is inert in all three places it lands:
 * cmd.exe (no % ^ & | < > " ! or newline), PowerShell single-quoted strings (no '), and URLs.
 * No domain password is ever a value: the emitter leaves the domain without one, and the clones
 * fetch join credentials at run time with a token (docs/wake-and-netlogon.md).
 */
import { InputError } from '../common/domain/errors';
import { isJobId } from '../agent/job-identity';
import { Hostname } from '../common/domain/hostname';
import { Ipv4 } from '../common/domain/ipv4';
import { type NetlogonTemplates, renderTemplate } from './netlogon-template';

/** File names the scripts are written under; the emitter script looks for the post-clone one next to itself. */
export const EMITTER_SCRIPT = 'clonage-emitter.cmd';
export const POSTCLONE_SCRIPT = 'clonage-postclone.ps1';
export const STARTUP_HOOK = 'clonage-startup.cmd';

export interface EmitterScriptInput {
  /** The module's base URL as PCs reach it (HostNetwork.publicBaseUrl + mount path). */
  readonly baseUrl: string;
  readonly actionId: string;
  readonly machine: Hostname;
  /** One-time token accepted only by `{base}/api/emitter/ack?action=<id>` for this emitter. */
  readonly ackToken: string;
  /** Token accepted only by the post-clone endpoints, for this action's machines, until it ends. */
  readonly postCloneToken: string;
  /** Seconds between the acknowledgement and the reboot; 0..600, default 5. */
  readonly rebootDelaySeconds?: number;
  /** Also ask UEFI firmware for a one-time network boot (bcdedit bootsequence); default false. */
  readonly uefiPxeOnce?: boolean;
}

export function parseScriptBaseUrl(input: unknown, field = 'baseUrl'): string {
  if (typeof input !== 'string') throw new InputError(`${field}: a URL is required`, field);
  const s = input.trim().replace(/\/+$/, '');
  const ok = /^https?:\/\/[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?(\/[A-Za-z0-9._~-]+)*$/.test(s);
  if (!ok || s.length > 200) {
    throw new InputError(`${field}: expected http(s)://host[:port][/path] with letters, digits, '.', '_', '~' or '-' only`, field);
  }
  const port = /:(\d+)(\/|$)/.exec(s.replace(/^https?:\/\//, ''));
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) throw new InputError(`${field}: port out of range`, field);
  return s;
}

export function parseScriptActionId(input: unknown, field = 'actionId'): string {
  if (!isJobId(input)) {
    throw new InputError(`${field}: 1 to 64 letters, digits, '_' or '-'`, field);
  }
  return input;
}

/** base64url, as src/agent/job-identity.ts makes them (43 chars); 32..128 accepted. */
export function parseScriptToken(input: unknown, field = 'token'): string {
  if (typeof input !== 'string' || !/^[A-Za-z0-9_-]{32,128}$/.test(input)) throw new InputError(`${field}: not a valid token`, field);
  return input;
}

function parseDelay(input: unknown): number {
  if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input > 600) {
    throw new InputError('rebootDelaySeconds: 0 to 600 seconds', 'rebootDelaySeconds');
  }
  return input;
}

export function renderEmitterScript(templates: NetlogonTemplates, input: EmitterScriptInput): string {
  const machine = Hostname.parse(String(input.machine), 'machine');
  if (input.ackToken === input.postCloneToken) {
    // The post-clone token travels to every clone; the ack token must stay with the emitter.
    throw new InputError('postCloneToken: must differ from the acknowledgement token', 'postCloneToken');
  }
  return renderTemplate(templates['clonage-emitter.cmd'], {
    ACTION_ID: parseScriptActionId(input.actionId),
    BASE_URL: parseScriptBaseUrl(input.baseUrl),
    ACK_TOKEN: parseScriptToken(input.ackToken, 'ackToken'),
    MACHINE: machine.value,
    REBOOT_DELAY: String(parseDelay(input.rebootDelaySeconds ?? 5)),
    UEFI_PXE_ONCE: input.uefiPxeOnce ? '1' : '0',
  });
}

export function renderPostCloneScript(templates: NetlogonTemplates, input: Pick<EmitterScriptInput, 'baseUrl' | 'actionId' | 'postCloneToken'>): string {
  return renderTemplate(templates['clonage-postclone.ps1'], {
    ACTION_ID: parseScriptActionId(input.actionId),
    BASE_URL: parseScriptBaseUrl(input.baseUrl),
    POSTCLONE_TOKEN: parseScriptToken(input.postCloneToken, 'postCloneToken'),
  });
}

export interface StartupHookInput {
  /** Server as PCs name it in UNC paths: an IPv4 or a NetBIOS/DNS name. */
  readonly server: string;
  readonly share: string;
  /** Folder inside the share holding one sub-folder per machine, e.g. `machine`. */
  readonly baseDir: string;
}

/** The one-time installed hook: `\\server\share\baseDir\%COMPUTERNAME%\clonage-emitter.cmd`. */
export function renderStartupHook(templates: NetlogonTemplates, input: StartupHookInput): string {
  const server = parseUncServer(input.server);
  const share = parseShareName(input.share);
  const dirs = parseShareDir(input.baseDir);
  const unc = `\\\\${server}\\${share}${dirs.map((d) => `\\${d}`).join('')}`;
  return renderTemplate(templates['clonage-startup.cmd'], { NETLOGON_UNC: unc });
}

/** Both files the NetlogonWriter places in the emitter's folder for one clone action. */
export function emitterFiles(templates: NetlogonTemplates, input: EmitterScriptInput): { name: string; content: string }[] {
  return [
    { name: EMITTER_SCRIPT, content: renderEmitterScript(templates, input) },
    { name: POSTCLONE_SCRIPT, content: renderPostCloneScript(templates, input) },
  ];
}

// ---------------------------------------------------------------- SMB names, shared with the writer

export function parseUncServer(input: unknown, field = 'server'): string {
  if (typeof input !== 'string') throw new InputError(`${field}: a server is required`, field);
  const s = input.trim();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) return Ipv4.parse(s, field).toString();
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(s) || s.length > 253) {
    throw new InputError(`${field}: not a server name or IPv4 address`, field);
  }
  return s;
}

/** Share names like netlogon, ADMIN$, C$. */
export function parseShareName(input: unknown, field = 'share'): string {
  if (typeof input !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,78}\$?$/.test(input)) {
    throw new InputError(`${field}: not a share name`, field);
  }
  return input;
}

/**
 * A folder path inside a share, '/'- or '\'-separated, as plain segments: no '.', '..', spaces,
 * quotes or ';' (the path is written into smbclient commands and UNC paths). '' means the root.
 */
export function parseShareDir(input: unknown, field = 'baseDir'): string[] {
  if (typeof input !== 'string') throw new InputError(`${field}: a folder is required`, field);
  const segments = input.split(/[\\/]+/).filter((s) => s !== '');
  if (segments.length > 8) throw new InputError(`${field}: too deep`, field);
  for (const seg of segments) {
    if (!/^[A-Za-z0-9_$-][A-Za-z0-9_.$-]{0,63}$/.test(seg) || /^\.+$/.test(seg)) throw new InputError(`${field}: "${seg}" is not a plain folder name`, field);
  }
  return segments;
}
