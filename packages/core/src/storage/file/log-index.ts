import type { Entry } from '../../raft/types.js';

/**
 * The in-memory index of the write-ahead log (internal): for every live
 * entry its term, the segment and byte offset of its record and its data
 * size, plus a bounded cache of the most recent entries.
 *
 * The Raft core reads the log synchronously (`term()`, `entries()`), so the
 * index answers `term()` with no I/O at all, and the cache serves the recent
 * entries a leader replicates; only lagging followers cost a `readSync`.
 *
 * Like MemoryStorage, the log has an `offset`: the index of the last
 * discarded entry (snapshot point) whose term is still known.
 */
export class LogIndex {
  /**
   * The segment of an entry recovery knows exists (a checkpoint counted it)
   * but whose record was in a segment deleted by compaction. Replay must
   * see every such entry truncated or compacted away again.
   */
  static readonly deletedSegment = -1;

  #offset = 0;
  #offsetTerm = 0;
  // Parallel arrays, slot i describes entry offset + 1 + i. Plain number
  // arrays stay packed (SMI/double elements), which is cheaper than objects.
  #terms: number[] = [];
  #segments: number[] = [];
  #positions: number[] = [];
  #recordBytes: number[] = [];
  #dataBytes: number[] = [];
  #cache: (Entry | undefined)[] = [];
  /** The lowest index that may still be cached. */
  #cacheFrom = 1;
  #cachedBytes = 0;
  readonly #cacheLimit: number;

  constructor(cacheLimitBytes: number) {
    this.#cacheLimit = cacheLimitBytes;
  }

  get offset(): number {
    return this.#offset;
  }

  get offsetTerm(): number {
    return this.#offsetTerm;
  }

  get lastIndex(): number {
    return this.#offset + this.#terms.length;
  }

  get length(): number {
    return this.#terms.length;
  }

  /** The term of `index`, which must be in [offset, lastIndex]. */
  term(index: number): number {
    return index === this.#offset ? this.#offsetTerm : this.#terms[index - this.#offset - 1]!;
  }

  segmentOf(index: number): number {
    return this.#segments[index - this.#offset - 1]!;
  }

  positionOf(index: number): number {
    return this.#positions[index - this.#offset - 1]!;
  }

  recordBytesOf(index: number): number {
    return this.#recordBytes[index - this.#offset - 1]!;
  }

  dataBytesOf(index: number): number {
    return this.#dataBytes[index - this.#offset - 1]!;
  }

  cached(index: number): Entry | undefined {
    return this.#cache[index - this.#offset - 1];
  }

  /** Adds the entry `lastIndex + 1`. */
  push(term: number, segment: number, position: number, recordBytes: number, dataBytes: number, entry?: Entry): void {
    this.#terms.push(term);
    this.#segments.push(segment);
    this.#positions.push(position);
    this.#recordBytes.push(recordBytes);
    this.#dataBytes.push(dataBytes);
    this.#cache.push(entry);
    if (entry !== undefined) {
      this.#cachedBytes += cost(entry);
      this.#evict();
    }
  }

  /** Drops every entry after `index` (offset ≤ index ≤ lastIndex). */
  truncateAfter(index: number): void {
    const keep = index - this.#offset;
    for (let i = keep; i < this.#cache.length; i++) {
      const entry = this.#cache[i];
      if (entry !== undefined) this.#cachedBytes -= cost(entry);
    }
    this.#terms.length = keep;
    this.#segments.length = keep;
    this.#positions.length = keep;
    this.#recordBytes.length = keep;
    this.#dataBytes.length = keep;
    this.#cache.length = keep;
    // Entries appended from here on are cached, so eviction must start no
    // later than the first of them.
    this.#cacheFrom = Math.min(this.#cacheFrom, index + 1);
  }

  /** Discards entries up to and including `index` (offset < index ≤ lastIndex), remembering its term. */
  compactTo(index: number, term: number): void {
    const drop = index - this.#offset;
    for (let i = 0; i < drop; i++) {
      const entry = this.#cache[i];
      if (entry !== undefined) this.#cachedBytes -= cost(entry);
    }
    this.#terms.splice(0, drop);
    this.#segments.splice(0, drop);
    this.#positions.splice(0, drop);
    this.#recordBytes.splice(0, drop);
    this.#dataBytes.splice(0, drop);
    this.#cache.splice(0, drop);
    this.#offset = index;
    this.#offsetTerm = term;
    this.#cacheFrom = Math.max(this.#cacheFrom, index + 1);
  }

  /** Empties the log, which now starts after `index` of `term`. */
  reset(index: number, term: number): void {
    this.#terms = [];
    this.#segments = [];
    this.#positions = [];
    this.#recordBytes = [];
    this.#dataBytes = [];
    this.#cache = [];
    this.#cachedBytes = 0;
    this.#offset = index;
    this.#offsetTerm = term;
    this.#cacheFrom = index + 1;
  }

  /** The first entry still located in a {@link LogIndex.deletedSegment}, if any. */
  firstInDeletedSegment(): number | undefined {
    const at = this.#segments.indexOf(LogIndex.deletedSegment);
    return at < 0 ? undefined : this.#offset + 1 + at;
  }

  #evict(): void {
    // Oldest first: a leader replicates from the tail, so recent entries are
    // the ones worth keeping. The newest entry always stays cached.
    const last = this.lastIndex;
    while (this.#cachedBytes > this.#cacheLimit && this.#cacheFrom < last) {
      const slot = this.#cacheFrom - this.#offset - 1;
      const entry = this.#cache[slot];
      if (entry !== undefined) {
        this.#cachedBytes -= cost(entry);
        this.#cache[slot] = undefined;
      }
      this.#cacheFrom++;
    }
  }
}

/** Approximate memory held by a cached entry: its data plus object overhead. */
function cost(entry: Entry): number {
  return entry.data.byteLength + 64;
}
