/**
 * Golden-file assertions: compares rendered output with a committed file under test/golden/.
 * `UPDATE_GOLDEN=1 npx jest …` rewrites the files instead; review the diff before committing.
 * A missing golden file fails (rather than being created) so CI never blesses output silently.
 */
import fs from 'node:fs';
import path from 'node:path';

export const GOLDEN_ROOT = path.resolve(__dirname, '..', 'golden');

export function expectGolden(relPath: string, actual: string): void {
  const file = path.resolve(GOLDEN_ROOT, relPath);
  if (!file.startsWith(GOLDEN_ROOT + path.sep)) throw new Error(`golden path escapes test/golden: ${relPath}`);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  if (!fs.existsSync(file)) {
    throw new Error(`golden file test/golden/${relPath} is missing: run with UPDATE_GOLDEN=1 to create it, then review it`);
  }
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}
