/**
 * The command line → what to run, pure: which command, its arguments and flags (strict: an
 * unknown flag or a missing argument is a usage error, exit 2), or which help to print.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, type CommandSpec, type OptionSpec } from './commands';
import { EXIT_TABLE } from './exit-codes';
import { DEFAULT_URL } from './config';
import { usage, type Values } from './request';

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec & { short?: string }>> = {
  url: { type: 'string', value: 'URL', help: `API base URL (env CLONAGE_URL, default ${DEFAULT_URL})` },
  token: { type: 'string', value: 'TOKEN', help: 'API token (env CLONAGE_TOKEN, else the 0600 file ~/.config/clonage/token)' },
  lang: { type: 'string', value: 'en|fr', help: "language of the server's messages (default: the server's, French)" },
  json: { type: 'boolean', help: "print the API's JSON answer (for scripts)" },
  help: { type: 'boolean', short: 'h', help: 'this help (after a command: its help)' },
};

export interface Globals {
  readonly url?: string;
  readonly token?: string;
  readonly lang?: string;
  readonly json: boolean;
}

export type Parsed =
  | { readonly kind: 'help'; readonly command: CommandSpec | null; readonly group: string | null }
  | { readonly kind: 'run'; readonly command: CommandSpec; readonly args: readonly string[]; readonly values: Values; readonly globals: Globals };

type ParseOptions = Parameters<typeof parseArgs>[0] extends infer A ? (A extends { options?: infer O } ? NonNullable<O> : never) : never;

function optionsOf(specs: Readonly<Record<string, OptionSpec & { short?: string }>>): ParseOptions {
  // parseArgs refuses keys present with an undefined value
  const one = (o: OptionSpec & { short?: string }) => ({ type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) });
  return Object.fromEntries(Object.entries(specs).map(([k, o]) => [k, one(o)])) as ParseOptions;
}

const ALL_OPTIONS = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options)) as Record<string, OptionSpec>;

function findCommand(positionals: readonly string[]): CommandSpec | null {
  const matches = COMMANDS.filter((c) => c.words.every((w, i) => positionals[i] === w));
  return matches.sort((a, b) => b.words.length - a.words.length)[0] ?? null;
}

export function parseCommandLine(argv: readonly string[]): Parsed {
  // first pass, lenient: which command (its flags decide whether a word is a value or a positional)
  const loose = parseArgs({ args: [...argv], options: optionsOf(ALL_OPTIONS), strict: false, allowPositionals: true });
  const command = findCommand(loose.positionals);
  if (!command) {
    const group = COMMANDS.some((c) => c.words[0] === loose.positionals[0]) ? loose.positionals[0] : null;
    if (loose.values.help || loose.positionals.length === 0) return { kind: 'help', command: null, group };
    if (group) throw usage(`unknown command: ${loose.positionals.slice(0, 2).join(' ')} (clonage ${group} --help lists them)`);
    throw usage(`unknown command: ${loose.positionals[0]} (clonage --help lists them)`);
  }
  if (loose.values.help) return { kind: 'help', command, group: command.words[0] };
  let strict;
  try {
    strict = parseArgs({ args: [...argv], options: optionsOf({ ...GLOBAL_OPTIONS, ...command.options }), strict: true, allowPositionals: true });
  } catch (e) {
    throw usage(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (clonage ${command.words.join(' ')} --help)`);
  }
  const args = strict.positionals.slice(command.words.length);
  if (args.length > command.args.length) throw usage(`unexpected argument ${JSON.stringify(args[command.args.length])} (clonage ${command.words.join(' ')} --help)`);
  if (args.length < command.args.length) throw usage(`missing <${command.args[args.length]}> (clonage ${command.words.join(' ')} --help)`);
  const v = strict.values as Record<string, string | boolean | string[] | undefined>;
  const globals: Globals = { url: v.url as string | undefined, token: v.token as string | undefined, lang: v.lang as string | undefined, json: v.json === true };
  return { kind: 'run', command, args, values: v, globals };
}

function optionLines(specs: Readonly<Record<string, OptionSpec & { short?: string }>>): string[] {
  const rows = Object.entries(specs).map(([k, o]) => [`${o.short ? `-${o.short}, ` : ''}--${k}${o.value ? ` ${o.value}` : ''}`, o.help]);
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`);
}

function usageLine(c: CommandSpec): string {
  return `clonage ${c.words.join(' ')}${c.args.map((a) => ` <${a}>`).join('')}${Object.keys(c.options).length ? ' [options]' : ''}`;
}

/** `clonage --help`, `clonage actions --help` (the group's commands) or a command's help. */
export function helpText(p: { command: CommandSpec | null; group: string | null }): string {
  if (p.command) {
    const opts = Object.keys(p.command.options).length ? ['', 'Options:', ...optionLines(p.command.options)] : [];
    return [`Usage: ${usageLine(p.command)}`, '', p.command.summary, ...opts, '', 'Global options:', ...optionLines(GLOBAL_OPTIONS), ''].join('\n');
  }
  const shown = COMMANDS.filter((c) => p.group === null || c.words[0] === p.group);
  const w = Math.max(...shown.map((c) => usageLine(c).length));
  const lines = [
    'Usage: clonage <command> [options]   (clonage <command> --help for its options)',
    '',
    'Commands:',
    ...shown.map((c) => `  ${usageLine(c).padEnd(w)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
  ];
  if (p.group === null) lines.push('', 'Exit codes:', ...EXIT_TABLE.map(([code, what]) => `  ${String(code).padStart(2)}  ${what}`));
  return lines.join('\n') + '\n';
}
