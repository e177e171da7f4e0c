import { crc32 } from 'node:zlib';
import type { Entry, EntryType, HardState } from '../../raft/types.js';

/**
 * The record codec of the write-ahead log (internal).
 *
 * Every record is framed as
 *
 * ```
 * offset 0   u32 LE  body length n (n ≥ 1)
 * offset 4   u32 LE  ~n (bitwise complement of the length)
 * offset 8   u32 LE  CRC-32 of the body
 * offset 12  body    u8 record type, then the type's payload (n - 1 bytes)
 * ```
 *
 * The complement exists so that recovery can tell a damaged length (which
 * would otherwise send it past the end of the file and look like a torn
 * write) from a record whose payload really was cut short. Lengths and
 * checksums are little-endian; indexes and terms are u64 stored as two u32
 * halves, because JavaScript numbers are exact only up to 2^53.
 */

export const RECORD_HEADER_BYTES = 12;

/** Record types. Values are on disk: never renumber. */
export const RecordType = {
  /** u64 index, u64 term, u8 entry type, data. Supersedes every entry ≥ index written before it. */
  entry: 1,
  /** u64 term, u64 commit, u8 has-vote, vote (UTF-8). */
  hardState: 2,
  /** u64 index, u64 term: entries up to and including index are discarded. */
  compact: 3,
  /** u64 index, u64 term: the whole log is replaced by a snapshot at index. */
  reset: 4,
  /** u64 offset, u64 offsetTerm, u64 lastIndex, u64 lastTerm, then a hard state: first record of every segment. */
  checkpoint: 5,
} as const;

export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

const ENTRY_PAYLOAD_FIXED = 17;
const TWO_32 = 0x1_0000_0000;
/** The hard state of a fresh log. */
export const emptyHardState: HardState = Object.freeze({ term: 0, vote: undefined, commit: 0 });

/** The on-disk size of the record for `entry`. */
export function entryRecordBytes(entry: Entry): number {
  return RECORD_HEADER_BYTES + 1 + ENTRY_PAYLOAD_FIXED + entry.data.byteLength;
}

/**
 * An append-only byte buffer of encoded records. FileStorage encodes straight
 * into it and hands the bytes to one `write` per flush, so a batch of many
 * small entries costs one system call rather than one per entry.
 */
export class RecordBuffer {
  #buf: Buffer;
  #len = 0;

  constructor(initialBytes = 1 << 20) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#len;
  }

  /** The encoded bytes since the last `clear()` (a view, valid until the next append). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  clear(): void {
    this.#len = 0;
  }

  /** Appends an entry record and returns its size in bytes. */
  appendEntry(entry: Entry): number {
    const data = entry.data;
    const at = this.#begin(RecordType.entry, ENTRY_PAYLOAD_FIXED + data.byteLength);
    let p = at + RECORD_HEADER_BYTES + 1;
    p = writeU64(this.#buf, p, entry.index);
    p = writeU64(this.#buf, p, entry.term);
    this.#buf[p++] = entry.type === 'conf-change' ? 1 : 0;
    this.#buf.set(data, p);
    return this.#finish(at);
  }

  appendHardState(hardState: HardState): number {
    const at = this.#begin(RecordType.hardState, hardStateBytes(hardState));
    encodeHardState(this.#buf, at + RECORD_HEADER_BYTES + 1, hardState);
    return this.#finish(at);
  }

  /** A compaction (`compact`) or snapshot (`reset`) marker. */
  appendMarker(type: typeof RecordType.compact | typeof RecordType.reset, index: number, term: number): number {
    const at = this.#begin(type, 16);
    writeU64(this.#buf, writeU64(this.#buf, at + RECORD_HEADER_BYTES + 1, index), term);
    return this.#finish(at);
  }

  appendCheckpoint(checkpoint: Checkpoint): number {
    const at = this.#begin(RecordType.checkpoint, 32 + hardStateBytes(checkpoint.hardState));
    let p = writeU64(this.#buf, at + RECORD_HEADER_BYTES + 1, checkpoint.offset);
    p = writeU64(this.#buf, p, checkpoint.offsetTerm);
    p = writeU64(this.#buf, p, checkpoint.lastIndex);
    p = writeU64(this.#buf, p, checkpoint.lastTerm);
    encodeHardState(this.#buf, p, checkpoint.hardState);
    return this.#finish(at);
  }

  /** Reserves room for a record with `payloadBytes` of payload and writes its type byte. */
  #begin(type: RecordTypeCode, payloadBytes: number): number {
    const total = RECORD_HEADER_BYTES + 1 + payloadBytes;
    if (this.#len + total > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + total));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    const at = this.#len;
    const bodyLength = 1 + payloadBytes;
    this.#buf.writeUInt32LE(bodyLength, at);
    this.#buf.writeUInt32LE(~bodyLength >>> 0, at + 4);
    this.#buf[at + RECORD_HEADER_BYTES] = type;
    this.#len = at + total;
    return at;
  }

  /** Writes the checksum once the body is complete. */
  #finish(at: number): number {
    const end = this.#len;
    this.#buf.writeUInt32LE(crc32(this.#buf.subarray(at + RECORD_HEADER_BYTES, end)), at + 8);
    return end - at;
  }
}

/**
 * What the first record of every segment records about the log at the
 * moment the segment was created: where it started and ended, and the hard
 * state. Replay can begin at any segment from this alone.
 */
export interface Checkpoint {
  readonly offset: number;
  readonly offsetTerm: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly hardState: HardState;
}

/** The outcome of checking a record header at `offset`. */
export type FrameCheck =
  | { readonly ok: true; readonly bodyLength: number }
  | { readonly ok: false; readonly reason: 'short-header' | 'bad-length' };

/** Validates the frame header at `offset` (not the body). */
export function checkFrame(bytes: Buffer, offset: number, maxBodyBytes: number): FrameCheck {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return { ok: false, reason: 'short-header' };
  const length = bytes.readUInt32LE(offset);
  const complement = bytes.readUInt32LE(offset + 4);
  if ((~length >>> 0) !== complement || length === 0 || length > maxBodyBytes) {
    return { ok: false, reason: 'bad-length' };
  }
  return { ok: true, bodyLength: length };
}

/** True when the body of the record at `offset` (of `bodyLength` bytes) matches its checksum. */
export function bodyChecksumMatches(bytes: Buffer, offset: number, bodyLength: number): boolean {
  const start = offset + RECORD_HEADER_BYTES;
  return crc32(bytes.subarray(start, start + bodyLength)) === bytes.readUInt32LE(offset + 8);
}

/**
 * Called with the reason when a decoded field is impossible (a value past
 * 2^53, a flag that is neither 0 nor 1, …); it must throw. Checksums only
 * prove the bytes are the ones written, so every field is checked too.
 */
export type FieldFailure = (reason: string) => never;

/** The index and term of an entry record whose body starts at `bodyStart`, validated. */
export function entryHeaderAt(
  bytes: Buffer,
  bodyStart: number,
  fail: FieldFailure,
): { readonly index: number; readonly term: number } {
  const index = readU64Checked(bytes, bodyStart + 1, 'entry index', fail);
  const term = readU64Checked(bytes, bodyStart + 9, 'entry term', fail);
  const typeByte = bytes[bodyStart + 17]!;
  if (typeByte > 1) fail(`entry ${index} has unknown entry type ${typeByte}`);
  return { index, term };
}

/** Decodes a whole entry record body, copying the data so `bytes` can be released. */
export function decodeEntry(bytes: Buffer, bodyStart: number, bodyLength: number, fail: FieldFailure): Entry {
  entryHeaderAt(bytes, bodyStart, fail);
  const typeByte = bytes[bodyStart + 17];
  const type: EntryType = typeByte === 1 ? 'conf-change' : 'normal';
  const dataStart = bodyStart + 1 + ENTRY_PAYLOAD_FIXED;
  const data = new Uint8Array(bodyLength - 1 - ENTRY_PAYLOAD_FIXED);
  data.set(bytes.subarray(dataStart, bodyStart + bodyLength));
  return { index: readU64(bytes, bodyStart + 1), term: readU64(bytes, bodyStart + 9), type, data };
}

/** Decodes a `compact` or `reset` marker body. */
export function decodeMarker(
  bytes: Buffer,
  bodyStart: number,
  fail: FieldFailure,
): { readonly index: number; readonly term: number } {
  return {
    index: readU64Checked(bytes, bodyStart + 1, 'marker index', fail),
    term: readU64Checked(bytes, bodyStart + 9, 'marker term', fail),
  };
}

export function decodeHardStateRecord(bytes: Buffer, bodyStart: number, bodyLength: number, fail: FieldFailure): HardState {
  return decodeHardState(bytes, bodyStart + 1, bodyStart + bodyLength, fail);
}

export function decodeCheckpoint(bytes: Buffer, bodyStart: number, bodyLength: number, fail: FieldFailure): Checkpoint {
  const checkpoint: Checkpoint = {
    offset: readU64Checked(bytes, bodyStart + 1, 'checkpoint start index', fail),
    offsetTerm: readU64Checked(bytes, bodyStart + 9, 'checkpoint start term', fail),
    lastIndex: readU64Checked(bytes, bodyStart + 17, 'checkpoint last index', fail),
    lastTerm: readU64Checked(bytes, bodyStart + 25, 'checkpoint last term', fail),
    hardState: decodeHardState(bytes, bodyStart + 33, bodyStart + bodyLength, fail),
  };
  if (checkpoint.lastIndex < checkpoint.offset) fail('checkpoint ends the log before its start');
  if (checkpoint.lastTerm < checkpoint.offsetTerm) fail('checkpoint last term is below its start term');
  return checkpoint;
}

/** The smallest body each record type can have; shorter bodies are structurally corrupt. */
export function minimumBodyBytes(type: number): number | undefined {
  switch (type) {
    case RecordType.entry:
      return 1 + ENTRY_PAYLOAD_FIXED;
    case RecordType.hardState:
      return 1 + 17;
    case RecordType.compact:
    case RecordType.reset:
      return 1 + 16;
    case RecordType.checkpoint:
      return 1 + 32 + 17;
    default:
      return undefined;
  }
}

export function hardStatesEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.commit === b.commit && a.vote === b.vote;
}

function hardStateBytes(hardState: HardState): number {
  return 17 + (hardState.vote === undefined ? 0 : Buffer.byteLength(hardState.vote, 'utf8'));
}

function encodeHardState(buf: Buffer, at: number, hardState: HardState): void {
  let p = writeU64(buf, at, hardState.term);
  p = writeU64(buf, p, hardState.commit);
  if (hardState.vote === undefined) {
    buf[p] = 0;
  } else {
    buf[p] = 1;
    buf.write(hardState.vote, p + 1, 'utf8');
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeHardState(bytes: Buffer, start: number, end: number, fail: FieldFailure): HardState {
  const term = readU64Checked(bytes, start, 'hard state term', fail);
  const commit = readU64Checked(bytes, start + 8, 'hard state commit', fail);
  const flag = bytes[start + 16];
  if (flag === 0) {
    if (end !== start + 17) fail('hard state has no vote but carries vote bytes');
    return { term, vote: undefined, commit };
  }
  if (flag !== 1) fail(`hard state vote flag is ${flag}, not 0 or 1`);
  if (end === start + 17) fail('hard state vote is empty');
  let vote: string;
  try {
    vote = strictUtf8.decode(bytes.subarray(start + 17, end));
  } catch {
    return fail('hard state vote is not valid UTF-8');
  }
  return { term, vote, commit };
}

/** Reads a u64 that must be an exact JavaScript number (below 2^53). */
function readU64Checked(bytes: Buffer, at: number, what: string, fail: FieldFailure): number {
  const high = bytes.readUInt32LE(at + 4);
  if (high > 0x1f_ffff) fail(`${what} is ${(BigInt(high) << 32n) + BigInt(bytes.readUInt32LE(at))}, past 2^53`);
  return bytes.readUInt32LE(at) + high * TWO_32;
}

function writeU64(buf: Buffer, at: number, value: number): number {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
  return at + 8;
}

function readU64(bytes: Buffer, at: number): number {
  return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * TWO_32;
}

/**
 * Why `next` cannot follow `previous` as the hard state of one node, or
 * undefined when it can: a term never goes down, and a vote cast in a term
 * is never changed or withdrawn within it.
 */
export function hardStateRegression(previous: HardState, next: HardState): string | undefined {
  if (next.term < previous.term) return `hard state term goes down from ${previous.term} to ${next.term}`;
  if (next.term === previous.term && previous.vote !== undefined && next.vote !== previous.vote) {
    return `hard state vote in term ${next.term} changes from ${previous.vote} to ${next.vote ?? 'none'}`;
  }
  return undefined;
}
