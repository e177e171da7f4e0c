import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageCorruptionError } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';
import { bodyChecksumMatches, checkFrame, RECORD_HEADER_BYTES } from './record-codec.js';

/**
 * Segment files of the write-ahead log (internal).
 *
 * The log is a sequence of files named `<seq>.wal`, `seq` being 16 lowercase
 * hex digits, starting at 1 and increasing by one at every rotation. Each
 * file starts with an 80-byte header: 32 fixed bytes written once,
 *
 * ```
 * offset 0   8 bytes  magic "SYNODWAL"
 * offset 8   u32 LE   format version (2)
 * offset 12  u32 LE   flags (0)
 * offset 16  u64 LE   seq (must match the file name)
 * offset 24  u32 LE   CRC-32 of bytes 0..24
 * offset 28  u32 LE   reserved (0)
 * ```
 *
 * then two 24-byte sync-mark slots (at 32 and 56), rewritten in place:
 *
 * ```
 * +0   u64 LE  synced end: bytes of this file a completed fdatasync covered
 * +8   u32 LE  generation (the slot is generation % 2)
 * +12  u32 LE  flags: bit 0 = sealed (the next segment exists and is durable)
 * +16  u32 LE  CRC-32 of +0..+16
 * +20  u32 LE  reserved (0)
 * ```
 *
 * followed by records (see `record-codec.ts`), the first of which is always a
 * checkpoint. Only the last segment is ever written to; earlier ones were
 * fdatasync'ed before the next one was created, so damage in them is real
 * corruption, never a torn write.
 *
 * The sync mark is the durable high-water mark that lets recovery tell a
 * torn tail (bytes no sync ever covered) from lost synced data. Each group
 * commit writes, together with its records, the end that the previous
 * completed fdatasync covered, so the mark never claims more than is on
 * disk even when a power failure lands in the middle of the commit; two
 * alternating slots mean a torn mark write leaves the older one readable.
 */

export const SEGMENT_HEADER_BYTES = 80;
/** The part of the header written once, at creation. */
const FIXED_HEADER_BYTES = 32;
const MARK_SLOT_BYTES = 24;
const MARK_SEALED = 1;
export const SEGMENT_FORMAT_VERSION = 2;
const MAGIC = Buffer.from('SYNODWAL', 'latin1');
const NAME = /^([0-9a-f]{16})\.wal$/;

export function segmentFileName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

/**
 * The sequence numbers of the segments in `dir`, ascending. A hole in the
 * sequence means a segment was lost; compaction only ever deletes from the
 * front, so that can't be a leftover of normal operation.
 */
export function listSegments(fs: FileSystem, dir: string): number[] {
  const seqs: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = NAME.exec(name);
    if (match !== null) seqs.push(Number.parseInt(match[1]!, 16));
  }
  seqs.sort((a, b) => a - b);
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1]! + 1) {
      throw new StorageCorruptionError(
        join(dir, segmentFileName(seqs[i - 1]! + 1)),
        0,
        `segment missing: found ${segmentFileName(seqs[i - 1]!)} and ${segmentFileName(seqs[i]!)} but nothing between them`,
      );
    }
  }
  return seqs;
}

/** The header of a new segment: the fixed part and two empty mark slots. */
export function encodeSegmentHeader(seq: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_FORMAT_VERSION, 8);
  header.writeUInt32LE(seq % 0x1_0000_0000, 16);
  header.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), 20);
  header.writeUInt32LE(crc32(header.subarray(0, 24)), 24);
  return header;
}

/** What the sync mark of a segment says. */
export interface SyncMark {
  /** Bytes of the file that a completed fdatasync covered. */
  readonly syncedEnd: number;
  /** True once the next segment was created durably: this one is complete. */
  readonly sealed: boolean;
  readonly generation: number;
}

/** The mark with no sync recorded yet. */
export const initialSyncMark: SyncMark = { syncedEnd: 0, sealed: false, generation: 0 };

/** The bytes of mark `mark` and the file offset they go to. */
export function encodeSyncMark(mark: SyncMark): { readonly position: number; readonly bytes: Buffer } {
  const bytes = Buffer.alloc(MARK_SLOT_BYTES);
  bytes.writeUInt32LE(mark.syncedEnd % 0x1_0000_0000, 0);
  bytes.writeUInt32LE(Math.floor(mark.syncedEnd / 0x1_0000_0000), 4);
  bytes.writeUInt32LE(mark.generation >>> 0, 8);
  bytes.writeUInt32LE(mark.sealed ? MARK_SEALED : 0, 12);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, 16)), 16);
  return { position: FIXED_HEADER_BYTES + (mark.generation % 2) * MARK_SLOT_BYTES, bytes };
}

/**
 * The newest valid sync mark in a segment's header. A slot with a bad
 * checksum (never written, or torn by a crash while being rewritten) is
 * ignored; with neither valid the segment was never marked.
 */
export function readSyncMark(path: string, bytes: Buffer): SyncMark {
  const slots: SyncMark[] = [];
  for (let slot = 0; slot < 2; slot++) {
    const at = FIXED_HEADER_BYTES + slot * MARK_SLOT_BYTES;
    if (crc32(bytes.subarray(at, at + 16)) !== bytes.readUInt32LE(at + 16)) continue;
    const syncedEnd = bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000;
    const generation = bytes.readUInt32LE(at + 8);
    const flags = bytes.readUInt32LE(at + 12);
    if (generation % 2 !== slot || !Number.isSafeInteger(syncedEnd) || (flags & ~MARK_SEALED) !== 0) {
      throw new StorageCorruptionError(path, at, 'malformed sync mark in the segment header');
    }
    slots.push({ syncedEnd, sealed: (flags & MARK_SEALED) !== 0, generation });
  }
  if (slots.length === 0) return initialSyncMark;
  if (slots.length === 1) return slots[0]!;
  const [a, b] = slots as [SyncMark, SyncMark];
  // Generations are consecutive; the newer one is one past the other (mod 2^32).
  return ((a.generation + 1) >>> 0) === b.generation ? b : a;
}

/** Throws a {@link StorageCorruptionError} unless `bytes` starts with a valid header for segment `seq`. */
export function verifySegmentHeader(path: string, bytes: Buffer, seq: number): void {
  if (bytes.length === 0) throw new StorageCorruptionError(path, 0, 'segment file is empty');
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    throw new StorageCorruptionError(path, 0, `segment file is ${bytes.length} bytes, shorter than its header`);
  }
  if (!bytes.subarray(0, 8).equals(MAGIC)) {
    throw new StorageCorruptionError(path, 0, 'not a Synod WAL segment (bad magic)');
  }
  const version = bytes.readUInt32LE(8);
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw new StorageCorruptionError(
      path,
      8,
      `unsupported WAL format version ${version} (this build reads version ${SEGMENT_FORMAT_VERSION})`,
    );
  }
  if (crc32(bytes.subarray(0, 24)) !== bytes.readUInt32LE(24)) {
    throw new StorageCorruptionError(path, 24, 'segment header checksum mismatch');
  }
  const stored = bytes.readUInt32LE(16) + bytes.readUInt32LE(20) * 0x1_0000_0000;
  if (stored !== seq) {
    throw new StorageCorruptionError(path, 16, `segment header says seq ${stored}, the file name says ${seq}`);
  }
}

/**
 * True when `bytes` hold an invalid header for segment `seq` followed by
 * nothing but zeros: a header write cut short after the file had its full
 * size on disk. Only meaningful for the last segment.
 */
export function isTornSegmentHeader(bytes: Buffer, seq: number): boolean {
  if (zeroFrom(bytes, 0, bytes.length) > SEGMENT_HEADER_BYTES) return false;
  try {
    verifySegmentHeader('', bytes, seq);
    return false;
  } catch {
    return true;
  }
}

/** Where a torn tail starts, and why it was judged torn. */
export interface TornTail {
  readonly offset: number;
  readonly reason: string;
}

export interface ScanResult {
  /** The end of the last valid record: everything after it is a torn tail. */
  readonly validEnd: number;
  readonly torn: TornTail | undefined;
}

/** Called for each valid record: `bodyStart` points at the type byte. */
export type RecordVisitor = (type: number, bodyStart: number, bodyLength: number, offset: number) => void;

/**
 * Walks the records of one segment and tells the torn tail of the last
 * segment apart from corruption.
 *
 * A damaged record is a torn tail (the unsynced end of the last batch, cut
 * short by a crash) only when it is in the last segment and one of these
 * holds: the header itself is cut short; the header is valid but the body
 * runs past the end of the file; the checksum fails and the record is the
 * last one in the file; or everything from the damage to the end of the file
 * is zeros (file systems may extend a file before its data reaches the disk),
 * the damage being either the whole record or the rest of its header.
 * Anything else, and any damage in an earlier segment, throws a
 * {@link StorageCorruptionError} with the file and offset, because a valid
 * record after the damage proves the damage is in data that was once
 * written completely, and possibly acknowledged.
 */
export function scanRecords(
  path: string,
  bytes: Buffer,
  isLast: boolean,
  maxBodyBytes: number,
  visit: RecordVisitor,
): ScanResult {
  const size = bytes.length;
  let offset = SEGMENT_HEADER_BYTES;
  const tail = (reason: string, corruptReason: string): ScanResult => {
    if (!isLast) throw new StorageCorruptionError(path, offset, `${corruptReason} in a sealed segment`);
    return { validEnd: offset, torn: { offset, reason } };
  };
  while (offset < size) {
    const frame = checkFrame(bytes, offset, maxBodyBytes);
    if (!frame.ok) {
      if (frame.reason === 'short-header') return tail('incomplete record header at the end', 'truncated record header');
      if (allZero(bytes, offset, size)) return tail('zero-filled tail', 'zeroed record header');
      // The header's first bytes made it and the rest of the file reads as
      // zeros: the write was cut inside the header after the file size had
      // reached the disk. Any damaged header with real bytes after it, or
      // any in an earlier record, still counts as corruption.
      if (zeroFrom(bytes, offset, size) < offset + RECORD_HEADER_BYTES) {
        return tail('record header cut short by a zero-filled tail', 'record header cut short by zeros');
      }
      throw new StorageCorruptionError(path, offset, 'damaged record header (length check failed)');
    }
    const end = offset + RECORD_HEADER_BYTES + frame.bodyLength;
    if (end > size) return tail('record extends past the end of the file', 'record extends past the end of the file');
    if (!bodyChecksumMatches(bytes, offset, frame.bodyLength)) {
      if (end === size || allZero(bytes, end, size)) {
        return tail('checksum mismatch on the last record', 'checksum mismatch');
      }
      throw new StorageCorruptionError(path, offset, 'record checksum mismatch');
    }
    visit(bytes[offset + RECORD_HEADER_BYTES]!, offset + RECORD_HEADER_BYTES, frame.bodyLength, offset);
    offset = end;
  }
  return { validEnd: offset, torn: undefined };
}

/** Where the run of zeros that ends the range [from, to) starts (`to` when the last byte is not zero). */
function zeroFrom(bytes: Buffer, from: number, to: number): number {
  let at = to;
  while (at > from && bytes[at - 1] === 0) at--;
  return at;
}

function allZero(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}
