import { RaftInvariantError } from '../errors/errors.js';
import { CompactedError, UnavailableError } from '../storage/storage-errors.js';
import type { LogReader } from '../storage/storage.js';
import type { Entry, Snapshot } from './types.js';
import { UnstableLog } from './unstable-log.js';

/**
 * The Raft log as the core sees it: the persisted part (read through a
 * `LogReader`) followed by the unstable tail, plus the commit and apply
 * positions.
 *
 * Invariant: `applied <= committed <= lastIndex()`. `committed` only grows.
 */
export class RaftLog {
  readonly storage: LogReader;
  readonly unstable: UnstableLog;
  /** Highest index known to be committed (§5.3). */
  committed: number;
  /** Highest index the driver confirmed applied. */
  applied: number;
  /** Highest index handed to the driver for applying (not yet confirmed). */
  applying: number;

  constructor(storage: LogReader) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    // Everything up to the snapshot point is committed and applied by
    // definition (the snapshot is the state machine at that index).
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of entry `index`, or undefined when it is compacted or past the end. */
  term(index: number): number | undefined {
    // The entry before firstIndex is the snapshot point: its term is known.
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstable = this.unstable.maybeTerm(index);
    if (unstable !== undefined) return unstable;
    try {
      return this.storage.term(index);
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return undefined;
      throw err;
    }
  }

  /** Like {@link term}, with 0 for unknown entries (never a real term of a real entry). */
  termOrZero(index: number): number {
    return this.term(index) ?? 0;
  }

  lastTerm(): number {
    return this.termOrZero(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /**
   * The §5.4.1 election restriction: a log with last entry (`lastIndex`,
   * `lastTerm`) is at least as up-to-date as ours when its last term is
   * higher, or equal with an index at least as large.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Highest index persisted by the driver (the unstable tail starts after it). */
  persistedIndex(): number {
    return this.unstable.snapshot !== undefined ? this.unstable.offset - 1 - 1 : this.unstable.offset - 1;
  }

  /**
   * The follower side of AppendEntries (§5.3). If our log holds an entry at
   * `prevIndex` with `prevTerm`, appends `entries` (dropping a conflicting
   * suffix), advances commit to min(`commit`, last new entry) and returns the
   * index of the last new entry. Returns undefined when the logs do not
   * match at `prevIndex`.
   *
   * @throws RaftInvariantError when the append would remove committed
   *   entries: only a broken log or a buggy leader could ask for that.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftInvariantError(
          `append conflicts with committed entry ${conflict}: ours has term ${this.termOrZero(conflict)}, ` +
            `the leader's term ${entries[conflict - entries[0]!.index]!.term} (commit index ${this.committed}); ` +
            'committed entries cannot be truncated',
        );
      }
      this.append(entries.slice(conflict - entries[0]!.index));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /**
   * The index of the first entry in `entries` that is new to us or whose
   * term differs from ours, or 0 when we already hold all of them.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * Fast log backtracking (thesis §5.3's optimisation, etcd's
   * "findConflictByTerm"): the largest index at or below `index` whose term
   * is at most `term`, with that term. No entry above it can match a log
   * whose entry at `index` has `term`, because terms never decrease along a
   * log. Lets a rejection skip a whole term's worth of entries at once.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i >= 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Appends to the unstable tail, replacing any suffix from `entries[0].index`. Returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length > 0) this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** {@link append} for the entry after the last one (a leader's own), without an array around it. */
  appendNext(entry: Entry): void {
    this.unstable.appendNext(entry);
  }

  /**
   * Advances the commit index (never backwards). Returns whether it moved.
   *
   * @throws RaftInvariantError when `index` is past the last index: the
   *   leader knows we hold entries we do not, so our log was corrupted,
   *   truncated or lost (etcd panics here too).
   */
  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    const last = this.lastIndex();
    if (index > last) {
      throw new RaftInvariantError(
        `commit index ${index} is past the last index ${last}: was the log corrupted, truncated or lost?`,
      );
    }
    this.committed = index;
    return true;
  }

  /**
   * Entries in [lo, hi), at most `maxBytes` of data (but at least one entry).
   * Returns undefined when part of the range was compacted.
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1);
    if (lo >= hi) return [];
    const offset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < offset) {
      const storageHi = Math.min(hi, offset);
      try {
        result = this.storage.entries(lo, storageHi, maxBytes === Infinity ? undefined : maxBytes);
      } catch (err) {
        if (err instanceof CompactedError) return undefined;
        if (err instanceof UnavailableError) return [];
        throw err;
      }
      // Storage stopped early because of the byte limit: do not add more.
      if (result.length < storageHi - lo) return result;
    }
    if (hi > offset) {
      const fromUnstable = this.unstable.slice(Math.max(lo, offset), hi);
      result = result.length === 0 ? fromUnstable : result.concat(fromUnstable);
    }
    return maxBytes === Infinity ? result : withinBytes(result, maxBytes);
  }

  /** Entries from `lo` to the end of the log, bounded like {@link slice}. */
  entriesFrom(lo: number, maxBytes = Infinity): Entry[] | undefined {
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /**
   * Committed entries that are persisted locally and not yet handed out for
   * applying. Never includes unpersisted entries: the driver applies only
   * what would survive its own crash.
   */
  nextCommittedEntries(maxBytes = Infinity): Entry[] {
    if (this.unstable.snapshot !== undefined) return [];
    const lo = Math.max(this.applied, this.applying) + 1;
    const hi = Math.min(this.committed, this.persistedIndex()) + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, maxBytes) ?? [];
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstable.snapshot !== undefined) return false;
    return Math.max(this.applied, this.applying) < Math.min(this.committed, this.persistedIndex());
  }

  /** The driver applied up to `index`. */
  appliedTo(index: number): void {
    if (index > this.applied) this.applied = Math.min(index, this.committed);
    if (this.applying < this.applied) this.applying = this.applied;
  }

  /** Replaces the log with a snapshot from the leader (§7). */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** The latest snapshot: the pending one if any, else the stored one. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }
}

/**
 * The longest prefix of `entries` (at least one entry) whose data fits in
 * `maxBytes`: `entries` itself when all of it fits, which is the common case
 * on the hot path and costs no copy.
 */
function withinBytes(entries: Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (let n = 0; n < entries.length; n++) {
    size += entries[n]!.data.byteLength;
    if (size > maxBytes && n > 0) return entries.slice(0, n);
  }
  return entries;
}
