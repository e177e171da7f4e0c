import { join } from 'node:path';
import { InvalidArgumentError } from '../../errors/errors.js';
import { emptyConfState } from '../../raft/types.js';
import type { ConfState, Entry, HardState, Snapshot } from '../../raft/types.js';
import type { InitialState, Storage } from '../storage.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from '../storage-errors.js';
import { DirectoryLock } from './dir-lock.js';
import { makeDirectoryDurably, removeTempFiles, writeFileAtomically } from './durable-files.js';
import {
  StorageClosedError,
  StorageCorruptionError,
  StorageFailedError,
  withIo,
} from './file-storage-errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { LogIndex } from './log-index.js';
import {
  bodyChecksumMatches,
  checkFrame,
  decodeEntry,
  entryRecordBytes,
  hardStateRegression,
  hardStatesEqual,
  RECORD_HEADER_BYTES,
  RecordBuffer,
  RecordType,
} from './record-codec.js';
import {
  encodeSegmentHeader,
  encodeSyncMark,
  initialSyncMark,
  listSegments,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  type SyncMark,
} from './segment-format.js';
import {
  loadLatestSnapshot,
  pruneSnapshots,
  pruneSnapshotsInBackground,
  snapshotFileName,
  writeSnapshotFile,
  writeSnapshotFileChunked,
  type StoredSnapshot,
} from './snapshot-files.js';
import { recoverWal, type TornTailReport } from './wal-recovery.js';

/** Options for {@link FileStorage.open}. */
export interface FileStorageOptions {
  /**
   * Size at which the active segment is sealed and a new one started.
   * Compaction frees space a whole segment at a time, so smaller segments
   * return space sooner at the cost of more files.
   * @default 67108864 (64 MiB)
   */
  readonly segmentBytes?: number;
  /**
   * Memory for the cache of recent entries. The leader replicates from the
   * tail of the log, so a cache that covers what followers lag behind by
   * keeps replication free of disk reads.
   * @default 16777216 (16 MiB)
   */
  readonly cacheBytes?: number;
  /**
   * Encoded records are kept in memory and handed to the kernel in one
   * `write` when `sync()` runs, or earlier once this many bytes are pending.
   * @default 1048576 (1 MiB)
   */
  readonly writeBufferBytes?: number;
  /**
   * How many snapshot files to keep; the newest is the one in use, older
   * ones are kept for inspection.
   * @default 2
   */
  readonly keepSnapshots?: number;
  /**
   * The membership to report from `initialState()` while there is no
   * snapshot, as for MemoryStorage.
   * @default emptyConfState (the core then uses `RaftConfig.voters`)
   */
  readonly confState?: ConfState;
  /**
   * `createSnapshot` writes the snapshot file in the background, this many
   * bytes at a time, yielding to the event loop between chunks; a smaller
   * chunk keeps the longest pause of the process shorter.
   * @default 1048576 (1 MiB)
   */
  readonly snapshotChunkBytes?: number;
  /**
   * Enforce Raft's rules on what is stored, on write and on replay: entry
   * terms never go down, the hard-state term never goes down, a vote is not
   * changed within its term, the commit index is inside the log. Turn off
   * for a log whose "term" and "vote" mean something else (Multi-Paxos
   * stores its promised ballot there and slots accepted in any ballot).
   * @default true
   */
  readonly raftRules?: boolean;
  /**
   * The file system to store the data on. Tests and simulators pass one
   * they control (for example `@synod/testkit`'s in-memory file system that
   * loses unsynced bytes on a simulated crash); everything else keeps the
   * default.
   * @default nodeFileSystem (`node:fs`)
   */
  readonly fileSystem?: FileSystem;
}

/** Counters for tests and benchmarks. */
export interface FileStorageStats {
  /** fdatasync/fsync calls issued (group commits, rotations, snapshots, directory syncs). */
  readonly fsyncs: number;
  /** Bytes handed to the kernel for WAL segments. */
  readonly bytesWritten: number;
  /** WAL records written (entries, hard states, markers, checkpoints). */
  readonly records: number;
  /** Segment files currently in the data directory. */
  readonly segments: number;
}

/** What `open` found and repaired. */
export interface FileStorageRecovery {
  /** The torn tail that was cut off the last segment, if any. */
  readonly truncatedTail: TornTailReport | undefined;
  /**
   * True when the snapshot on disk was newer than the log (a crash between
   * writing an applied snapshot and its WAL record) and the log was reset
   * to it.
   */
  readonly resetToSnapshot: boolean;
  readonly segments: number;
}

/** The largest record body the format accepts; larger lengths are treated as damage. */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
/**
 * How often a group commit also rewrites the sync mark in the segment
 * header (which costs the fdatasync one more page write): every this many
 * commits, or sooner once the mark would move this many bytes, and always
 * for a new term or vote. Between marks, lost synced entries of the last
 * few commits look like a torn tail; a lost vote never does. (etcd's WAL
 * repairs any torn tail of its last segment by truncating it, synced or not.)
 *
 * Why 32 commits: a small commit (one proposer, one entry per fdatasync)
 * writes one data page, so a mark every K commits adds 1/K of a page write
 * to each. At K = 8 that was 3.13–3.22 disk write requests per one-entry
 * commit instead of 3.07 (ext4), and the storage bench lost about 10 % of
 * its one-proposer throughput; at 32 it is 3.05–3.12.
 *
 * Why 1 MiB: at 64 KiB, group commits from 256 proposers (about 36 KiB
 * each) moved the mark every other commit: 1.5 pwrites per fdatasync
 * instead of 1 (strace of the storage bench's append scenario). At 1 MiB
 * they move it every 28 commits or so, the same share as small commits,
 * and at most 1 MiB of synced entries can be cut undetected.
 */
const MARK_EVERY_BYTES = 1024 * 1024;
const MARK_EVERY_SYNCS = 32;

/** Lets the event loop run between chunks of a snapshot write. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Disk reads for old entries are split into runs of at most this many bytes. */
const MAX_READ_BYTES = 4 * 1024 * 1024;
/**
 * Written (atomically) once the first segment is durable: from then on a
 * directory with no segment, or with an empty first one, has lost synced
 * records rather than being new.
 */
const INITIALIZED_FILE = 'wal.init';

interface Segment {
  readonly seq: number;
  readonly path: string;
  readonly fd: number;
  /** Bytes in the file (flushed). For the active segment, pending bytes come after. */
  size: number;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A durable {@link Storage}: a segmented write-ahead log plus snapshot files
 * in one data directory.
 *
 * **Writes and durability.** `append`, `setHardState`, `compact` and
 * `applySnapshot` encode records into memory and return at once; reads see
 * them immediately. `sync()` writes everything pending with one `write` and
 * covers it with one `fdatasync`. Calls to `sync()` made while an fdatasync
 * is running share the next one, so many concurrent proposers cost a handful
 * of fdatasyncs (group commit). Hard state lives in the same log, so the
 * `sync()` a Raft driver awaits before sending messages covers it too.
 *
 * **Layout.** `<dir>/LOCK` (owner pid), `<dir>/<seq>.wal` segments of framed,
 * CRC-32-checked records, and `<dir>/snapshot-<index>.snap`. Each segment
 * opens with a checkpoint record (last index and term, hard state) so that
 * segments in front of it can be deleted. A conflicting suffix is never
 * rewritten in place: a new entry record at index i supersedes every entry ≥ i
 * written before it. Compaction writes a marker and deletes whole segments
 * below the first entry still needed, once that marker is durable.
 *
 * **Recovery.** `open` replays the segments. A torn record at the end of the
 * last segment is cut off, but only past the segment's sync mark: every
 * group commit also records, in the segment header, how far the previous
 * completed fdatasync reached (and `close` records the final end), so a tail
 * cut into synced records, an emptied or deleted last segment, a directory
 * with no segments left, or a compacted log whose snapshot is gone throws
 * {@link StorageCorruptionError} naming the file, instead of coming back as
 * an older term, vote or log. Damage anywhere else throws it too, and every
 * decoded field is validated (numbers below 2^53, flags, terms and votes
 * that never go back, a commit index inside the log). One limit: the mark
 * trails the log (it moves with a group commit after the one it covers, and
 * for entries only every 32 commits or 64 KiB, to keep group commit cheap;
 * a new term or vote always moves it), so synced entries of the last few
 * commits before a crash that a lying disk lost look like a torn tail;
 * `close` records the exact end. A lock file with the owner's pid keeps other processes, and
 * other opens in this one, out.
 *
 * **File system.** Every file operation goes through a {@link FileSystem}
 * (option `fileSystem`, `node:fs` by default), so tests and simulators can
 * run the same code, recovery included, on a disk they control.
 *
 * @example
 * ```ts
 * const storage = await FileStorage.open('/var/lib/synod/n1', { segmentBytes: 64 * 1024 * 1024 });
 * storage.append([{ index: 1, term: 1, type: 'normal', data: new Uint8Array([1]) }]);
 * storage.setHardState({ term: 1, vote: 'n1', commit: 0 });
 * await storage.sync(); // entry 1 and the vote are on disk
 * await storage.close();
 * ```
 */
export class FileStorage implements Storage {
  /** The data directory. */
  readonly dir: string;
  readonly #fs: FileSystem;
  readonly #segmentBytes: number;
  readonly #writeBufferBytes: number;
  readonly #keepSnapshots: number;
  readonly #lock: DirectoryLock;
  readonly #index: LogIndex;
  #hardState: HardState;
  #snapshot: Snapshot;
  readonly #segments = new Map<number, Segment>();
  #active: Segment | undefined;
  /** Logical end of the header and checkpoint of the active segment: a segment this short is never rotated. */
  #activeBase = 0;
  /** The sync mark last written into the active segment's header. */
  #mark: SyncMark = initialSyncMark;
  /** Bytes of the active segment a completed fdatasync covered: the next mark to write. */
  #syncedEnd = 0;
  /** Group commits since the mark was last written. */
  #syncsSinceMark = 0;
  /** The end of the last record in the active segment that changed the term or vote. */
  #voteEnd = 0;
  readonly #snapshotChunkBytes: number;
  readonly #raftRules: boolean;
  /** The background writes of created snapshots, one after another. */
  #snapshotWrites: Promise<void> = Promise.resolve();
  /** The index of the newest snapshot whose file is durable. */
  #durableSnapshotIndex = 0;
  /**
   * Compactions done in memory whose markers wait for a snapshot file that
   * covers them to be durable; `#walStart` is where the log starts as the
   * WAL records it meanwhile (the checkpoint of a new segment says that).
   */
  #deferredCompactions: { readonly index: number; readonly term: number }[] = [];
  #walStart: { readonly offset: number; readonly offsetTerm: number } | undefined;
  readonly #pending = new RecordBuffer();
  /** Bumped by every write; `#durableSeq` is the value covered by the last completed fdatasync. */
  #writeSeq = 0;
  #durableSeq = 0;
  #running: { readonly covers: number; readonly promise: Promise<void> } | undefined;
  #next: Deferred | undefined;
  /** Segments to delete once the marker that made them unnecessary (written at `after`) is durable. */
  #deletions: { readonly seq: number; readonly after: number }[] = [];
  #fsyncs = 0;
  #bytesWritten = 0;
  #records = 0;
  #closing: Promise<void> | undefined;
  #fdsClosed = false;
  #failure: StorageFailedError | undefined;
  #recovery: FileStorageRecovery = { truncatedTail: undefined, resetToSnapshot: false, segments: 0 };

  private constructor(fs: FileSystem, dir: string, lock: DirectoryLock, options: FileStorageOptions, index: LogIndex) {
    this.dir = dir;
    this.#fs = fs;
    this.#lock = lock;
    this.#index = index;
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#writeBufferBytes = options.writeBufferBytes ?? 1024 * 1024;
    this.#keepSnapshots = options.keepSnapshots ?? 2;
    this.#snapshotChunkBytes = options.snapshotChunkBytes ?? 1024 * 1024;
    this.#raftRules = options.raftRules ?? true;
    this.#hardState = { term: 0, vote: undefined, commit: 0 };
    this.#snapshot = {
      metadata: { index: 0, term: 0, confState: options.confState ?? emptyConfState },
      data: new Uint8Array(0),
    };
  }

  /**
   * Opens (creating it if needed) the data directory `dir`, takes its lock
   * and recovers the log, the hard state and the newest snapshot.
   *
   * @throws {@link StorageLockedError} when another process or another open
   *   storage in this process holds `dir`.
   * @throws {@link StorageCorruptionError} when stored data is damaged
   *   anywhere but the torn tail of the last segment.
   *
   * @example
   * ```ts
   * const storage = await FileStorage.open(dataDir, { segmentBytes: 8 * 1024 * 1024 });
   * const { hardState } = storage.initialState();
   * ```
   */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
    validateOptions(options);
    const fs = options.fileSystem ?? nodeFileSystem;
    const createdFsyncs = withIo('creating data directory', dir, () => makeDirectoryDurably(fs, dir));
    const lock = DirectoryLock.acquire(fs, dir);
    let storage: FileStorage | undefined;
    try {
      withIo('removing temp files in', dir, () => removeTempFiles(fs, dir));
      const initialized = withIo('listing', dir, () => fs.readdirSync(dir)).includes(INITIALIZED_FILE);
      const stored = loadLatestSnapshot(fs, dir);
      const seqs = withIo('listing', dir, () => listSegments(fs, dir));
      const cacheBytes = options.cacheBytes ?? 16 * 1024 * 1024;
      const wal = recoverWal(fs, dir, seqs, cacheBytes, MAX_BODY_BYTES, initialized, options.raftRules ?? true);
      storage = new FileStorage(fs, dir, lock, options, wal.index);
      storage.#hardState = wal.hardState;
      storage.#fsyncs += createdFsyncs;
      storage.#restore(wal, stored);
      if (!initialized) {
        storage.#fsyncs += withIo('writing', join(dir, INITIALIZED_FILE), () =>
          writeFileAtomically(fs, dir, INITIALIZED_FILE, Buffer.from('synod wal\n', 'utf8')),
        );
      }
      return storage;
    } catch (error) {
      if (storage !== undefined) storage.#closeFiles();
      lock.release();
      throw error;
    }
  }

  initialState(): InitialState {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  /** The hard state last written. */
  hardState(): HardState {
    return this.#hardState;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const index = this.#index;
    if (lo <= index.offset) throw new CompactedError(lo);
    if (hi > index.lastIndex + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    let end = hi;
    if (maxBytes !== undefined) {
      // Same rule as MemoryStorage's limitBytes, decided from the index so
      // that no entry past the limit is read from disk.
      let size = index.dataBytesOf(lo);
      end = lo + 1;
      while (end < hi) {
        size += index.dataBytesOf(end);
        if (size > maxBytes) break;
        end++;
      }
    }
    const result: Entry[] = [];
    let i = lo;
    while (i < end) {
      const cached = index.cached(i);
      if (cached !== undefined) {
        result.push(cached);
        i++;
        continue;
      }
      i = this.#readRun(i, end, result);
    }
    return result;
  }

  term(index: number): number {
    if (index < this.#index.offset) throw new CompactedError(index);
    if (index > this.#index.lastIndex) throw new UnavailableError(index);
    return this.#index.term(index);
  }

  firstIndex(): number {
    return this.#index.offset + 1;
  }

  lastIndex(): number {
    return this.#index.lastIndex;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  append(entries: readonly Entry[]): void {
    this.#assertWritable();
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    // Entries entirely covered by the snapshot are already applied; skip them.
    if (lastNew < first) return;
    const toAppend = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const start = toAppend[0]!.index;
    if (start > this.#index.lastIndex + 1) {
      throw new InvalidArgumentError(
        `append would leave a gap: last index ${this.#index.lastIndex}, appending from ${start}`,
      );
    }
    // Replay refuses a log whose terms go down, so such a write is refused
    // now rather than left to make the directory unopenable.
    let previousTerm = start - 1 >= this.#index.offset ? this.#index.term(start - 1) : 0;
    for (let k = 0; k < toAppend.length; k++) {
      const entry = toAppend[k]!;
      if (entry.index !== start + k) throw new InvalidArgumentError(`entries are not consecutive at index ${entry.index}`);
      if (!isIndex(entry.term) || (this.#raftRules && entry.term < previousTerm)) {
        throw new InvalidArgumentError(
          `entry ${entry.index} has term ${entry.term}, not an integer at least the previous entry's term ${previousTerm}`,
        );
      }
      previousTerm = entry.term;
      if (entry.data.byteLength > MAX_BODY_BYTES - 64) {
        throw new InvalidArgumentError(`entry ${entry.index} has ${entry.data.byteLength} bytes of data, over the limit`);
      }
    }
    // Truncating the conflicting suffix (§5.3) needs no record of its own:
    // replay treats the entry record for `start` as superseding the rest.
    if (start <= this.#index.lastIndex) this.#index.truncateAfter(start - 1);
    for (const entry of toAppend) {
      const size = entryRecordBytes(entry);
      if (this.#end() + size > this.#segmentBytes && this.#end() > this.#activeBase) this.#rotate();
      const position = this.#end();
      this.#pending.appendEntry(entry);
      this.#index.push(entry.term, this.#active!.seq, position, size, entry.data.byteLength, entry);
    }
    this.#records += toAppend.length;
    this.#wrote();
  }

  /**
   * @throws InvalidArgumentError when the term goes down, the vote of the
   *   current term changes, the commit index is past the last entry, or a
   *   field is malformed: replay would refuse such a log.
   */
  setHardState(hardState: HardState): void {
    this.#assertWritable();
    if (hardStatesEqual(hardState, this.#hardState)) return;
    const { term, vote, commit } = hardState;
    if (!isIndex(term) || !isIndex(commit) || (vote !== undefined && (typeof vote !== 'string' || vote === ''))) {
      throw new InvalidArgumentError(`malformed hard state ${JSON.stringify(hardState)}`);
    }
    const regression = this.#raftRules ? hardStateRegression(this.#hardState, hardState) : undefined;
    if (regression !== undefined) throw new InvalidArgumentError(regression);
    if (this.#raftRules && commit > this.#index.lastIndex) {
      throw new InvalidArgumentError(`hard state commit index ${commit} is past the last entry ${this.#index.lastIndex}`);
    }
    const newVote = hardState.term !== this.#hardState.term || hardState.vote !== this.#hardState.vote;
    this.#hardState = hardState;
    this.#pending.appendHardState(hardState);
    if (newVote) this.#voteEnd = this.#end();
    this.#records++;
    this.#wrote();
  }

  /**
   * Replaces the log with `snapshot`. The snapshot file is durable when this
   * returns (it is written with fsyncs, synchronously, because the state
   * machine data must never be behind a log that points at it); the log
   * reset is durable after the next `sync()`.
   */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (!isIndex(index) || !isIndex(term)) {
      throw new InvalidArgumentError(`snapshot index and term must be non-negative integers, got ${index}/${term}`);
    }
    const current = this.#snapshot.metadata.index;
    if (snapshot.metadata.index <= current && current > 0) {
      throw new SnapshotOutOfDateError(snapshot.metadata.index, current);
    }
    if (this.#raftRules && term < this.#index.offsetTerm) {
      throw new InvalidArgumentError(`snapshot term ${term} is below the term ${this.#index.offsetTerm} of the log start`);
    }
    this.#assertWritable();
    this.#persistSnapshot(snapshot, 'applied');
    // The reset replaces the log, compactions waiting for a snapshot included.
    this.#deferredCompactions = [];
    this.#walStart = undefined;
    this.#pending.appendMarker(RecordType.reset, index, term);
    this.#index.reset(index, term);
    this.#records++;
    this.#wrote();
    this.#scheduleDeletions();
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be in the
   * log) without discarding entries; call {@link compact} separately.
   * `snapshot()` returns it at once. Its file is written in the background,
   * in chunks (option `snapshotChunkBytes`), so a large snapshot does not
   * stall the event loop; a compaction it covers is applied in memory at
   * once, and its WAL marker (and the deletion of old segments) waits until
   * the file is durable, so a crash never leaves a log that starts after its
   * snapshot. `data` must not be changed afterwards. {@link snapshotsWritten}
   * resolves when the file is durable; `close` waits for it.
   *
   * @example
   * ```ts
   * storage.createSnapshot(applied, stateMachine.snapshot());
   * storage.compact(applied);
   * await storage.sync();
   * ```
   */
  createSnapshot(index: number, data: Uint8Array, confState?: ConfState): Snapshot {
    const current = this.#snapshot.metadata.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.#assertWritable();
    const snapshot: Snapshot = {
      metadata: { index, term: this.term(index), confState: confState ?? this.#snapshot.metadata.confState },
      data,
    };
    this.#snapshot = snapshot;
    this.#snapshotWrites = this.#snapshotWrites.then(async () => {
      if (this.#failure !== undefined || this.#fdsClosed) return;
      try {
        const fs = this.#fs;
        this.#fsyncs += await writeSnapshotFileChunked(fs, this.dir, snapshot, 'created', this.#snapshotChunkBytes, yieldToEventLoop);
        await pruneSnapshotsInBackground(fs, this.dir, this.#keepSnapshots);
      } catch (error) {
        this.#fail('writing the snapshot failed', error);
        return;
      }
      this.#durableSnapshotIndex = Math.max(this.#durableSnapshotIndex, index);
      this.#releaseCompactions();
    });
    return snapshot;
  }

  /**
   * Resolves once the file of every snapshot created so far is durable (or
   * its write failed, which fails the storage).
   *
   * @example
   * ```ts
   * storage.createSnapshot(applied, data);
   * await storage.snapshotsWritten();
   * ```
   */
  snapshotsWritten(): Promise<void> {
    return this.#snapshotWrites;
  }

  /**
   * @throws InvalidArgumentError when `index` is past the snapshot: those
   *   entries would then be in neither the log nor a snapshot, and open
   *   refuses a log that starts after its newest snapshot.
   */
  compact(index: number): void {
    if (index <= this.#index.offset) throw new CompactedError(index);
    if (index > this.#index.lastIndex) throw new UnavailableError(index);
    if (index > this.#snapshot.metadata.index) {
      throw new InvalidArgumentError(
        `cannot compact to ${index}, past the snapshot at ${this.#snapshot.metadata.index}: take a snapshot first`,
      );
    }
    this.#assertWritable();
    const term = this.#index.term(index);
    if (index > this.#durableSnapshotIndex || this.#deferredCompactions.length > 0) {
      // The snapshot that covers it is still being written.
      this.#walStart ??= { offset: this.#index.offset, offsetTerm: this.#index.offsetTerm };
      this.#deferredCompactions.push({ index, term });
      this.#index.compactTo(index, term);
      return;
    }
    this.#pending.appendMarker(RecordType.compact, index, term);
    this.#index.compactTo(index, term);
    this.#records++;
    this.#wrote();
    this.#scheduleDeletions();
  }

  /** Writes the markers of the deferred compactions that durable snapshots now cover. */
  #releaseCompactions(): void {
    if (this.#failure !== undefined || this.#fdsClosed) return;
    while (this.#deferredCompactions.length > 0 && this.#deferredCompactions[0]!.index <= this.#durableSnapshotIndex) {
      const { index, term } = this.#deferredCompactions.shift()!;
      this.#pending.appendMarker(RecordType.compact, index, term);
      this.#records++;
      this.#wrote();
      this.#walStart = this.#deferredCompactions.length > 0 ? { offset: index, offsetTerm: term } : undefined;
    }
    if (this.#walStart === undefined) this.#scheduleDeletions();
  }

  /**
   * Resolves once every write made before the call is on disk. One fdatasync
   * runs at a time; calls made while it runs are covered by the next one,
   * which starts as soon as it finishes and covers everything written by
   * then.
   */
  sync(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const target = this.#writeSeq;
    if (target <= this.#durableSeq) return Promise.resolve();
    const running = this.#running;
    if (running !== undefined) {
      if (running.covers >= target) return running.promise;
      this.#next ??= deferred();
      return this.#next.promise;
    }
    return this.#startSync();
  }

  /** Syncs what was written, closes the files and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Counters for tests and benchmarks.
   *
   * @example
   * ```ts
   * const before = storage.stats().fsyncs;
   * await Promise.all(batch.map(async (e) => { storage.append([e]); await storage.sync(); }));
   * console.log(`${storage.stats().fsyncs - before} fdatasyncs for ${batch.length} appends`);
   * ```
   */
  stats(): FileStorageStats {
    return {
      fsyncs: this.#fsyncs,
      bytesWritten: this.#bytesWritten,
      records: this.#records,
      segments: this.#segments.size,
    };
  }

  /** What `open` found and repaired. */
  recovery(): FileStorageRecovery {
    return this.#recovery;
  }

  async #shutdown(): Promise<void> {
    try {
      if (this.#failure === undefined) {
        await this.#snapshotWrites;
        await this.sync();
        // The last commit's end is recorded by no later commit: record it now.
        if (this.#failure === undefined && !this.#fdsClosed && this.#syncedEnd > this.#mark.syncedEnd) {
          this.#writeMark({ syncedEnd: this.#syncedEnd, sealed: false });
          this.#fdatasyncNow(this.#active!.fd);
        }
      }
    } finally {
      this.#closeFiles();
      this.#lock.release();
    }
  }

  #closeFiles(): void {
    this.#fdsClosed = true;
    for (const segment of this.#segments.values()) {
      try {
        this.#fs.closeSync(segment.fd);
      } catch {
        // Closing is best effort; the data was synced (or the storage failed) already.
      }
    }
  }

  /** Opens the recovered segments, repairs the tail and reconciles the log with the snapshot. */
  #restore(wal: ReturnType<typeof recoverWal>, stored: StoredSnapshot | undefined): void {
    const fs = this.#fs;
    const last = wal.segments[wal.segments.length - 1];
    // When the last segment must be recreated, the one before it is sealed
    // afterwards, so it is opened for writing too.
    const unsealed = wal.lastNeedsInit ? wal.segments[wal.segments.length - 2] : undefined;
    let previous: Segment | undefined;
    for (const recovered of wal.segments) {
      const isLast = recovered === last;
      if (isLast && wal.lastNeedsInit) continue;
      const flags = isLast || recovered === unsealed ? 'r+' : 'r';
      const fd = withIo('opening segment', recovered.path, () => fs.openSync(recovered.path, flags));
      const segment: Segment = { seq: recovered.seq, path: recovered.path, fd, size: recovered.validEnd };
      this.#segments.set(recovered.seq, segment);
      if (recovered === unsealed) previous = segment;
      if (isLast) {
        this.#active = segment;
        this.#mark = recovered.mark;
        this.#syncedEnd = recovered.validEnd;
        if (withIo('reading the size of segment', recovered.path, () => fs.fstatSync(fd).size) > recovered.validEnd) {
          try {
            fs.ftruncateSync(fd, recovered.validEnd);
          } catch (error) {
            throw this.#fail(`cutting the torn tail off ${recovered.path} failed`, error);
          }
          this.#fdatasyncNow(fd);
        }
      }
    }
    if (last === undefined || wal.lastNeedsInit) {
      // No log yet, or a rotation crashed before the new segment got its
      // header and checkpoint: (re)create it from the recovered state, and
      // finish the rotation by sealing the segment before it.
      if (last !== undefined) {
        try {
          fs.unlinkSync(last.path);
        } catch (error) {
          throw this.#fail(`removing the unfinished segment ${last.path} failed`, error);
        }
      }
      this.#createSegment(last?.seq ?? 1);
      if (previous !== undefined) this.#seal(previous);
    } else {
      // A recovered segment is sealed as soon as it is full; only a fresh
      // one (activeBase set by #createSegment) is protected from an empty
      // rotation.
      this.#activeBase = SEGMENT_HEADER_BYTES;
    }

    let resetToSnapshot = false;
    if (stored !== undefined) {
      this.#snapshot = stored.snapshot;
      this.#durableSnapshotIndex = stored.snapshot.metadata.index;
      const { index, term } = stored.snapshot.metadata;
      if (this.#index.offset < index) {
        // An applied snapshot replaced the log, and only a crash before its
        // reset record reached the disk leaves the old log in front of it. A
        // created one is of applied entries, which a driver syncs before it
        // applies them, so the log already holds it; it is left alone, as
        // MemoryStorage does.
        if (stored.origin === 'applied') {
          this.#pending.appendMarker(RecordType.reset, index, term);
          this.#index.reset(index, term);
          this.#records++;
          this.#writeSeq++;
          resetToSnapshot = true;
        }
      }
    }
    if (this.#index.offset > this.#snapshot.metadata.index) {
      // Compaction only ever drops entries a snapshot holds; without that
      // snapshot the state machine cannot be rebuilt.
      throw new StorageCorruptionError(
        join(this.dir, snapshotFileName(this.#index.offset)),
        0,
        stored === undefined
          ? `snapshot missing: the log starts after entry ${this.#index.offset}, but there is no snapshot file`
          : `snapshot missing: the log starts after entry ${this.#index.offset}, but the newest snapshot is at ${stored.snapshot.metadata.index} (${stored.file})`,
      );
    }
    this.#scheduleDeletions();
    this.#flush();
    if (resetToSnapshot) this.#fdatasyncNow(this.#active!.fd);
    this.#durableSeq = this.#writeSeq;
    this.#syncedEnd = this.#active!.size;
    this.#runDeletions(this.#durableSeq);
    this.#recovery = { truncatedTail: wal.torn, resetToSnapshot, segments: this.#segments.size };
  }

  #persistSnapshot(snapshot: Snapshot, origin: 'applied' | 'created'): void {
    try {
      this.#fsyncs += writeSnapshotFile(this.#fs, this.dir, snapshot, origin);
      pruneSnapshots(this.#fs, this.dir, this.#keepSnapshots);
    } catch (error) {
      throw this.#fail('writing the snapshot failed', error);
    }
    this.#snapshot = snapshot;
    this.#durableSnapshotIndex = Math.max(this.#durableSnapshotIndex, snapshot.metadata.index);
  }

  /** The logical end of the active segment: flushed bytes plus pending ones. */
  #end(): number {
    return this.#active!.size + this.#pending.length;
  }

  #wrote(): void {
    this.#writeSeq++;
    if (this.#pending.length >= this.#writeBufferBytes) this.#flush();
  }

  #assertWritable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closing !== undefined) throw new StorageClosedError();
  }

  #fail(what: string, cause: unknown): StorageFailedError {
    this.#failure ??= new StorageFailedError(`${what}; reopen the storage to recover`, { cause });
    return this.#failure;
  }

  /** Hands pending records to the kernel with one write. */
  #flush(): void {
    const length = this.#pending.length;
    if (length === 0) return;
    const segment = this.#active!;
    try {
      writeAll(this.#fs, segment.fd, this.#pending.bytes(), segment.size);
    } catch (error) {
      throw this.#fail(`writing ${segment.path} failed`, error);
    }
    segment.size += length;
    this.#bytesWritten += length;
    this.#pending.clear();
  }

  #fdatasyncNow(fd: number): void {
    try {
      this.#fs.fdatasyncSync(fd);
    } catch (error) {
      throw this.#fail('fdatasync failed', error);
    }
    this.#fsyncs++;
  }

  /**
   * Starts the next segment. The current one is fdatasync'ed first, which
   * keeps the recovery rule simple: only the last segment can have a torn
   * tail, so damage in any other is corruption. It is sealed (a flag in its
   * sync mark) only once the new one is durable, so a sealed last segment
   * means its successor was lost, never that a rotation was cut short.
   */
  #rotate(): void {
    const sealing = this.#active!;
    this.#flush();
    this.#fdatasyncNow(sealing.fd);
    this.#createSegment(sealing.seq + 1);
    this.#seal(sealing);
  }

  /** Marks `segment` (no longer active, fully synced) as sealed. */
  #seal(segment: Segment): void {
    const { bytes, position } = encodeSyncMark({ syncedEnd: segment.size, sealed: true, generation: 0 });
    // Generation 0 and 1 go to different slots; write both so that neither
    // an older mark nor a torn write can hide the seal.
    const second = encodeSyncMark({ syncedEnd: segment.size, sealed: true, generation: 1 });
    try {
      writeAll(this.#fs, segment.fd, bytes, position);
      writeAll(this.#fs, segment.fd, second.bytes, second.position);
    } catch (error) {
      throw this.#fail(`sealing segment ${segment.path} failed`, error);
    }
    this.#fdatasyncNow(segment.fd);
  }

  /**
   * Creates segment `seq` with its header and checkpoint, durably, and makes
   * it the active one. Pending records must have been flushed.
   */
  #createSegment(seq: number): void {
    const path = join(this.dir, segmentFileName(seq));
    let fd: number;
    try {
      fd = this.#fs.openSync(path, 'wx+');
      const header = encodeSegmentHeader(seq);
      writeAll(this.#fs, fd, header, 0);
      this.#bytesWritten += header.length;
    } catch (error) {
      throw this.#fail(`creating segment ${path} failed`, error);
    }
    const segment: Segment = { seq, path, fd, size: SEGMENT_HEADER_BYTES };
    this.#segments.set(seq, segment);
    this.#active = segment;
    const { offset, offsetTerm } = this.#walStart ?? this.#index;
    const lastIndex = this.#index.lastIndex;
    this.#pending.appendCheckpoint({
      offset,
      offsetTerm,
      lastIndex,
      lastTerm: this.#index.term(lastIndex),
      hardState: this.#hardState,
    });
    this.#records++;
    this.#writeSeq++;
    this.#flush();
    this.#fdatasyncNow(fd);
    try {
      // The new name must be durable before anything in the file is
      // reported durable; syncing the directory now, once per segment,
      // keeps that off the group-commit path.
      this.#fs.fsyncDirectorySync(this.dir);
      this.#fsyncs++;
    } catch (error) {
      throw this.#fail(`syncing the directory ${this.dir} failed`, error);
    }
    this.#activeBase = this.#end();
    this.#mark = initialSyncMark;
    this.#syncedEnd = segment.size;
    this.#voteEnd = 0;
  }

  /** Whether this group commit should also move the sync mark (see MARK_EVERY_BYTES). */
  #markDue(): boolean {
    const marked = this.#mark.syncedEnd;
    if (this.#syncedEnd <= marked) return false;
    this.#syncsSinceMark++;
    return (
      (this.#voteEnd > marked && this.#voteEnd <= this.#syncedEnd) ||
      this.#syncedEnd - marked >= MARK_EVERY_BYTES ||
      this.#syncsSinceMark >= MARK_EVERY_SYNCS
    );
  }

  /** Writes the active segment's sync mark into its header (durable with the next fdatasync of it). */
  #writeMark(mark: { readonly syncedEnd: number; readonly sealed: boolean }): void {
    const segment = this.#active!;
    const next: SyncMark = { ...mark, generation: (this.#mark.generation + 1) >>> 0 };
    const { bytes, position } = encodeSyncMark(next);
    try {
      writeAll(this.#fs, segment.fd, bytes, position);
    } catch (error) {
      throw this.#fail(`writing the sync mark of ${segment.path} failed`, error);
    }
    this.#mark = next;
    this.#syncsSinceMark = 0;
  }

  /** Queues every segment in front of the first one still needed for deletion after the next fdatasync. */
  #scheduleDeletions(): void {
    // Segments hold entries whose compaction is not in the WAL yet.
    if (this.#walStart !== undefined) return;
    const keepFrom = this.#index.length > 0 ? this.#index.segmentOf(this.#index.offset + 1) : this.#active!.seq;
    for (const seq of this.#segments.keys()) {
      if (seq >= keepFrom) break;
      if (!this.#deletions.some((d) => d.seq === seq)) this.#deletions.push({ seq, after: this.#writeSeq });
    }
  }

  /** Deletes the queued segments whose compaction or reset marker is now durable. */
  #runDeletions(durable: number): void {
    const ready = this.#deletions.filter((d) => d.after <= durable);
    if (ready.length === 0) return;
    this.#deletions = this.#deletions.filter((d) => d.after > durable);
    for (const { seq } of ready) {
      const segment = this.#segments.get(seq);
      if (segment === undefined || segment === this.#active) continue;
      this.#segments.delete(seq);
      this.#fs.closeSync(segment.fd);
      // A crash before this point only leaves an extra segment, which replay
      // reads and compacts away again.
      this.#fs.unlinkSync(segment.path);
    }
  }

  #startSync(): Promise<void> {
    if (this.#fdsClosed) return Promise.reject(new StorageClosedError());
    try {
      // Records, with the same fdatasync, how far the previous one reached:
      // never more than is durable, even if this one is cut short.
      if (this.#markDue()) this.#writeMark({ syncedEnd: this.#syncedEnd, sealed: false });
      this.#flush();
    } catch (error) {
      return Promise.reject(error);
    }
    const covers = this.#writeSeq;
    const segment = this.#active!;
    const end = segment.size;
    const promise = this.#fs.fdatasync(segment.fd).then(
      () => {
        this.#fsyncs++;
        this.#durableSeq = Math.max(this.#durableSeq, covers);
        if (segment === this.#active) this.#syncedEnd = Math.max(this.#syncedEnd, end);
        try {
          this.#runDeletions(covers);
        } catch (error) {
          this.#fail('deleting compacted segments failed', error);
        }
        this.#afterSync();
      },
      (error: unknown) => {
        const failure = this.#fail('fdatasync failed', error);
        this.#afterSync();
        throw failure;
      },
    );
    this.#running = { covers, promise };
    return promise;
  }

  /** Starts the fdatasync that the callers who arrived during the last one are waiting for. */
  #afterSync(): void {
    this.#running = undefined;
    const next = this.#next;
    if (next === undefined) return;
    this.#next = undefined;
    if (this.#failure !== undefined) next.reject(this.#failure);
    else this.#startSync().then(next.resolve, next.reject);
  }

  /**
   * Reads the uncached entries from `from` (stopping before `end`, at a
   * cached entry, at a segment boundary or after MAX_READ_BYTES) with one
   * `readSync`, appends them to `out` and returns the next index to read.
   */
  #readRun(from: number, end: number, out: Entry[]): number {
    if (this.#fdsClosed) throw new StorageClosedError();
    const index = this.#index;
    const seq = index.segmentOf(from);
    const start = index.positionOf(from);
    let to = from + 1;
    while (
      to < end &&
      index.cached(to) === undefined &&
      index.segmentOf(to) === seq &&
      index.positionOf(to) + index.recordBytesOf(to) - start <= MAX_READ_BYTES
    ) {
      to++;
    }
    const stop = index.positionOf(to - 1) + index.recordBytesOf(to - 1);
    const segment = this.#segments.get(seq);
    if (segment === undefined) throw new StorageCorruptionError(this.dir, 0, `segment ${seq} for entry ${from} is gone`);
    if (segment === this.#active && stop > segment.size) this.#flush();
    const bytes = Buffer.allocUnsafe(stop - start);
    withIo('reading segment', segment.path, () => readAll(this.#fs, segment, bytes, start));
    for (let i = from; i < to; i++) {
      const at = index.positionOf(i) - start;
      const frame = checkFrame(bytes, at, MAX_BODY_BYTES);
      if (!frame.ok || !bodyChecksumMatches(bytes, at, frame.bodyLength)) {
        throw new StorageCorruptionError(segment.path, start + at, `entry ${i} failed its checksum on read`);
      }
      const entry = decodeEntry(bytes, at + RECORD_HEADER_BYTES, frame.bodyLength, (reason) => {
        throw new StorageCorruptionError(segment.path, start + at, reason);
      });
      if (entry.index !== i) {
        throw new StorageCorruptionError(segment.path, start + at, `expected entry ${i}, found entry ${entry.index}`);
      }
      out.push(entry);
    }
    return to;
  }
}

function validateOptions(options: FileStorageOptions): void {
  const check = (name: keyof FileStorageOptions, min: number): void => {
    const value = options[name];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`FileStorage option ${name} must be an integer ≥ ${min}`);
    }
  };
  check('segmentBytes', 1024);
  check('cacheBytes', 0);
  check('writeBufferBytes', 0);
  check('keepSnapshots', 1);
  check('snapshotChunkBytes', 4096);
}

function isIndex(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function writeAll(fs: FileSystem, fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += fs.writeSync(fd, bytes, written, bytes.byteLength - written, position + written);
  }
}

function readAll(fs: FileSystem, segment: Segment, bytes: Buffer, position: number): void {
  let read = 0;
  while (read < bytes.length) {
    const n = fs.readSync(segment.fd, bytes, read, bytes.length - read, position + read);
    if (n === 0) throw new StorageCorruptionError(segment.path, position + read, 'unexpected end of file');
    read += n;
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
