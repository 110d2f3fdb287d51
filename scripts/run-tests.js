#!/usr/bin/env node
/**
 * Runs jest with the given arguments and ends with one plain summary line
 * ("tests: N passed, N failed, N skipped"), which CI reads; the exit code is jest's.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const out = path.join(__dirname, '..', 'test-artifacts', `jest-${process.pid}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
const jest = require.resolve('jest/bin/jest');
const r = spawnSync(process.execPath, [jest, ...process.argv.slice(2), '--json', `--outputFile=${out}`], { stdio: 'inherit' });
let summary = 'tests: 0 passed, 0 failed';
try {
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  summary = `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + (j.numTodoTests || 0)} skipped`;
  if (j.numRuntimeErrorTestSuites) summary += ` (${j.numRuntimeErrorTestSuites} suite(s) failed to run)`;
} catch {
  summary = 'tests: 0 passed, 1 failed (jest produced no result file)';
}
process.stdout.write(`\n${summary}\n`);
process.exit(r.status === null ? 1 : r.status);
