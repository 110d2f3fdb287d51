#!/usr/bin/env node
/**
 * Set-up step: assembles the module's TFTP boot root into a temporary folder with the module's
 * own code (dist/src/boot/boot-root.js, so the list of loader files is never repeated here) and
 * says which loaders were found and which are missing. Exit 1 when a required one is missing.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

async function main() {
  const { assembleBootRoot } = require(path.join(__dirname, '..', 'dist', 'src', 'boot', 'boot-root.js'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-loaders-'));
  try {
    const report = await assembleBootRoot(tmp, []);
    console.log(`    found: ${[...report.written, ...report.unchanged].sort().join(' ') || 'none'}`);
    for (const m of report.missing) {
      console.log(`    ${m.required ? 'MISSING (required)' : 'missing (optional)'}: ${m.file}, looked in ${m.lookedIn.join(', ')}`);
    }
    if (!report.ok) {
      console.error('setup: required boot loaders are missing: run scripts/install-system-deps.sh');
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
main().catch((e) => {
  console.error(`setup: boot loader check failed: ${e.stack || e}`);
  process.exit(1);
});
