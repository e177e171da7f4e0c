import { InvalidArgumentError } from '../errors/errors.js';
import { emptyConfState } from '../raft/types.js';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';
import type { InitialState, Storage } from './storage.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from './storage-errors.js';

/** Options for {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * The membership to report from `initialState()` before any snapshot.
   * @default emptyConfState (the core then uses `RaftConfig.voters`)
   */
  readonly confState?: ConfState;
  /** A hard state to start from, for tests that model a restart. */
  readonly hardState?: HardState;
}

const emptyHardState: HardState = Object.freeze({ term: 0, vote: undefined, commit: 0 });

/**
 * A `Storage` held entirely in memory. Every write counts as durable at once,
 * so `sync()` resolves immediately. Used by tests, the simulator and the
 * in-process demo.
 *
 * Internally slot 0 of the entry array is a placeholder that records the
 * index and term of the last compacted entry (the snapshot point), which keeps
 * the index arithmetic the same whether or not the log was compacted.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * storage.append([{ index: 1, term: 1, type: 'normal', data: new Uint8Array() }]);
 * storage.term(1); // 1
 * ```
 */
export class MemoryStorage implements Storage {
  #hardState: HardState;
  #snapshot: Snapshot;
  /** `#entries[0]` is the placeholder for the snapshot point. */
  #entries: Entry[];

  constructor(options: MemoryStorageOptions = {}) {
    this.#hardState = options.hardState ?? emptyHardState;
    this.#snapshot = {
      metadata: { index: 0, term: 0, confState: options.confState ?? emptyConfState },
      data: new Uint8Array(0),
    };
    this.#entries = [placeholder(0, 0)];
  }

  initialState(): InitialState {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  /** The hard state last written (for tests and drivers that inspect storage). */
  hardState(): HardState {
    return this.#hardState;
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    const offset = this.#offset();
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    const slice = this.#entries.slice(lo - offset, hi - offset);
    return maxBytes === undefined ? slice : limitBytes(slice, maxBytes);
  }

  term(index: number): number {
    const offset = this.#offset();
    if (index < offset) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    return this.#entries[index - offset]!.term;
  }

  firstIndex(): number {
    return this.#offset() + 1;
  }

  lastIndex(): number {
    return this.#offset() + this.#entries.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const lastNew = entries[entries.length - 1]!.index;
    // Entries entirely covered by the snapshot are already applied; skip them.
    if (lastNew < first) return;
    const toAppend = entries[0]!.index < first ? entries.slice(first - entries[0]!.index) : entries;
    const position = toAppend[0]!.index - this.#offset();
    if (position > this.#entries.length) {
      throw new InvalidArgumentError(
        `append would leave a gap: last index ${this.lastIndex()}, appending from ${toAppend[0]!.index}`,
      );
    }
    // Truncate the conflicting suffix (if any) before appending, as Raft's
    // AppendEntries rule 3 requires (§5.3). In place: copying the whole log
    // on every append would make appends cost O(log length). Setting the
    // length is not free, so only when there is a suffix to drop.
    if (this.#entries.length > position) this.#entries.length = position;
    for (const entry of toAppend) this.#entries.push(entry);
  }

  setHardState(hardState: HardState): void {
    this.#hardState = hardState;
  }

  applySnapshot(snapshot: Snapshot): void {
    const current = this.#snapshot.metadata.index;
    if (snapshot.metadata.index <= current && current > 0) {
      throw new SnapshotOutOfDateError(snapshot.metadata.index, current);
    }
    this.#snapshot = snapshot;
    this.#entries = [placeholder(snapshot.metadata.index, snapshot.metadata.term)];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be in the
   * log) without discarding entries; call {@link compact} separately.
   */
  createSnapshot(index: number, data: Uint8Array, confState?: ConfState): Snapshot {
    const current = this.#snapshot.metadata.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.#snapshot = {
      metadata: { index, term: this.term(index), confState: confState ?? this.#snapshot.metadata.confState },
      data,
    };
    return this.#snapshot;
  }

  compact(index: number): void {
    const offset = this.#offset();
    if (index <= offset) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const kept = this.#entries.slice(index - offset + 1);
    this.#entries = [placeholder(index, this.#entries[index - offset]!.term), ...kept];
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #offset(): number {
    return this.#entries[0]!.index;
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}

/**
 * Keeps a prefix of `entries` whose data sizes sum to at most `maxBytes`,
 * but always the first entry, so that an oversized entry can still make
 * progress.
 */
export function limitBytes(entries: readonly Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return [];
  let size = entries[0]!.data.byteLength;
  let n = 1;
  for (; n < entries.length; n++) {
    size += entries[n]!.data.byteLength;
    if (size > maxBytes) break;
  }
  return entries.slice(0, n);
}
