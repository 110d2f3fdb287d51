/**
 * One `clonage` invocation with its surroundings passed in (output, environment, files, fetch,
 * terminal), so unit tests run every command against a stub server and integration tests run the
 * compiled binary against the real shell. Errors end here: one line on stderr and the exit code.
 */
import { helpText, parseCommandLine } from './args';
import { call, type Fetch } from './client';
import { resolveConfig, type ConfigFs } from './config';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { DESTRUCTIVE_TYPES } from './request';
import { watchAction } from './watch';
import { clean } from './render';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fs: ConfigFs;
  readonly fetch: Fetch;
  /** stdout's width when it is a terminal, else null (plain output). */
  readonly ttyColumns: number | null;
  /** Asks a yes/no question on the terminal; null when stdin is not a terminal (no one to ask). */
  readonly confirm: ((question: string) => Promise<boolean>) | null;
  readonly sleep: (ms: number) => Promise<void>;
}

async function confirmDestructive(body: Readonly<Record<string, unknown>>, yes: boolean, io: CliIo): Promise<void> {
  if (yes || !DESTRUCTIVE_TYPES.includes(String(body.type))) return;
  const machines = Array.isArray(body.machines) ? `PCs ${body.machines.join(', ')} of parc ${String(body.parc)}` : `every PC of parc ${String(body.parc)}`;
  const question = `${String(body.type)} overwrites the disks of ${clean(machines)}${body.emitter ? ` (except ${clean(String(body.emitter))})` : ''}. Continue? [y/N] `;
  if (!io.confirm) throw new CliError(EXIT.usage, `${String(body.type)} overwrites disks: pass --yes to confirm when not on a terminal`);
  if (!(await io.confirm(question))) throw new CliError(EXIT.usage, 'cancelled: nothing was sent');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'help') {
      io.stdout(helpText(parsed));
      return EXIT.ok;
    }
    const { command, args, values, globals } = parsed;
    const cfg = resolveConfig({ flags: globals, env: io.env, fs: io.fs });
    const req = command.request(args, values);
    if (command.kind === 'watch') {
      return await watchAction(cfg, args[0], req.path, { out: io.stdout, ttyColumns: globals.json ? null : io.ttyColumns, json: globals.json, sleep: io.sleep }, io.fetch);
    }
    if (command.words.join(' ') === 'actions create' && req.body) await confirmDestructive(req.body, values.yes === true, io);
    const data = await call(cfg, req, io.fetch);
    io.stdout(globals.json ? `${JSON.stringify(data, null, 2)}\n` : command.render(data, values));
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CliError) {
      io.stderr(`clonage: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`clonage: unexpected error: ${clean(String((e as Error)?.message ?? e))}\n`);
    return EXIT.server;
  }
}

