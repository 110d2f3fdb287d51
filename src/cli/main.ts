#!/usr/bin/env node
/**
 * The `clonage` command (package.json "bin"): the REST API from a terminal or a script.
 * docs/cli.md; `clonage --help`. Wires the real process into runCli.
 */
import fs from 'node:fs';
import readline from 'node:readline/promises';
import { runCli } from './run';

function confirmOnTty(): ((q: string) => Promise<boolean>) | null {
  if (!process.stdin.isTTY) return null;
  return async (question) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^(y|yes|o|oui)$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
}

// `clonage actions ls | head -1`: a reader that went away is not an error worth a stack trace
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

void runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  fs: {
    stat: (f) => {
      try {
        return fs.statSync(f);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    read: (f) => fs.readFileSync(f, 'utf8'),
  },
  fetch,
  ttyColumns: process.stdout.isTTY ? process.stdout.columns || 80 : null,
  confirm: confirmOnTty(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
}).then((code) => {
  // let stdout drain (a pipe may be slow) before the exit code is set
  process.exitCode = code;
});
