import type { Entry, Snapshot } from './types.js';

/**
 * The tail of the log (and possibly an incoming snapshot) that the core has
 * accepted but the driver has not yet persisted. Entry `i` lives at
 * `entries[i - offset]`; every index below `offset` is in storage.
 *
 * Entries are handed to the driver once (in a Ready) and leave this buffer
 * when the driver confirms them with `advance`. `#handedTo` remembers how far
 * the hand-out got, so a second Ready never repeats entries.
 */
export class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;
  #handedTo: number;
  #snapshotHanded = false;

  constructor(offset: number) {
    this.offset = offset;
    this.#handedTo = offset - 1;
  }

  /** The first index, when a pending snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last index, when this buffer holds it. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  /** The term of `index`, when this buffer holds it. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.metadata.index === index
        ? this.snapshot.metadata.term
        : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Entries not yet handed to the driver. */
  entriesToPersist(): Entry[] {
    const from = Math.max(this.#handedTo + 1, this.offset) - this.offset;
    return this.entries.slice(from);
  }

  /** Whether {@link entriesToPersist} would return anything (without copying them). */
  hasEntriesToPersist(): boolean {
    return this.entries.length > Math.max(this.#handedTo + 1, this.offset) - this.offset;
  }

  /** The snapshot, if it has not been handed to the driver yet. */
  snapshotToPersist(): Snapshot | undefined {
    return this.#snapshotHanded ? undefined : this.snapshot;
  }

  /** Marks everything returned so far as handed to the driver. */
  markHanded(): void {
    if (this.entries.length > 0) this.#handedTo = this.offset + this.entries.length - 1;
    if (this.snapshot !== undefined) this.#snapshotHanded = true;
  }

  /**
   * The driver persisted entries up to `index` with `term`. Ignored when the
   * entry was replaced meanwhile (a new leader overwrote it), because then
   * what was persisted is not our log any more.
   */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.#handedTo = Math.max(this.#handedTo, index);
  }

  /** The driver persisted the snapshot at `index`. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.#snapshotHanded = false;
    }
  }

  /** Replaces everything with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
    this.#handedTo = snapshot.metadata.index;
    this.#snapshotHanded = false;
  }

  /**
   * Appends `entries`, first dropping any suffix that starts at or after
   * `entries[0].index` (those entries conflict with the leader's, §5.3).
   */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const from = entries[0]!.index;
    if (from <= this.offset) {
      // The new entries replace part of the stable log too; storage will
      // truncate when the driver appends them.
      this.offset = from;
      this.entries = [...entries];
    } else {
      // In place (the buffer is never handed out, only copies of it): drop
      // the conflicting suffix, if any, then append.
      this.#truncateFrom(from);
      for (const entry of entries) this.entries.push(entry);
    }
    this.#handedTo = Math.min(this.#handedTo, from - 1);
  }

  /**
   * {@link truncateAndAppend} for one entry. The entry right after the last
   * one (what a leader appends) has nothing to truncate and goes in without
   * an array around it.
   */
  appendNext(entry: Entry): void {
    if (entry.index === this.offset + this.entries.length) this.entries.push(entry);
    else this.truncateAndAppend([entry]);
  }

  /** Drops the entries from index `from` on, if there are any (setting an array's length is not free). */
  #truncateFrom(from: number): void {
    const keep = from - this.offset;
    if (this.entries.length > keep) this.entries.length = keep;
  }

  /** Entries in [lo, hi), which must lie within this buffer. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
