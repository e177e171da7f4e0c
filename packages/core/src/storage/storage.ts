import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';

/** What a node recovers with at start-up. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * The synchronous read side of a Raft log, used by the pure core. Durable
 * implementations keep enough in memory (index, recent entries) to answer
 * without I/O.
 *
 * Index conventions (as in etcd): `firstIndex()` is the first entry still
 * available (snapshot index + 1); `term(firstIndex() - 1)` is the snapshot's
 * term; `lastIndex()` is the last entry, or the snapshot index when empty.
 */
export interface LogReader {
  initialState(): InitialState;
  /** Entries in [lo, hi), at least one if any, and at most `maxBytes` of data beyond the first. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The term of entry `index`. Throws `CompactedError` below firstIndex()-1, `UnavailableError` past lastIndex(). */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/**
 * The Storage contract. Writes are visible to reads at once but durable only
 * once a later `sync()` has resolved.
 */
export interface Storage extends LogReader {
  /** Appends entries, first truncating any existing suffix that starts at `entries[0].index`. */
  append(entries: readonly Entry[]): void;
  setHardState(hardState: HardState): void;
  /** Replaces the log with a snapshot (and drops entries it covers). */
  applySnapshot(snapshot: Snapshot): void;
  /**
   * Records a snapshot of the state machine at `index` (applied, still in
   * the log), taken with the configuration in effect at that index, without
   * discarding entries; `snapshot()` returns it from then on. Call
   * {@link compact} to drop the entries it covers.
   *
   * Crash ordering: like every write it is durable only after `sync`, but a
   * later `compact` must never survive a crash that loses this snapshot.
   *
   * @throws SnapshotOutOfDateError when `index` is not newer than the current snapshot.
   * @throws UnavailableError when `index` is past the last entry.
   */
  createSnapshot(index: number, data: Uint8Array, confState: ConfState): Snapshot;
  /** Discards entries up to and including `index`, which must be applied. */
  compact(index: number): void;
  /** Resolves when every earlier write is durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}
