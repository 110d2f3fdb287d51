import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const src = fs.readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from\s+|require\(|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

/** The .ts file a relative import names (extensionless, or a folder's index), or null for packages and non-TS files. */
function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const cand of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(cand)) return cand;
  return null;
}

/** Every import cycle among the files, as lists of repo paths (Tarjan's strongly connected components). */
function importCycles(files: string[]): string[][] {
  const edges = new Map(files.map((f) => [f, importsOf(f).map((s) => resolveImport(f, s)).filter((t): t is string => t !== null)]));
  const index = new Map<string, number>(); const low = new Map<string, number>();
  const stack: string[] = []; const onStack = new Set<string>(); const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next += 1; stack.push(v); onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(path.relative(ROOT, w)); } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

/** Module code talks to its host only through src/host/contract.ts, never the standalone shell. */
describe('module ⇸ standalone shell boundary', () => {
  const shellDir = path.join(ROOT, 'src', 'shell');
  const moduleFiles = [...tsFiles(path.join(ROOT, 'src')), ...tsFiles(path.join(ROOT, 'hooks'))].filter(
    (f) => !f.startsWith(shellDir + path.sep),
  );

  test('there is module code to check', () => {
    expect(moduleFiles.length).toBeGreaterThan(10);
  });

  test('no module file imports from src/shell', () => {
    const offenders: string[] = [];
    for (const f of moduleFiles) {
      for (const spec of importsOf(f)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec);
        if (target === shellDir || target.startsWith(shellDir + path.sep)) offenders.push(`${path.relative(ROOT, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('the contract file holds types only (no runtime code to couple to)', () => {
    const src = fs.readFileSync(path.join(ROOT, 'src/host/contract.ts'), 'utf8');
    for (const spec of importsOf(path.join(ROOT, 'src/host/contract.ts'))) expect(src).toMatch(new RegExp(`import type [^;]+'${spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'`));
    expect(src).not.toMatch(/^export (const|function|class|let|var) /m);
  });
});

/**
 * The shell is a host like any other: it reaches the module's code only through the contract and the
 * explicit shared kernel (src/common: value types, errors, i18n machinery, migrations), so a real
 * SambaEdu host could replace it without linking the module's classes.
 */
describe('standalone shell ⇸ module boundary', () => {
  const shellDir = path.join(ROOT, 'src', 'shell');
  const allowed = [path.join(ROOT, 'src', 'common'), path.join(ROOT, 'src', 'host')];

  test('shell files import only src/shell, src/common and src/host', () => {
    const offenders: string[] = [];
    for (const f of tsFiles(shellDir)) {
      for (const spec of importsOf(f)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec);
        const ok = [shellDir, ...allowed].some((d) => target === d || target.startsWith(d + path.sep));
        if (!ok) offenders.push(`${path.relative(ROOT, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('src/common imports nothing outside src/common', () => {
    const common = path.join(ROOT, 'src', 'common');
    const offenders = tsFiles(common).flatMap((f) => importsOf(f)
      .filter((spec) => spec.startsWith('.') && !path.resolve(path.dirname(f), spec).startsWith(common + path.sep))
      .map((spec) => `${path.relative(ROOT, f)} → ${spec}`));
    expect(offenders).toEqual([]);
  });
});

describe('import graph', () => {
  test('no import cycle among the files of src/ and hooks/', () => {
    const files = [...tsFiles(path.join(ROOT, 'src')), ...tsFiles(path.join(ROOT, 'hooks'))];
    expect(files.length).toBeGreaterThan(100);
    expect(importCycles(files)).toEqual([]);
  });

  test('the cycle finder finds a planted cycle', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'cycle-'));
    fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = b;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "import type { a } from './a';\nexport const b = 1;\n");
    fs.writeFileSync(path.join(dir, 'c.ts'), "import { b } from './b';\n");
    expect(importCycles(tsFiles(dir)).map((c) => c.length)).toEqual([2]);
    fs.rmSync(dir, { recursive: true });
  });
});
