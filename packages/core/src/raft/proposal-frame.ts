import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';
import { sliceOfSharedBlock } from '../util/shared-blocks.js';

/**
 * A proposal on the log is framed so that the node that proposed it can
 * recognise its own entry when it is applied, even if the proposal was
 * forwarded or leadership changed, and resolve the caller's promise with the
 * apply result. An empty entry (the leader's no-op) carries no frame.
 *
 * Version 2 (written now):
 * `[2][origin length u16][origin][sequence: u32 high, u32 low][command]` (big-endian),
 * where the origin identifies one run of one node and the sequence numbers
 * its proposals. Numbers and raw bytes keep framing off the hot path: no
 * text encoding, no string ids to hash.
 *
 * Version 1 (older logs): `[1][id length u16][id utf8][command]`. Its
 * string id came from a node run that has ended (origins differ per run),
 * so it decodes with an empty origin, which matches no node.
 */
const FRAME_V1 = 1;
const FRAME_V2 = 2;
const SEQUENCE_BYTES = 8;
const NO_ORIGIN = new Uint8Array(0);


export interface ProposalFrame {
  /** Who proposed: one run of one node (empty for version 1 frames). */
  readonly origin: Uint8Array;
  /** The proposal's number within its origin. */
  readonly sequence: number;
  readonly command: Uint8Array;
}

/**
 * Frames `command` as proposal `sequence` of `origin`. With `headroom`, the
 * frame starts that many bytes into the returned buffer, left for the
 * caller's own header (Multi-Paxos puts a value kind there), so the frame
 * need not be copied again.
 *
 * @throws InvalidArgumentError when `command` is not a Uint8Array.
 * @throws RangeError when the origin is longer than 65535 bytes or the sequence is not a safe non-negative integer.
 */
export function encodeProposal(origin: Uint8Array, sequence: number, command: Uint8Array, headroom = 0): Uint8Array {
  if (!(command instanceof Uint8Array)) throw new InvalidArgumentError(`a proposal must be a Uint8Array, got ${describeValue(command)}`);
  if (origin.length > 0xffff) throw new RangeError('proposal origin too long');
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`bad proposal sequence ${sequence}`);
  const header = headroom + 3 + origin.length;
  const out = sliceOfSharedBlock(header + SEQUENCE_BYTES + command.length);
  out[headroom] = FRAME_V2;
  writeUint16(out, headroom + 1, origin.length);
  out.set(origin, headroom + 3);
  writeUint32(out, header, Math.floor(sequence / 2 ** 32));
  writeUint32(out, header + 4, sequence >>> 0);
  out.set(command, header + SEQUENCE_BYTES);
  return out;
}

/**
 * Where the parts of a frame lie within its entry data, as offsets: the
 * origin is `data[originStart, originEnd)` and the command
 * `data[commandStart, data.length)`. Reading these needs no typed array
 * views, which every replica would otherwise create for every entry it applies.
 */
export interface ProposalFrameLayout {
  originStart: number;
  originEnd: number;
  sequence: number;
  commandStart: number;
}

/**
 * Fills `out` with the layout of the framed proposal in `data` from `start`
 * on (a frame behind a header of the caller's, read without a view of it);
 * throws `CorruptionError` for anything malformed.
 */
export function readProposalLayout(data: Uint8Array, out: ProposalFrameLayout, start = 0): void {
  if (data.length - start < 3) throw new CorruptionError('unknown proposal frame');
  if (data[start] === FRAME_V2) {
    const header = start + 3 + readUint16(data, start + 1);
    if (header + SEQUENCE_BYTES > data.length) throw new CorruptionError('truncated proposal frame');
    out.originStart = start + 3;
    out.originEnd = header;
    out.sequence = readUint32(data, header) * 2 ** 32 + readUint32(data, header + 4);
    out.commandStart = header + SEQUENCE_BYTES;
    return;
  }
  if (data[start] === FRAME_V1) {
    const idLength = readUint16(data, start + 1);
    if (start + 3 + idLength > data.length) throw new CorruptionError('truncated proposal frame');
    // No origin (see the version 1 note at the top); a version 2 origin starts at 3.
    out.originStart = 0;
    out.originEnd = 0;
    out.sequence = 0;
    out.commandStart = start + 3 + idLength;
    return;
  }
  throw new CorruptionError('unknown proposal frame');
}

/** Decodes a framed proposal; throws `CorruptionError` for anything malformed. */
export function decodeProposal(data: Uint8Array): ProposalFrame {
  const layout: ProposalFrameLayout = { originStart: 0, originEnd: 0, sequence: 0, commandStart: 0 };
  readProposalLayout(data, layout);
  return {
    origin: layout.originStart > 0 ? data.subarray(layout.originStart, layout.originEnd) : NO_ORIGIN,
    sequence: layout.sequence,
    command: data.subarray(layout.commandStart),
  };
}

/** True when two origins are the same bytes. */
export function sameOrigin(a: Uint8Array, b: Uint8Array): boolean {
  return sameOriginAt(a, 0, a.length, b);
}

/** True when `data[start, end)` holds the same bytes as `origin`. */
export function sameOriginAt(data: Uint8Array, start: number, end: number, origin: Uint8Array): boolean {
  if (end - start !== origin.length) return false;
  for (let i = 0; i < origin.length; i++) if (data[start + i] !== origin[i]) return false;
  return true;
}

/** Names what a caller passed instead of bytes, for the error message. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  return `a ${typeof value}`;
}

/** Bytes a frame adds to a command proposed by `origin`. */
export function proposalFrameOverhead(origin: Uint8Array): number {
  return 3 + origin.length + SEQUENCE_BYTES;
}

function writeUint16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}

function readUint16(data: Uint8Array, at: number): number {
  return (data[at]! << 8) | data[at + 1]!;
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function readUint32(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) >>> 0) + ((data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!);
}
