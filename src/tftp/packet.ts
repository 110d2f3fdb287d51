/**
 * TFTP packets (RFC 1350, options RFC 2347, OACK): pure parse and serialise.
 *
 * The parser takes bytes from the network, so it never throws: it returns either a packet or a
 * typed parse error. Strings are decoded as latin1 so that every byte survives unchanged; deciding
 * which file names are acceptable is the server's job (request-path.ts), not the parser's.
 * The serialisers are called with our own values, so they throw on programmer errors (a NUL in a
 * string, a block number out of range) instead of putting a broken packet on the wire.
 */

export const Opcode = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;

/** Error codes of RFC 1350 (0–7) and RFC 2347 (8: option negotiation refused). */
export const ErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface TftpOption {
  readonly name: string;
  readonly value: string;
}

export interface RequestPacket {
  readonly op: 'RRQ' | 'WRQ';
  readonly filename: string;
  readonly mode: string;
  /** In wire order, duplicates kept: which one wins is a negotiation decision. */
  readonly options: readonly TftpOption[];
}
export interface DataPacket {
  readonly op: 'DATA';
  readonly block: number;
  readonly data: Buffer;
}
export interface AckPacket {
  readonly op: 'ACK';
  readonly block: number;
}
export interface ErrorPacket {
  readonly op: 'ERROR';
  readonly code: number;
  readonly message: string;
}
export interface OackPacket {
  readonly op: 'OACK';
  readonly options: readonly TftpOption[];
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export type ParseErrorKind = 'too-short' | 'unknown-opcode' | 'malformed';
export interface ParseError {
  readonly kind: ParseErrorKind;
  /** The opcode read from the first two bytes, when there were two bytes. */
  readonly opcode?: number;
  readonly detail: string;
}
export type ParseResult =
  | { readonly ok: true; readonly packet: TftpPacket }
  | { readonly ok: false; readonly error: ParseError };

const fail = (kind: ParseErrorKind, detail: string, opcode?: number): ParseResult => ({
  ok: false,
  error: opcode === undefined ? { kind, detail } : { kind, detail, opcode },
});
const ok = (packet: TftpPacket): ParseResult => ({ ok: true, packet });

/**
 * Splits `buf` from `start` into NUL-terminated latin1 strings. Returns null if the last string
 * has no terminating NUL (a truncated request).
 */
function readStrings(buf: Buffer, start: number): string[] | null {
  const out: string[] = [];
  let pos = start;
  while (pos < buf.length) {
    const nul = buf.indexOf(0, pos);
    if (nul < 0) return null;
    out.push(buf.toString('latin1', pos, nul));
    pos = nul + 1;
  }
  return out;
}

function parseOptions(strings: readonly string[]): TftpOption[] | null {
  // Some boot ROMs pad their requests with extra NULs: empty trailing strings are not options.
  const list = [...strings];
  while (list.length > 0 && list[list.length - 1] === '') list.pop();
  if (list.length % 2 !== 0) return null;
  const options: TftpOption[] = [];
  for (let i = 0; i < list.length; i += 2) {
    options.push({ name: list[i] as string, value: list[i + 1] as string });
  }
  return options;
}

function parseRequest(buf: Buffer, op: 'RRQ' | 'WRQ', opcode: number): ParseResult {
  const strings = readStrings(buf, 2);
  if (strings === null) return fail('malformed', 'request string without terminating NUL', opcode);
  if (strings.length < 2) return fail('malformed', 'request without filename and mode', opcode);
  const [filename, mode, ...rest] = strings as [string, string, ...string[]];
  const options = parseOptions(rest);
  if (options === null) return fail('malformed', 'option name without value', opcode);
  return ok({ op, filename, mode, options });
}

export function parsePacket(buf: Buffer): ParseResult {
  if (buf.length < 2) return fail('too-short', `packet of ${buf.length} bytes`);
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
      return parseRequest(buf, 'RRQ', opcode);
    case Opcode.WRQ:
      return parseRequest(buf, 'WRQ', opcode);
    case Opcode.DATA:
      if (buf.length < 4) return fail('too-short', 'DATA without block number', opcode);
      return ok({ op: 'DATA', block: buf.readUInt16BE(2), data: buf.subarray(4) });
    case Opcode.ACK:
      // Trailing bytes after the block number are tolerated: they carry no meaning.
      if (buf.length < 4) return fail('too-short', 'ACK without block number', opcode);
      return ok({ op: 'ACK', block: buf.readUInt16BE(2) });
    case Opcode.ERROR: {
      if (buf.length < 4) return fail('too-short', 'ERROR without code', opcode);
      // Lenient on a missing NUL: an error ends the transfer either way, and refusing it would
      // only make us retransmit to a client that has already given up.
      const nul = buf.indexOf(0, 4);
      const message = buf.toString('latin1', 4, nul < 0 ? buf.length : nul);
      return ok({ op: 'ERROR', code: buf.readUInt16BE(2), message });
    }
    case Opcode.OACK: {
      const strings = readStrings(buf, 2);
      const options = strings === null ? null : parseOptions(strings);
      if (options === null) return fail('malformed', 'bad OACK option list', opcode);
      return ok({ op: 'OACK', options });
    }
    default:
      return fail('unknown-opcode', `opcode ${opcode}`, opcode);
  }
}

// ---------------------------------------------------------------- serialisers

function checkU16(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} out of range: ${n}`);
}

function cstring(s: string): Buffer {
  if (s.includes('\0')) throw new RangeError('TFTP strings cannot contain NUL');
  return Buffer.from(`${s}\0`, 'latin1');
}

function header(opcode: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt16BE(opcode, 0);
  b.writeUInt16BE(n, 2);
  return b;
}

function opcodeOnly(opcode: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(opcode, 0);
  return b;
}

function optionBytes(options: readonly TftpOption[]): Buffer[] {
  return options.flatMap((o) => [cstring(o.name), cstring(o.value)]);
}

export function serializeRequest(p: Omit<RequestPacket, 'options'> & { options?: readonly TftpOption[] }): Buffer {
  const opcode = p.op === 'RRQ' ? Opcode.RRQ : Opcode.WRQ;
  return Buffer.concat([opcodeOnly(opcode), cstring(p.filename), cstring(p.mode), ...optionBytes(p.options ?? [])]);
}

export function serializeData(block: number, data: Buffer): Buffer {
  checkU16('block', block);
  return Buffer.concat([header(Opcode.DATA, block), data]);
}

export function serializeAck(block: number): Buffer {
  checkU16('block', block);
  return header(Opcode.ACK, block);
}

export function serializeError(code: number, message: string): Buffer {
  checkU16('error code', code);
  return Buffer.concat([header(Opcode.ERROR, code), cstring(message)]);
}

export function serializeOack(options: readonly TftpOption[]): Buffer {
  return Buffer.concat([opcodeOnly(Opcode.OACK), ...optionBytes(options)]);
}

/** Serialises any packet; the inverse of parsePacket for every packet it accepts. */
export function serializePacket(p: TftpPacket): Buffer {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return serializeRequest(p);
    case 'DATA':
      return serializeData(p.block, p.data);
    case 'ACK':
      return serializeAck(p.block);
    case 'ERROR':
      return serializeError(p.code, p.message);
    case 'OACK':
      return serializeOack(p.options);
  }
}
