/**
 * Read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440) over a FileSource.
 *
 * The request port only parses requests and answers refusals; every accepted read gets its own
 * UDP socket (a new TID), connected to the client so the kernel drops stray packets from other
 * hosts and reports an unreachable client as a socket error. Sessions are keyed by client
 * address and port so a client retransmitting its RRQ does not start a second transfer.
 */
import type dgram from 'node:dgram';
import { ForbiddenError } from '../common/domain/errors';
import type { TftpClient, TftpFile } from './file-source';
import { fitToBudget } from './budget';
import { ErrorCode, parsePacket, serializeError, type RequestPacket } from './packet';
import { ReadTransfer, type TransferEnd } from './read-transfer';
import { checkRequestPath } from './request-path';
import { resolveServerOptions, type ServerConfig, type TftpServerOptions } from './server-options';
import { bindUdp, closeUdp, connectUdp, udpSocket } from './udp';

export type { TftpServerOptions } from './server-options';

/** RFC 2347: a request with its options must fit in 512 bytes. Anything bigger is not TFTP. */
const MAX_REQUEST_BYTES = 512;

interface Session {
  readonly key: string;
  readonly client: TftpClient;
  readonly path: string;
  readonly startedAt: number;
  file: TftpFile | null;
  socket: dgram.Socket | null;
  transfer: ReadTransfer | null;
  closing: Promise<void> | null;
  /** Bytes of the buffered-bytes budget this transfer holds until it is closed. */
  reservedBytes: number;
}

export class TftpServer {
  private readonly cfg: ServerConfig;
  private readonly sessions = new Map<string, Session>();
  /** Sessions and reserved bytes per client address (any port), for the per-client caps. */
  private readonly perClient = new Map<string, { sessions: number; bytes: number }>();
  private bufferedBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private socket: dgram.Socket | null = null;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(opts: TftpServerOptions) {
    this.cfg = resolveServerOptions(opts);
  }

  /** The bound port once started (useful with port 0), the configured one before. */
  get port(): number {
    return this.socket !== null && this.state === 'running' ? this.socket.address().port : this.cfg.port;
  }

  /** Transfers in progress, including requests whose file is still being opened. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** File bytes the running transfers may hold in memory (counted against `maxBufferedBytes`). */
  get reservedBytes(): number {
    return this.bufferedBytes;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('TftpServer.start() called twice');
    const socket = udpSocket(this.cfg.address);
    try {
      await bindUdp(socket, this.cfg.port, this.cfg.address);
    } catch (err) {
      await closeUdp(socket);
      this.state = 'stopped';
      throw err;
    }
    socket.on('error', (err) => this.cfg.logger.error('tftp: request socket error', { error: err.message }));
    socket.on('message', (msg, rinfo) => this.onRequestPacket(msg, rinfo));
    this.socket = socket;
    this.state = 'running';
    this.cfg.logger.info('tftp: listening', { address: socket.address().address, port: socket.address().port });
  }

  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const socket = this.socket;
    if (socket !== null) await closeUdp(socket);
    for (const session of [...this.sessions.values()]) {
      if (session.transfer !== null && !session.transfer.done) session.transfer.abort('server stopping');
      else void this.closeSession(session);
    }
    await Promise.allSettled([...this.inflight]);
    await Promise.allSettled([...this.sessions.values()].map((s) => this.closeSession(s)));
    this.state = 'stopped';
    this.cfg.logger.info('tftp: stopped');
  }

  private reply(rinfo: dgram.RemoteInfo, code: number, message: string): void {
    try {
      this.socket?.send(serializeError(code, message), rinfo.port, rinfo.address, () => undefined);
    } catch {
      // The request socket is closing: nothing left to answer.
    }
  }

  private onRequestPacket(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.state !== 'running') return;
    const from = `${rinfo.address}:${rinfo.port}`;
    if (msg.length > MAX_REQUEST_BYTES) {
      this.cfg.logger.debug('tftp: oversize packet dropped', { from, bytes: msg.length });
      return;
    }
    const parsed = parsePacket(msg);
    if (!parsed.ok) {
      this.cfg.logger.debug('tftp: bad packet', { from, ...parsed.error });
      // One byte or nothing is noise; anything with an opcode deserves an explanation.
      if (parsed.error.opcode !== undefined) this.reply(rinfo, ErrorCode.ILLEGAL_OPERATION, parsed.error.detail);
      return;
    }
    const packet = parsed.packet;
    switch (packet.op) {
      case 'RRQ': {
        const pending = this.onReadRequest(packet, rinfo).catch((err: unknown) =>
          this.cfg.logger.error('tftp: request failed', { from, error: (err as Error).message }),
        );
        this.inflight.add(pending);
        void pending.finally(() => this.inflight.delete(pending));
        return;
      }
      case 'WRQ':
        this.cfg.logger.info('tftp: write refused', { from, file: packet.filename });
        this.reply(rinfo, ErrorCode.ACCESS_VIOLATION, 'server is read-only');
        return;
      case 'ERROR':
        return; // never answer an error with an error
      default:
        this.reply(rinfo, ErrorCode.ILLEGAL_OPERATION, `${packet.op} not expected on the request port`);
    }
  }

  private async onReadRequest(req: RequestPacket, rinfo: dgram.RemoteInfo): Promise<void> {
    const key = `${rinfo.address}:${rinfo.port}`;
    if (this.sessions.has(key)) {
      this.cfg.logger.debug('tftp: repeated request ignored', { from: key, file: req.filename });
      return;
    }
    if (this.sessions.size >= this.cfg.maxSessions) {
      this.cfg.logger.warn('tftp: too many transfers, request dropped', { from: key, sessions: this.sessions.size });
      return;
    }
    const fromClient = this.perClient.get(rinfo.address) ?? { sessions: 0, bytes: 0 };
    if (fromClient.sessions >= this.cfg.maxSessionsPerClient) {
      // Debug, not warn: a flooding host would otherwise flood the log too.
      this.cfg.logger.debug('tftp: too many transfers from one client, request dropped', { from: key, sessions: fromClient.sessions });
      return;
    }
    if (req.mode.toLowerCase() !== 'octet') {
      this.reply(rinfo, ErrorCode.ILLEGAL_OPERATION, `mode ${req.mode} not supported, use octet (binary)`);
      return;
    }
    const checked = checkRequestPath(req.filename, this.cfg.pathPolicy);
    if (!checked.ok) {
      this.cfg.logger.warn('tftp: file name refused', { from: key, file: req.filename, reason: checked.message });
      this.reply(rinfo, checked.code, checked.message);
      return;
    }
    const client: TftpClient = { address: rinfo.address, port: rinfo.port };
    const session: Session = {
      key, client, path: checked.path, startedAt: this.cfg.clock.now().getTime(),
      file: null, socket: null, transfer: null, closing: null, reservedBytes: 0,
    };
    this.sessions.set(key, session);
    fromClient.sessions += 1;
    this.perClient.set(rinfo.address, fromClient);
    try {
      session.file = await this.cfg.source.open(checked.path, client);
    } catch (err) {
      const forbidden = err instanceof ForbiddenError;
      this.cfg.logger.warn('tftp: open failed', { from: key, file: checked.path, error: (err as Error).message });
      this.reply(rinfo, forbidden ? ErrorCode.ACCESS_VIOLATION : ErrorCode.NOT_DEFINED, forbidden ? 'access violation' : 'cannot open file');
      await this.closeSession(session);
      return;
    }
    if (session.file === null) {
      this.cfg.logger.info('tftp: file not found', { from: key, file: checked.path });
      this.reply(rinfo, ErrorCode.FILE_NOT_FOUND, 'file not found');
      await this.closeSession(session);
      return;
    }
    if (session.closing !== null) {
      await session.file.close(); // the server stopped while the file was opening
      return;
    }
    await this.beginTransfer(session, session.file, req, rinfo);
  }

  private async beginTransfer(session: Session, file: TftpFile, req: RequestPacket, rinfo: dgram.RemoteInfo): Promise<void> {
    // One host gets a share of the budget only, so it cannot leave the others without memory.
    const client = this.perClient.get(session.client.address) ?? { sessions: 1, bytes: 0 };
    const available = Math.min(this.cfg.maxBufferedBytes - this.bufferedBytes, this.cfg.maxBufferedBytesPerClient - client.bytes);
    const fitted = fitToBudget(req.options, file.size, this.cfg.limits, this.cfg.readAheadBytes, available);
    if (fitted === null) {
      this.cfg.logger.warn('tftp: memory budget exhausted, request dropped', { from: session.key, bufferedBytes: this.bufferedBytes });
      await this.closeSession(session);
      return;
    }
    const negotiated = fitted.negotiated;
    session.reservedBytes = fitted.reservedBytes;
    this.bufferedBytes += fitted.reservedBytes;
    client.bytes += fitted.reservedBytes;
    const socket = udpSocket(this.cfg.address);
    session.socket = socket;
    try {
      await bindUdp(socket, 0, this.cfg.address);
      await connectUdp(socket, rinfo.port, rinfo.address);
    } catch (err) {
      this.cfg.logger.error('tftp: cannot open transfer socket', { from: session.key, error: (err as Error).message });
      this.reply(rinfo, ErrorCode.NOT_DEFINED, 'server cannot open a transfer socket');
      await this.closeSession(session);
      return;
    }
    if (session.closing !== null) {
      await this.closeSession(session);
      return;
    }
    const transfer = new ReadTransfer({
      file,
      blockSize: negotiated.blockSize,
      windowSize: negotiated.windowSize,
      timeoutMs: negotiated.timeoutMs,
      maxRetries: this.cfg.maxRetries,
      handshakeDeadlineMs: this.cfg.handshakeDeadlineMs,
      rollover: negotiated.rollover,
      readAheadBytes: fitted.readAheadBytes,
      oack: negotiated.oack,
      timers: this.cfg.timers,
      send: (packet) => {
        try {
          socket.send(packet, (err) => err && this.cfg.logger.debug('tftp: send failed', { to: session.key, error: err.message }));
        } catch {
          // Socket already closed: the transfer is ending.
        }
      },
      onEnd: (end) => this.endSession(session, end),
    });
    session.transfer = transfer;
    socket.on('message', (msg) => {
      const parsed = parsePacket(msg);
      if (parsed.ok) transfer.handle(parsed.packet);
      else this.cfg.logger.debug('tftp: bad packet in transfer', { from: session.key, ...parsed.error });
    });
    socket.on('error', (err) => transfer.abort(`socket error: ${err.message}`));
    this.cfg.logger.debug('tftp: transfer start', {
      from: session.key, file: session.path, size: file.size,
      blksize: negotiated.blockSize, windowsize: negotiated.windowSize, timeoutMs: negotiated.timeoutMs,
    });
    transfer.start();
  }

  private endSession(session: Session, end: TransferEnd): void {
    const fields = {
      from: session.key,
      file: session.path,
      bytes: session.transfer?.sentBytes ?? 0,
      ms: this.cfg.clock.now().getTime() - session.startedAt,
      ...end,
    };
    if (end.kind === 'complete') this.cfg.logger.info('tftp: sent', fields);
    // Info, not warn: a host sending requests it never follows up must not flood the log.
    else if (end.kind === 'handshake-timeout') this.cfg.logger.info('tftp: request never acknowledged', fields);
    else this.cfg.logger.warn('tftp: transfer ended', fields);
    void this.closeSession(session);
  }

  /** Frees the socket and the file of a session, once; resolves when both are released. */
  private closeSession(session: Session): Promise<void> {
    if (session.closing === null) {
      session.closing = (async () => {
        if (session.socket !== null) await closeUdp(session.socket);
        try {
          await session.file?.close();
        } catch (err) {
          this.cfg.logger.warn('tftp: file close failed', { file: session.path, error: (err as Error).message });
        } finally {
          this.sessions.delete(session.key);
          this.bufferedBytes -= session.reservedBytes;
          const client = this.perClient.get(session.client.address);
          if (client !== undefined) {
            client.sessions -= 1;
            client.bytes -= session.reservedBytes;
            if (client.sessions <= 0) this.perClient.delete(session.client.address);
          }
          session.reservedBytes = 0;
        }
      })();
    }
    return session.closing;
  }
}
