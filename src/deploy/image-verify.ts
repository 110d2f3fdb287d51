/**
 * The server re-reads a whole image before a multicast deploy arms any PC: every file's size and
 * SHA-256 against the manifest, and, per partition, the SHA-256 of the whole compressed stream
 * (the pieces concatenated), which the receivers compare with the stream they got — udpcast
 * itself has no end-to-end checksum.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DeployStream } from '../actions/model/action-types';
import { ClonageError } from '../common/domain/errors';
import { assertFileName } from '../images/image-names';
import type { ImageStore } from '../images/image-store';
import type { ImageFile, ImageManifest } from '../images/image-types';

/** The image cannot be deployed (damaged, missing, unreadable): the reason is shown on the action. */
export class DeployRefusedError extends ClonageError {}

/** A partition stream as the sender sends it: its pieces' paths, in order. */
export interface SendableStream extends DeployStream {
  readonly name: string;
  readonly paths: readonly string[];
}

/** Partitions that have a stream (swap and extended partitions have none): one udpcast session each. */
export function sessionsOf(manifest: ImageManifest): ImageManifest['partitions'] {
  return manifest.partitions.filter((p) => p.mode !== 'none' && p.chunks.length > 0);
}

async function checkFile(dir: string, f: ImageFile, image: string, whole?: ReturnType<typeof createHash>): Promise<void> {
  const path = join(dir, assertFileName(f.file));
  const st = await fsp.stat(path).catch(() => null);
  if (!st?.isFile()) throw new DeployRefusedError(`image ${image} is damaged: ${f.file} is missing on the server`);
  if (st.size !== f.bytes) throw new DeployRefusedError(`image ${image} is damaged: ${f.file} has ${st.size} bytes, ${f.bytes} expected`);
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) {
    hash.update(piece as Buffer);
    whole?.update(piece as Buffer);
  }
  if (hash.digest('hex') !== f.sha256) throw new DeployRefusedError(`image ${image} is damaged: the SHA-256 of ${f.file} differs from the manifest`);
}

/** Every file checked; the streams with their whole-stream digests. Throws DeployRefusedError. */
export async function verifyImage(store: ImageStore, mac: string, image: string): Promise<{ manifest: ImageManifest; streams: SendableStream[] }> {
  let manifest: ImageManifest;
  try {
    manifest = await store.readManifest(mac, image);
  } catch (e) {
    throw new DeployRefusedError(`image ${image} of ${mac}: manifest unreadable (${(e as Error).message})`);
  }
  const dir = store.imageDir(mac, image);
  await checkFile(dir, manifest.partitionTable, image);
  if (manifest.head) await checkFile(dir, manifest.head, image);
  const streams: SendableStream[] = [];
  for (const p of sessionsOf(manifest)) {
    const whole = createHash('sha256');
    for (const c of p.chunks) await checkFile(dir, c, image, whole);
    streams.push({
      number: p.number, name: p.name, bytes: p.chunks.reduce((n, c) => n + c.bytes, 0), sha256: whole.digest('hex'),
      paths: p.chunks.map((c) => join(dir, c.file)),
    });
  }
  if (streams.length === 0) throw new DeployRefusedError(`image ${image} has no partition to send`);
  return { manifest, streams };
}

/** The streams to send, from the manifest and the digests the verification stored (no second read). */
export async function sendableStreams(store: ImageStore, mac: string, image: string, verified: readonly DeployStream[]): Promise<SendableStream[]> {
  const manifest = await store.readManifest(mac, image);
  const dir = store.imageDir(mac, image);
  const parts = sessionsOf(manifest);
  if (parts.length !== verified.length || parts.some((p, i) => p.number !== verified[i].number)) {
    throw new DeployRefusedError(`image ${image} changed since it was verified`);
  }
  return parts.map((p, i) => ({ ...verified[i], name: p.name, paths: p.chunks.map((c) => join(dir, assertFileName(c.file))) }));
}
