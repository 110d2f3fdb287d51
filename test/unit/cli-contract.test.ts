/**
 * The CLI and the API cannot drift apart: every request a `clonage` command sends (every flag
 * set) names a route and method of the served OpenAPI document, with its path ids matching the
 * document's patterns, only declared query parameters, and only body fields of the route's
 * request schema. `--set` is left out: it passes wizard fields through on purpose. And the CLI is
 * a client like any script: it imports nothing of the module or the shell (it compiles alone).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from '../../src/cli/args';
import { COMMANDS, type CommandSpec } from '../../src/cli/commands';
import { OPENAPI_DOCUMENT } from '../../src/http/api/openapi';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking a JSON document
const doc = OPENAPI_DOCUMENT as unknown as Json;

const SAMPLE_ARG: Record<string, string> = { id: 'a_x1', parc: 'salle101', name: 'master', machine: 's101-pc01' };
const SAMPLE_OPTION: Record<string, string> = {
  type: 'clone', state: 'running', status: 'running', parc: 'salle101', emitter: 's101-pc01', machines: 's101-pc02', disk: 'sda', image: 'img',
  compression: 'zstd', at: '2026-12-04T07:30', cron: '0 7 * * 1-5', machine: 's101-pc01', from: '2026-12-01', to: '2026-12-03',
};

/** The command line with its arguments and every flag but --set (and --status, the alias of --state). */
function fullLine(c: CommandSpec): string[] {
  const argv = [...c.words, ...c.args.map((a) => (c.words[0] === 'images' && a === 'id' ? '12' : c.words[0] === 'schedules' ? 's1' : SAMPLE_ARG[a]))];
  for (const [name, o] of Object.entries(c.options)) {
    if (name === 'set' || name === 'status') continue;
    if (o.type === 'boolean') argv.push(`--${name}`);
    else argv.push(`--${name}`, name === 'type' && c.words[0] === 'schedules' ? 'backup' : SAMPLE_OPTION[name]);
  }
  return argv;
}

const deref = (s: Json): Json => (s.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);

function routeOf(method: string, path: string): { op: Json; params: Record<string, string> } | null {
  for (const [template, ops] of Object.entries(doc.paths as Json)) {
    const names: string[] = [];
    const re = new RegExp(`^${template.replace(/\{(\w+)\}/g, (_m, n) => (names.push(n), '([^/]+)'))}$`);
    const m = re.exec(path);
    const op = (ops as Json)[method.toLowerCase()];
    if (m && op) return { op, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

describe('clonage ↔ OpenAPI document', () => {
  test.each(COMMANDS.map((c) => [c.words.join(' '), c] as const))('%s sends a documented request', (_name, c) => {
    const p = parseCommandLine(fullLine(c));
    if (p.kind !== 'run') throw new Error('not a command');
    const req = p.command.request(p.args, p.values);
    const [path, search] = req.path.split('?');
    const route = routeOf(req.method, path);
    expect(route).not.toBeNull();
    const parameters = ((route!.op.parameters ?? []) as Json[]);
    for (const [name, value] of Object.entries(route!.params)) {
      const pattern = parameters.find((x) => x.in === 'path' && x.name === name)?.schema?.pattern;
      if (pattern) expect([name, value, new RegExp(pattern).test(value)]).toEqual([name, value, true]);
    }
    const declared = parameters.filter((x) => x.in === 'query').map((x) => x.name);
    for (const key of new URLSearchParams(search ?? '').keys()) expect(declared).toContain(key);
    if (req.body && Object.keys(req.body).length) {
      const schema = deref(route!.op.requestBody.content['application/json'].schema);
      for (const key of Object.keys(req.body)) expect(Object.keys(schema.properties)).toContain(key);
    }
  });

  test('every command was checked with flags set (the samples cover every option)', () => {
    for (const c of COMMANDS) for (const name of Object.keys(c.options)) {
      if (!['set', 'status', 'yes', 'confirm-last'].includes(name)) expect([c.words.join(' '), name, name in SAMPLE_OPTION]).toEqual([c.words.join(' '), name, true]);
    }
  });
});

test('src/cli imports only node and its own files', () => {
  const dir = path.resolve(__dirname, '../../src/cli');
  const outside: string[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const [, a, b] of src.matchAll(/^(?:import|export)\b[^;]*?\sfrom\s+['"]([^'"]+)['"]|\b(?:require|import)\(\s*['"]([^'"]+)['"]/gm)) {
      const spec = a ?? b;
      if (!(spec.startsWith('./') && !spec.includes('/', 2)) && !spec.startsWith('node:')) outside.push(`${f} → ${spec}`);
    }
  }
  expect(outside).toEqual([]);
});
