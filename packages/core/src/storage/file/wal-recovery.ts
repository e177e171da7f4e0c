import { join } from 'node:path';
import type { HardState } from '../../raft/types.js';
import { StorageCorruptionError } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';
import { LogIndex } from './log-index.js';
import { withIo } from './file-storage-errors.js';
import {
  decodeCheckpoint,
  decodeHardStateRecord,
  decodeMarker,
  emptyHardState,
  entryHeaderAt,
  hardStateRegression,
  minimumBodyBytes,
  RECORD_HEADER_BYTES,
  RecordType,
} from './record-codec.js';
import {
  initialSyncMark,
  isTornSegmentHeader,
  readSyncMark,
  scanRecords,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  verifySegmentHeader,
  type SyncMark,
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
 *
 * Every decoded field is checked (exact numbers, flags, a term or vote that
 * never goes back, entry terms that never go down, a commit index inside the
 * log), and the sync marks in the segment headers say how much of each
 * segment a completed fdatasync covered: a torn tail may cut only bytes past
 * that mark, and a sealed segment must be followed by the next one.
 */

/**
 * The most entries a first checkpoint may count in front of its segment (in
 * segments compaction deleted). Far above any real log (each one costs
 * memory in the index); it stops a forged checkpoint from exhausting memory.
 */
const MAX_PLACEHOLDERS = 2 ** 27;

export interface RecoveredSegment {
  readonly seq: number;
  readonly path: string;
  /** Bytes of the file that hold valid records; a torn tail beyond it is cut off. */
  readonly validEnd: number;
  /** The sync mark in its header. */
  readonly mark: SyncMark;
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

/**
 * @param initialized whether the data directory says a log was created in it
 *   (so the first segment was synced once and may not be missing or empty).
 */
export function recoverWal(
  fs: FileSystem,
  dir: string,
  seqs: readonly number[],
  cacheBytes: number,
  maxBodyBytes: number,
  initialized: boolean,
  raftRules = true,
): WalRecovery {
  const index = new LogIndex(cacheBytes);
  let hardState = emptyHardState;
  let started = false;
  let torn: TornTailReport | undefined;
  let lastNeedsInit = false;
  const segments: RecoveredSegment[] = [];
  // Where the hard state was last set, for the error if the log ends before its commit index.
  let hardStateAt = { file: dir, offset: 0 };

  /**
   * A last segment with no usable record: a crash while a rotation (or the
   * very first open) was creating it. That is only possible while the
   * segment before it is unsealed, or, for the first segment, before the
   * directory was marked initialized; otherwise the file had been synced.
   */
  const needsInit = (seq: number, path: string, validEnd: number, what: string): void => {
    const previous = segments[segments.length - 1];
    const creating = previous === undefined ? !initialized && seq === 1 : !previous.mark.sealed;
    if (!creating) {
      throw new StorageCorruptionError(
        path,
        0,
        `${what}, but it had been synced (${previous === undefined ? 'the log was initialized' : `${previous.path} was sealed after it was created`}): synced records are missing`,
      );
    }
    lastNeedsInit = true;
    segments.push({ seq, path, validEnd, mark: initialSyncMark });
  };

  seqs.forEach((seq, k) => {
    const isLast = k === seqs.length - 1;
    const path = join(dir, segmentFileName(seq));
    const bytes = withIo('reading segment', path, () => fs.readFileSync(path));
    if (isLast && bytes.length < SEGMENT_HEADER_BYTES) {
      // A crash during rotation: the file exists, its header never made it.
      if (bytes.length > 0) torn = { file: path, offset: 0, reason: 'incomplete segment header', bytes: bytes.length };
      needsInit(seq, path, 0, bytes.length === 0 ? 'the last segment is empty' : 'the last segment is cut inside its header');
      return;
    }
    if (isLast && isTornSegmentHeader(bytes, seq)) {
      // The same crash on a file system that made the file's size durable
      // before its data: part of the header, then zeros to the end. Nothing
      // after the header was ever readable, so no record is lost.
      torn = { file: path, offset: 0, reason: 'segment header cut short by a zero-filled tail', bytes: bytes.length };
      needsInit(seq, path, 0, 'the header of the last segment is cut short by zeros');
      return;
    }
    verifySegmentHeader(path, bytes, seq);
    const mark = readSyncMark(path, bytes);
    let first = true;
    const scan = scanRecords(path, bytes, isLast, maxBodyBytes, (type, bodyStart, bodyLength, offset) => {
      const fail = (reason: string): never => {
        throw new StorageCorruptionError(path, offset, reason);
      };
      const minimum = minimumBodyBytes(type);
      if (minimum === undefined) fail(`unknown record type ${type}`);
      if (bodyLength < (minimum ?? 0)) fail(`record of type ${type} is too short (${bodyLength} bytes)`);
      const setHardState = (next: HardState): void => {
        const regression = started && raftRules ? hardStateRegression(hardState, next) : undefined;
        if (regression !== undefined) fail(regression);
        hardState = next;
        hardStateAt = { file: path, offset };
      };
      if (first) {
        first = false;
        if (type !== RecordType.checkpoint) fail('segment does not start with a checkpoint record');
        const checkpoint = decodeCheckpoint(bytes, bodyStart, bodyLength, fail);
        if (!started) {
          started = true;
          if (checkpoint.lastIndex - checkpoint.offset > MAX_PLACEHOLDERS) {
            fail(`checkpoint counts ${checkpoint.lastIndex - checkpoint.offset} entries before this segment, more than any log holds`);
          }
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
        setHardState(checkpoint.hardState);
        return;
      }
      switch (type) {
        case RecordType.entry: {
          const entry = entryHeaderAt(bytes, bodyStart, fail);
          if (entry.index > index.lastIndex + 1) {
            fail(`entry ${entry.index} leaves a gap after entry ${index.lastIndex}`);
          }
          if (entry.index <= index.offset) fail(`entry ${entry.index} is not after the log start ${index.offset}`);
          // Placeholders for entries in deleted segments have term 0, so this
          // only compares with terms replay actually knows.
          const previousTerm = index.term(entry.index - 1);
          if (raftRules && entry.term < previousTerm) {
            fail(`entry ${entry.index} has term ${entry.term}, below the term ${previousTerm} of entry ${entry.index - 1}`);
          }
          index.truncateAfter(entry.index - 1);
          const recordBytes = RECORD_HEADER_BYTES + bodyLength;
          index.push(entry.term, seq, offset, recordBytes, bodyLength - (minimum ?? 0));
          return;
        }
        case RecordType.hardState:
          setHardState(decodeHardStateRecord(bytes, bodyStart, bodyLength, fail));
          return;
        case RecordType.compact: {
          const marker = decodeMarker(bytes, bodyStart, fail);
          if (marker.index <= index.offset || marker.index > index.lastIndex) {
            fail(`compaction to ${marker.index} is outside the log ${index.offset + 1}..${index.lastIndex}`);
          }
          const known = index.term(marker.index);
          if (known !== 0 && known !== marker.term) {
            fail(`compaction marker says entry ${marker.index} has term ${marker.term}, the log says ${known}`);
          }
          index.compactTo(marker.index, marker.term);
          return;
        }
        case RecordType.reset: {
          const marker = decodeMarker(bytes, bodyStart, fail);
          if (marker.index < index.offset || (raftRules && marker.term < index.offsetTerm)) {
            fail(
              `snapshot reset to ${marker.index} (term ${marker.term}) goes back before the log start ${index.offset} (term ${index.offsetTerm})`,
            );
          }
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
    if (mark.syncedEnd > scan.validEnd) {
      throw new StorageCorruptionError(
        path,
        scan.validEnd,
        `synced records are missing: ${mark.syncedEnd} bytes of this segment were synced, only ${scan.validEnd} hold valid records`,
      );
    }
    if (mark.sealed && mark.syncedEnd !== scan.validEnd) {
      throw new StorageCorruptionError(
        path,
        scan.validEnd,
        `segment was sealed at ${mark.syncedEnd} bytes but holds ${scan.validEnd}`,
      );
    }
    if (isLast && mark.sealed) {
      throw new StorageCorruptionError(
        join(dir, segmentFileName(seq + 1)),
        0,
        `segment missing: ${path} was sealed after its successor was created, and synced records were in it`,
      );
    }
    if (first) {
      if (!isLast) throw new StorageCorruptionError(path, SEGMENT_HEADER_BYTES, 'sealed segment holds no records');
      needsInit(seq, path, scan.validEnd, 'the last segment holds no record');
      return;
    }
    segments.push({ seq, path, validEnd: scan.validEnd, mark });
  });

  if (seqs.length === 0 && initialized) {
    throw new StorageCorruptionError(dir, 0, 'no segment files, but a log was created here: synced records are missing');
  }

  const lost = index.firstInDeletedSegment();
  if (lost !== undefined) {
    throw new StorageCorruptionError(
      dir,
      0,
      `entry ${lost} is part of the log but its record is in none of the segments (a segment is missing)`,
    );
  }
  if (raftRules && hardState.commit > index.lastIndex) {
    throw new StorageCorruptionError(
      hardStateAt.file,
      hardStateAt.offset,
      `hard state commit index ${hardState.commit} is past the last entry ${index.lastIndex}`,
    );
  }
  return { index, hardState, segments, torn, lastNeedsInit };
}
