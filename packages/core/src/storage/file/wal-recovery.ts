import { join } from 'node:path';
import type { HardState } from '../../raft/types.js';
import { StorageCorruptionError } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';
import { LogIndex } from './log-index.js';
import {
  decodeCheckpoint,
  decodeHardStateRecord,
  decodeMarker,
  emptyHardState,
  entryIndexAt,
  entryTermAt,
  minimumBodyBytes,
  RECORD_HEADER_BYTES,
  RecordType,
} from './record-codec.js';
import {
  isTornSegmentHeader,
  scanRecords,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  verifySegmentHeader,
  type TornTail,
} from './segment-format.js';

/**
 * Rebuilds the in-memory log from the segment files (internal).
 *
 * Replay applies records in file order with the same rules as the live
 * storage:
 * - The checkpoint that opens the first segment gives the base: the log
 *   starts empty after its `lastIndex`, with its hard state. Checkpoints of
 *   later segments must agree with what replay has built so far, which
 *   catches a segment that was swapped or restored from elsewhere.
 * - An entry record at index i drops every entry ≥ i (the conflicting suffix
 *   it replaced) and becomes entry i. An index past `lastIndex + 1` is a gap:
 *   corruption.
 * - `compact` and `reset` markers discard a prefix or the whole log.
 *
 * Compaction deletes whole segments once nothing live is in them, so the
 * first segment left may start in the middle of history. Its checkpoint
 * says where the log started and ended at that moment; the entries it
 * counts whose records were in deleted segments are held as placeholders
 * that later records must truncate or compact away. One that survives replay
 * means a segment is missing, and recovery fails.
 */

export interface RecoveredSegment {
  readonly seq: number;
  readonly path: string;
  /** Bytes of the file that hold valid records; a torn tail beyond it is cut off. */
  readonly validEnd: number;
}

export interface TornTailReport extends TornTail {
  readonly file: string;
  /** How many bytes past `offset` the torn tail occupied. */
  readonly bytes: number;
}

export interface WalRecovery {
  readonly index: LogIndex;
  readonly hardState: HardState;
  readonly segments: readonly RecoveredSegment[];
  readonly torn: TornTailReport | undefined;
  /**
   * True when the last segment holds no record at all (empty or cut short
   * while being created by a rotation): it must be rewritten with a header
   * and checkpoint before use.
   */
  readonly lastNeedsInit: boolean;
}

export function recoverWal(
  fs: FileSystem,
  dir: string,
  seqs: readonly number[],
  cacheBytes: number,
  maxBodyBytes: number,
): WalRecovery {
  const index = new LogIndex(cacheBytes);
  let hardState = emptyHardState;
  let started = false;
  let torn: TornTailReport | undefined;
  let lastNeedsInit = false;
  const segments: RecoveredSegment[] = [];

  seqs.forEach((seq, k) => {
    const isLast = k === seqs.length - 1;
    const path = join(dir, segmentFileName(seq));
    const bytes = fs.readFileSync(path);
    if (isLast && bytes.length < SEGMENT_HEADER_BYTES) {
      // A crash during rotation: the file exists, its header never made it.
      if (bytes.length > 0) torn = { file: path, offset: 0, reason: 'incomplete segment header', bytes: bytes.length };
      lastNeedsInit = true;
      segments.push({ seq, path, validEnd: 0 });
      return;
    }
    if (isLast && isTornSegmentHeader(bytes, seq)) {
      // The same crash on a file system that made the file's size durable
      // before its data: part of the header, then zeros to the end. Nothing
      // after the header was ever readable, so no record is lost.
      torn = { file: path, offset: 0, reason: 'segment header cut short by a zero-filled tail', bytes: bytes.length };
      lastNeedsInit = true;
      segments.push({ seq, path, validEnd: 0 });
      return;
    }
    verifySegmentHeader(path, bytes, seq);
    let first = true;
    const scan = scanRecords(path, bytes, isLast, maxBodyBytes, (type, bodyStart, bodyLength, offset) => {
      const fail = (reason: string): never => {
        throw new StorageCorruptionError(path, offset, reason);
      };
      const minimum = minimumBodyBytes(type);
      if (minimum === undefined) fail(`unknown record type ${type}`);
      if (bodyLength < (minimum ?? 0)) fail(`record of type ${type} is too short (${bodyLength} bytes)`);
      if (first) {
        first = false;
        if (type !== RecordType.checkpoint) fail('segment does not start with a checkpoint record');
        const checkpoint = decodeCheckpoint(bytes, bodyStart, bodyLength);
        if (checkpoint.lastIndex < checkpoint.offset) fail('checkpoint ends the log before its start');
        if (!started) {
          started = true;
          index.reset(checkpoint.offset, checkpoint.offsetTerm);
          for (let i = checkpoint.offset + 1; i <= checkpoint.lastIndex; i++) {
            const term = i === checkpoint.lastIndex ? checkpoint.lastTerm : 0;
            index.push(term, LogIndex.deletedSegment, 0, 0, 0);
          }
        } else {
          // A rotation can fall between the truncation of a conflicting
          // suffix and the first replacing entry, so the checkpoint may end
          // the log earlier than the previous segment did; it then acts as
          // the truncation. It can never end it later, or move its start.
          const at = checkpoint.lastIndex;
          if (
            checkpoint.offset !== index.offset ||
            checkpoint.offsetTerm !== index.offsetTerm ||
            at > index.lastIndex ||
            (at > index.offset && index.segmentOf(at) !== LogIndex.deletedSegment && index.term(at) !== checkpoint.lastTerm)
          ) {
            fail(
              `checkpoint says the log holds ${checkpoint.offset + 1}..${at} (start term ${checkpoint.offsetTerm}), ` +
                `the earlier segments say ${index.offset + 1}..${index.lastIndex} (start term ${index.offsetTerm})`,
            );
          }
          index.truncateAfter(at);
        }
        hardState = checkpoint.hardState;
        return;
      }
      switch (type) {
        case RecordType.entry: {
          const entryIndex = entryIndexAt(bytes, bodyStart);
          if (entryIndex > index.lastIndex + 1) {
            fail(`entry ${entryIndex} leaves a gap after entry ${index.lastIndex}`);
          }
          if (entryIndex <= index.offset) fail(`entry ${entryIndex} is not after the log start ${index.offset}`);
          index.truncateAfter(entryIndex - 1);
          const recordBytes = RECORD_HEADER_BYTES + bodyLength;
          index.push(entryTermAt(bytes, bodyStart), seq, offset, recordBytes, bodyLength - (minimum ?? 0));
          return;
        }
        case RecordType.hardState:
          hardState = decodeHardStateRecord(bytes, bodyStart, bodyLength);
          return;
        case RecordType.compact: {
          const marker = decodeMarker(bytes, bodyStart);
          if (marker.index <= index.offset || marker.index > index.lastIndex) {
            fail(`compaction to ${marker.index} is outside the log ${index.offset + 1}..${index.lastIndex}`);
          }
          index.compactTo(marker.index, marker.term);
          return;
        }
        case RecordType.reset: {
          const marker = decodeMarker(bytes, bodyStart);
          index.reset(marker.index, marker.term);
          return;
        }
        default:
          fail('a checkpoint record in the middle of a segment');
      }
    });
    if (scan.torn !== undefined) {
      torn = { file: path, ...scan.torn, bytes: bytes.length - scan.torn.offset };
    }
    if (first) {
      if (!isLast) throw new StorageCorruptionError(path, SEGMENT_HEADER_BYTES, 'sealed segment holds no records');
      lastNeedsInit = true;
    }
    segments.push({ seq, path, validEnd: scan.validEnd });
  });

  const lost = index.firstInDeletedSegment();
  if (lost !== undefined) {
    throw new StorageCorruptionError(
      dir,
      0,
      `entry ${lost} is part of the log but its record is in none of the segments (a segment is missing)`,
    );
  }
  return { index, hardState, segments, torn, lastNeedsInit };
}
