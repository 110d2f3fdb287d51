/** Promise wrappers for dgram setup, so the server reads as a sequence of steps. */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

/** A UDP socket of the family of `address` (IPv4 when no address is given). */
export function udpSocket(address?: string): dgram.Socket {
  return dgram.createSocket(address !== undefined && isIPv6(address) ? 'udp6' : 'udp4');
}

/**
 * Runs `step` (bind or connect) and settles on its callback, its 'error', or the socket being
 * closed meanwhile: stop() may close a transfer socket before setup completes, and waiting for a
 * callback that never comes would hang stop().
 */
function settle(socket: dgram.Socket, step: (done: (err?: Error) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => finish(err);
    const onClose = () => finish(new Error('socket closed during setup'));
    const finish = (err?: Error) => {
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    step(finish);
  });
}

export function bindUdp(socket: dgram.Socket, port: number, address?: string): Promise<void> {
  return settle(socket, (done) => socket.bind({ port, address }, () => done()));
}

export function connectUdp(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return settle(socket, (done) => socket.connect(port, address, (err?: Error) => done(err ?? undefined)));
}

export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
