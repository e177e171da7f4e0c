import type { Bitset } from './bitset.js';

/**
 * Lowe's memoization for the Wing–Gong search: the set of configurations
 * (which operations are linearized, model state after them) already explored.
 * Two search paths that linearized the same operations and reached equal
 * states have the same future, so the second one can be cut off.
 *
 * Hard histories put millions of configurations in here, so the layout is
 * compact rather than one object per entry: the bitsets live back to back in
 * one growing `Uint32Array`, and an open-addressing table of entry numbers,
 * keyed by a combined hash of bitset and state, finds them. Entries are
 * compared exactly on a hash match, so a collision never prunes a path that
 * was not explored.
 *
 * @example
 * ```ts
 * const cache = new LinearizationCache<string | null>(linearized.words.length, model.equal);
 * if (cache.add(linearized, newState, model.hash(newState))) {
 *   // a configuration not seen before: keep searching from it
 * }
 * ```
 */
export class LinearizationCache<S> {
  readonly #equal: (a: S, b: S) => boolean;
  readonly #wordsPerEntry: number;
  #pool: Uint32Array;
  #hashes: Uint32Array;
  readonly #states: S[] = [];
  /** Slot -> entry number + 1 (0 = empty). Its length is a power of two. */
  #table: Int32Array;
  #size = 0;

  /**
   * @param wordsPerEntry - `Bitset.words.length` of the bitsets that will be added.
   * @param equal - the model's state equality.
   */
  constructor(wordsPerEntry: number, equal: (a: S, b: S) => boolean) {
    this.#equal = equal;
    this.#wordsPerEntry = wordsPerEntry;
    this.#pool = new Uint32Array(wordsPerEntry * 1024);
    this.#hashes = new Uint32Array(1024);
    this.#table = new Int32Array(2048);
  }

  /** The number of configurations stored. */
  get size(): number {
    return this.#size;
  }

  /**
   * Records the configuration (`linearized`, `state`) unless it is already
   * there.
   * @returns true if it was new (the search should go on), false if seen before.
   */
  add(linearized: Bitset, state: S, stateHash: number): boolean {
    const hash = (linearized.hash ^ Math.imul(stateHash | 0, 0x9e3779b1)) >>> 0;
    const mask = this.#table.length - 1;
    const w = this.#wordsPerEntry;
    const words = linearized.words;
    let slot = hash & mask;
    for (;;) {
      const stored = this.#table[slot] as number;
      if (stored === 0) break;
      const entry = stored - 1;
      if (this.#hashes[entry] === hash && this.#sameWords(entry * w, words) && this.#equal(this.#states[entry] as S, state)) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    const entry = this.#size;
    if (entry === this.#hashes.length) this.#growEntries();
    this.#pool.set(words, entry * w);
    this.#hashes[entry] = hash;
    this.#states.push(state);
    this.#table[slot] = entry + 1;
    this.#size++;
    // Keep the table at most half full so probe runs stay short.
    if (this.#size * 2 > this.#table.length) this.#rehash();
    return true;
  }

  #sameWords(offset: number, words: Uint32Array): boolean {
    const pool = this.#pool;
    for (let i = 0; i < words.length; i++) if (pool[offset + i] !== words[i]) return false;
    return true;
  }

  #growEntries(): void {
    const hashes = new Uint32Array(this.#hashes.length * 2);
    hashes.set(this.#hashes);
    this.#hashes = hashes;
    const pool = new Uint32Array(this.#pool.length * 2);
    pool.set(this.#pool);
    this.#pool = pool;
  }

  #rehash(): void {
    const table = new Int32Array(this.#table.length * 2);
    const mask = table.length - 1;
    for (let entry = 0; entry < this.#size; entry++) {
      let slot = (this.#hashes[entry] as number) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = entry + 1;
    }
    this.#table = table;
  }
}
