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
