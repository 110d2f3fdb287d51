#!/usr/bin/env node
/**
 * Runs jest with the given arguments and ends with one plain summary line
 * ("tests: N passed, N failed, N skipped"), which CI reads.
 *
 * --typecheck: also runs `tsc --noEmit` on the whole project, at the same time as jest rather
 * than before it. Most integration suites wait on real programs (udpcast, partclone, TFTP
 * clients, retries) and leave the CPU idle, so the type check costs almost no wall time
 * there. The exit code is non-zero when either fails; tsc's errors and a "type check:" line are
 * printed after jest's report, and the summary line stays last.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const EXIT_TYPES_FAILED = 3;

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const typecheck = args.includes('--typecheck');
const jestArgs = args.filter((a) => a !== '--typecheck');
const out = path.join(root, 'test-artifacts', `jest-${process.pid}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });

/** Resolves with the exit code (1 when killed by a signal) and, if captured, the output. */
function run(cmd, argv, capture) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cmd, ...argv], { cwd: root, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let text = '';
    if (capture) {
      child.stdout.on('data', (d) => { text += d; });
      child.stderr.on('data', (d) => { text += d; });
    }
    child.on('close', (code) => resolve({ code: code === null ? 1 : code, text }));
  });
}

function summary() {
  try {
    const j = JSON.parse(fs.readFileSync(out, 'utf8'));
    let s = `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + (j.numTodoTests || 0)} skipped`;
    if (j.numRuntimeErrorTestSuites) s += ` (${j.numRuntimeErrorTestSuites} suite(s) failed to run)`;
    return s;
  } catch {
    return 'tests: 0 passed, 1 failed (jest produced no result file)';
  }
}

async function main() {
  const types = typecheck ? run(require.resolve('typescript/bin/tsc'), ['-p', 'tsconfig.json', '--noEmit'], true) : null;
  const jest = await run(require.resolve('jest/bin/jest'), [...jestArgs, '--json', `--outputFile=${out}`], false);
  let code = jest.code;
  const line = summary();
  if (types) {
    const t = await types;
    if (t.code !== 0) {
      process.stdout.write(`\ntsc --noEmit failed:\n${t.text}\ntype check: FAILED\n`);
      if (code === 0) code = EXIT_TYPES_FAILED;
    } else {
      process.stdout.write('\ntype check: passed\n');
    }
  }
  process.stdout.write(`\n${line}\n`);
  process.exit(code);
}

main();
