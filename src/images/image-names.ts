/**
 * Names that become paths under <dataDir>/images: checked here, once, with closed character sets.
 * Nothing from a request is joined to a path before passing one of these.
 */
import { InputError } from '../common/domain/errors';
import { Mac } from '../common/domain/mac';

const IMAGE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const FILE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
/** Names of the routes next to the files, and the manifest itself: never an uploaded file. */
const RESERVED = new Set(['commit', 'manifest', 'manifest.json']);

/** aa-bb-cc-dd-ee-ff: the machine's directory. */
export function macDirName(mac: string | Mac): string {
  return (typeof mac === 'string' ? Mac.parse(mac) : mac).toString().replace(/:/g, '-');
}

/** image_YYYYMMDD (UTC) from the injected clock, as SE3 named backups. */
export function defaultImageName(now: Date): string {
  return `image_${now.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * An admin's image name made safe: accents transliterated (é → e), every other character outside
 * [A-Za-z0-9_.-] becomes "_", leading dots and dashes dropped, at most 64; empty → image_YYYYMMDD.
 */
export function sanitiseImageName(raw: string | undefined | null, now: Date): string {
  const ascii = String(raw ?? '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+/, '')
    .slice(0, 64);
  return ascii === '' || /^_+$/.test(ascii) ? defaultImageName(now) : ascii;
}

export function assertImageName(name: string): string {
  if (!IMAGE.test(name) || name.includes('..')) throw new InputError(`image: bad name "${name.slice(0, 70)}"`, 'image');
  return name;
}

/** A file of an image as the agent names it (sda1.pc.zst.000, table.sfdisk, head.bin). */
export function assertFileName(name: string): string {
  if (!FILE.test(name) || name.includes('..') || RESERVED.has(name) || name.endsWith('.tmp')) {
    throw new InputError(`file: "${name.slice(0, 110)}" is not an image file name ([A-Za-z0-9._-], at most 100)`, 'file');
  }
  return name;
}

export function isSha256(v: string): boolean {
  return /^[0-9a-f]{64}$/.test(v);
}
