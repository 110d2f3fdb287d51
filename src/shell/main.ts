import path from 'node:path';
import { loadConfig } from './config';
import { startShell } from './shell';
import { systemClock } from './system-clock';

/**
 * `npm start`: the standalone admin shell on embedded defaults (SQLite under var/, the bundled
 * SE3-like LDIF as directory, dnsmasq config written to var/dnsmasq.conf), with the clonage
 * module enabled. The only place that reads process.env.
 */
async function main(): Promise<void> {
  // dist/src/shell/main.js → repository root three levels up
  const appRoot = path.resolve(__dirname, '..', '..', '..');
  const config = loadConfig(appRoot, process.env);
  const autoEnable = process.env.CLONAGE_NO_AUTOENABLE ? [] : ['clonage'];
  const shell = await startShell(config, { clock: systemClock, autoEnable });
  const stop = () => {
    shell.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // only now: whoever waits for this line (a supervisor, a test) may stop us cleanly right after it
  process.stdout.write(
    `\nAdmin shell ready: ${shell.url}\n` +
      `Demo accounts (bundled directory): see README "Quick start".\n\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`fatal: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
