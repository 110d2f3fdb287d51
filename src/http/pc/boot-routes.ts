/**
 * HTTP side of booting, for iPXE clients: the per-MAC script and the toolkit files.
 * No authentication: PCs fetch these before anything could log in. The only secret served is a
 * job's boot token, and it is not worthless: until the agent fetched its job, whoever holds it can
 * fetch the job in the PC's place (and get the session secret every later call needs). So a
 * script carrying a token goes only to the target's reserved address when one applies
 * (`agent.addressCheck`, BootService's guard; anyone else gets a local boot and the action an
 * event), the token is refused once used, and a second fetch shows on the action's page.
 * Kernels and initrds of the boot environment hold no password (docs/boot.md).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Router } from 'express';
import { Mac } from '../../common/domain/mac';
import type { Logger } from '../../host/contract';
import { pcRouter } from './pc-router';
import { localPlan, TOOLKIT_NAME_PATTERN } from '../../boot/boot-plan';
import { renderIpxeForPlan, renderIpxeMenu } from '../../boot/ipxe-renderer';
import type { MenuSettings } from '../../boot/menu-settings';
import type { PlanSource } from '../../boot/boot-file-source';
import { peerAddress } from '../../agent/agent-caller';

export interface HttpBootDeps {
  /** The plan a MAC boots now, as the asking client may see it. */
  readonly plans: PlanSource;
  readonly menuSettings: () => MenuSettings;
  /** Folder holding <toolkit>/vmlinuz and <toolkit>/initrd.img (the boot root's toolkits/). */
  readonly toolkitsDir: string;
  readonly logger: Logger;
}

export const BOOT_BASE_PATH = '/boot';

/** The only file names served: a toolkit folder may hold other things (checksums, manifests). */
const SERVED_FILES = new Set(['vmlinuz', 'initrd.img']);

const READ_CHUNK = 256 * 1024;

/** The boot router, mounted at BOOT_BASE_PATH. */
export function bootRouter(deps: HttpBootDeps): Router {
  const root = path.resolve(deps.toolkitsDir);
  return pcRouter('boot', deps.logger, (router) => {
    // iPXE asks with ?mac=${net0/mac} (aa:bb:cc:dd:ee:ff). No or bad MAC: the menu, as pxelinux's default.
    router.get('/ipxe', (req, res) => {
      const mac = Mac.tryParse(req.query.mac);
      let script: string;
      try {
        const settings = deps.menuSettings();
        script = mac === null
          ? renderIpxeMenu(settings)
          : renderIpxeForPlan(deps.plans.planFor(mac, { address: peerAddress(req.socket.remoteAddress), via: 'http' }), settings);
      } catch (err) {
        // Same rule as TFTP: a broken store or setting boots PCs on their disks, not into an error.
        deps.logger.error('iPXE script rendering failed, serving a local boot', {
          mac: mac?.toString(),
          error: err instanceof Error ? err.message : String(err),
        });
        script = renderIpxeForPlan(localPlan(), {
          mode: 'text',
          timeoutSeconds: 0,
          maintenancePasswordHash: null,
          serverUrl: 'http://127.0.0.1',
          installed: {},
        });
      }
      res.type('text/plain; charset=utf-8').send(script);
    });

    router.get('/files/:toolkit/:file', async (req, res, next) => {
      const { toolkit, file } = req.params;
      if (!TOOLKIT_NAME_PATTERN.test(toolkit) || !SERVED_FILES.has(file)) {
        res.status(404).type('text/plain').send('not found\n');
        return;
      }
      // Both parts are validated above; the jail check stays in case the patterns ever widen.
      const full = path.resolve(root, toolkit, file);
      if (!full.startsWith(root + path.sep)) {
        res.status(404).type('text/plain').send('not found\n');
        return;
      }
      // A FIFO or device would block the libuv thread that send() opens it on (or act on the
      // device): only regular files are served, checked before anything opens the path.
      let regular: boolean;
      try {
        regular = (await stat(full)).isFile();
      } catch {
        regular = false;
      }
      if (!regular) {
        deps.logger.warn('HTTP boot: not a regular file, refused', { toolkit, file });
        res.status(404).type('text/plain').send('not found\n');
        return;
      }
      res.setHeader('Content-Type', 'application/octet-stream');
      // send (behind res.sendFile) answers Range requests with 206 and If-Range/ETag correctly.
      // Reads of 256 KiB instead of the stream default of 64 KiB: a quarter of the reads and
      // socket writes per initrd (issue 15 bench: 50 PCs at once), 12.5 MiB for 50 downloads.
      // (send hands its options to fs.createReadStream; the type does not list highWaterMark)
      const sendOptions = { root, dotfiles: 'deny' as const, acceptRanges: true, lastModified: true, maxAge: 0, highWaterMark: READ_CHUNK };
      res.sendFile(`${toolkit}/${file}`, sendOptions, (err) => {
        if (!err) return;
        const code = (err as NodeJS.ErrnoException).code;
        if (res.headersSent || code === 'ECONNABORTED' || code === 'ECONNRESET') return;
        if (code === 'ENOENT' || code === 'ENOTDIR' || (err as { status?: number }).status === 404) {
          res.removeHeader('Content-Type');
          res.status(404).type('text/plain').send('not found\n');
          return;
        }
        next(err);
      });
    });
  });
}
