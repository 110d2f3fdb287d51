/**
 * Endpoints the Windows scripts call (docs/wake-and-netlogon.md, docs/emitter-preparation.md),
 * on the module router without a session: each call carries a bearer token.
 *
 * | route | token | answer |
 * |---|---|---|
 * | `POST /api/emitter/ack?action=<id>` | ack token | 200 `ok`; 401 none, 403 wrong, 404 unknown action, 409 not preparing, 410 replay |
 * | `GET /api/postclone/name?mac=<mac>` | the image's claim token | 200 the name alone (the script trims and checks it) and `X-Clonage-Machine-Token`; 404 MAC not in the action; 403 not from the machine's reserved address |
 * | `GET /api/postclone/join?mac=<mac>` | machine token | 200 `domain=`/`username=`/`password=` lines (once per machine, then 409), or 204 (rename only) |
 * | `POST /api/postclone/done?mac=<mac>&status=ok\|failed` | machine token | 204, recorded as an action event; the token is dead afterwards |
 *
 * Answers are text/plain, never cached; request bodies are not used and limited to 1 KiB.
 * SE3's remontee_udpcast.php took any unauthenticated GET as the emitter's acknowledgement.
 */
import express, { type Router } from 'express';
import type { Logger } from '../../host/contract';
import { bearerToken, pcRouter } from './pc-router';
import { peerAddress } from '../../agent/agent-caller';

export interface EmitterAckApi {
  acknowledge(actionId: unknown, token: string | undefined): void;
}

export interface PostCloneApi {
  name(claimToken: string | undefined, mac: unknown, address: string | null): { name: string; machineToken: string };
  join(machineToken: string | undefined, mac: unknown, address: string | null): { domain: string; username: string; password: string } | null;
  done(machineToken: string | undefined, mac: unknown, status: unknown, address: string | null): void;
}

/** The post-clone answer header carrying the machine's own token (docs/emitter-preparation.md). */
export const MACHINE_TOKEN_HEADER = 'X-Clonage-Machine-Token';

export const EMITTER_BASE_PATH = '/api/emitter';
export const POSTCLONE_BASE_PATH = '/api/postclone';
/** Nothing is read from bodies; a large one is refused before it is buffered. */
const BODY_LIMIT = 1024;

const body = express.raw({ type: () => true, limit: BODY_LIMIT });

export function emitterAckRouter(api: EmitterAckApi, logger: Logger): Router {
  return pcRouter('emitter', logger, (r) => {
    r.post('/ack', body, (req, res) => {
      api.acknowledge(req.query.action, bearerToken(req));
      res.status(200).type('text/plain').send('ok\n');
    });
  }, { maxBodyBytes: BODY_LIMIT });
}

export function postCloneRouter(api: PostCloneApi, logger: Logger): Router {
  return pcRouter('post-clone', logger, (r) => {
    r.get('/name', (req, res) => {
      const { name, machineToken } = api.name(bearerToken(req), req.query.mac, peerAddress(req.socket.remoteAddress));
      res.status(200).type('text/plain').set(MACHINE_TOKEN_HEADER, machineToken).send(`${name}\n`);
    });
    r.get('/join', (req, res) => {
      const creds = api.join(bearerToken(req), req.query.mac, peerAddress(req.socket.remoteAddress));
      if (!creds) {
        res.status(204).end();
        return;
      }
      res.status(200).type('text/plain').send(`domain=${creds.domain}\nusername=${creds.username}\npassword=${creds.password}\n`);
    });
    r.post('/done', body, (req, res) => {
      api.done(bearerToken(req), req.query.mac, req.query.status, peerAddress(req.socket.remoteAddress));
      res.status(204).end();
    });
  }, { maxBodyBytes: BODY_LIMIT });
}
