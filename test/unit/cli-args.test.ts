/**
 * `clonage` command lines → requests (pure): every command's method, path and body, the usage
 * errors (exit 2) for unknown commands, flags and missing arguments, and the help texts (golden).
 */
import { helpText, parseCommandLine } from '../../src/cli/args';
import { COMMANDS } from '../../src/cli/commands';
import { CliError, EXIT } from '../../src/cli/exit-codes';
import { expectGolden } from '../helpers/golden';

function requestOf(argv: string[]) {
  const p = parseCommandLine(argv);
  if (p.kind !== 'run') throw new Error(`${argv.join(' ')}: help, not a command`);
  return p.command.request(p.args, p.values);
}

function usageError(argv: string[]): string {
  try {
    const p = parseCommandLine(argv);
    if (p.kind === 'run') p.command.request(p.args, p.values);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.usage);
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('clonage command line → API request', () => {
  test.each([
    [['actions', 'ls'], { method: 'GET', path: '/actions' }],
    [['actions', 'ls', '--status', 'running', '--parc', 'salle101', '--type', 'clone'], { method: 'GET', path: '/actions?state=running&type=clone&parc=salle101' }],
    [['actions', 'ls', '--from', '2026-12-01', '--to', '2026-12-03'], { method: 'GET', path: '/actions?from=2026-12-01&to=2026-12-03' }],
    [['actions', 'create', '--type', 'report', '--parc', 'cdi,salle101'], { method: 'POST', path: '/actions', body: { type: 'report', parc: ['cdi', 'salle101'] } }],
    [['actions', 'ls', '--state', 'failed', '--machine', 'pc01'], { method: 'GET', path: '/actions?state=failed&machine=pc01' }],
    [['actions', 'show', 'a1b2'], { method: 'GET', path: '/actions/a1b2' }],
    [['actions', 'watch', 'a1b2'], { method: 'GET', path: '/actions/a1b2/events' }],
    [['actions', 'cancel', 'x y/..'], { method: 'POST', path: '/actions/x%20y%2F../cancel', body: {} }],
    [['actions', 'start', 'a1'], { method: 'POST', path: '/actions/a1/start', body: {} }],
    [['actions', 'retry-failed', 'a1'], { method: 'POST', path: '/actions/a1/retry-failed', body: {} }],
    [['images', 'ls', '--machine', 'pc01'], { method: 'GET', path: '/images?machine=pc01' }],
    [['images', 'rm', '12'], { method: 'DELETE', path: '/images/12' }],
    [['images', 'rm', '12', '--confirm-last'], { method: 'DELETE', path: '/images/12?confirmLast=1' }],
    [['images', 'rename', '12', 'master-2026'], { method: 'POST', path: '/images/12/rename', body: { name: 'master-2026' } }],
    [['images', 'protect', '12'], { method: 'POST', path: '/images/12/protect', body: { protected: true } }],
    [['images', 'unprotect', '12'], { method: 'POST', path: '/images/12/protect', body: { protected: false } }],
    [['schedules', 'ls'], { method: 'GET', path: '/schedules' }],
    [['schedules', 'create', '--type', 'report', '--parc', 'cdi', '--cron', '0 7 * * 1-5'], { method: 'POST', path: '/schedules', body: { type: 'report', parc: 'cdi', cron: '0 7 * * 1-5' } }],
    [['schedules', 'pause', 's1'], { method: 'POST', path: '/schedules/s1/pause', body: {} }],
    [['schedules', 'resume', 's1'], { method: 'POST', path: '/schedules/s1/resume', body: {} }],
    [['schedules', 'rm', 's1'], { method: 'DELETE', path: '/schedules/s1' }],
    [['parcs', 'ls'], { method: 'GET', path: '/parcs' }],
    [['machines', 'ls', 'salle101'], { method: 'GET', path: '/parcs/salle101/machines' }],
    [['machines', 'report', 's101-pc01'], { method: 'GET', path: '/machines/s101-pc01/report' }],
    [['readiness'], { method: 'GET', path: '/readiness' }],
  ])('%j', (argv, expected) => {
    expect(requestOf(argv)).toEqual(expected);
  });

  test('actions create: the wizard\'s fields, machines from a list or repeated flags, --at and --set', () => {
    expect(requestOf(['actions', 'create', '--type', 'clone', '--parc', 'salle101', '--emitter', 'pc01', '--machines', 'pc02,pc03', '--machines', 'pc04',
      '--disk', 'sda', '--compression', 'zstd', '--set', 'min_receivers=2', '--set', 'auto_reboot=success', '--yes'])).toEqual({
      method: 'POST', path: '/actions',
      body: { type: 'clone', parc: 'salle101', emitter: 'pc01', machines: ['pc02', 'pc03', 'pc04'], disk: 'sda', compression: 'zstd', min_receivers: '2', auto_reboot: 'success' },
    });
    expect(requestOf(['actions', 'create', '--type', 'backup', '--parc', 'cdi', '--image', 'img1', '--at', '2026-12-04T07:30', '--json'])).toEqual({
      method: 'POST', path: '/actions', body: { type: 'backup', parc: 'cdi', image: 'img1', start: 'at', start_at: '2026-12-04T07:30' },
    });
    // global flags anywhere on the line
    const p = parseCommandLine(['--url', 'http://h:1/api', 'actions', '--lang', 'en', 'ls', '--json', '--token', 't']);
    expect(p.kind === 'run' && p.globals).toEqual({ url: 'http://h:1/api', token: 't', lang: 'en', json: true });
  });

  test.each([
    [['nosuch'], /unknown command: nosuch/],
    [['actions', 'bogus'], /unknown command: actions bogus/],
    [['actions', 'ls', '--bogus'], /Unknown option '--bogus'/],
    [['actions', 'ls', 'extra'], /unexpected argument "extra"/],
    [['actions', 'show'], /missing <id>/],
    [['images', 'rename', '12'], /missing <name>/],
    [['actions', 'show', '..'], /not valid/],
    [['actions', 'show', 'a\x1b[2J'], /not valid/],
    [['actions', 'ls', '--parc'], /argument missing/],
    [['actions', 'create', '--parc', 'cdi'], /--type is required/],
    [['actions', 'create', '--type', 'clone', '--parc', 'cdi'], /--emitter is required/],
    [['actions', 'create', '--type', 'report', '--parc', 'cdi', '--emitter', 'pc01'], /--emitter only applies/],
    [['actions', 'create', '--type', 'report', '--parc', 'cdi', '--machines', 'a,,b'], /empty name/],
    [['actions', 'create', '--type', 'report', '--parc', 'cdi', '--set', 'nokey'], /expected key=value/],
    [['schedules', 'create', '--type', 'report', '--parc', 'cdi'], /--cron is required/],
    [['actions', 'create', '--type', 'report', '--parc', 'cdi', '--yes=no'], /--yes/],
  ])('%j is a usage error', (argv, message) => {
    expect(usageError(argv)).toMatch(message);
  });

  test('help: the whole, a group and each command (golden)', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'help', command: null, group: null });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help', command: null, group: null });
    expectGolden('cli/help.txt', helpText({ command: null, group: null }));
    const group = parseCommandLine(['images', '-h']);
    expect(group).toEqual({ kind: 'help', command: null, group: 'images' });
    expectGolden('cli/help-images.txt', helpText({ command: null, group: 'images' }));
    const all = COMMANDS.map((c) => {
      const p = parseCommandLine([...c.words, '--help']);
      return p.kind === 'help' ? helpText(p) : 'not help';
    });
    expectGolden('cli/help-commands.txt', all.join('\n----\n'));
  });
});
