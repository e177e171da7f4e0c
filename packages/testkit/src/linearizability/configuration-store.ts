import type { MemoryBudget } from './memory-budget.js';

/** {@link ConfigurationStore.add}: the configuration was new; the search goes on from it. */
export const ADDED = 1;
/** {@link ConfigurationStore.add}: the configuration was explored before; the search cuts this path. */
export const SEEN = 0;
/** {@link ConfigurationStore.add}: a limit stopped the store; see {@link ConfigurationStore.stopReason}. */
export const STOPPED = -1;

/** Why a store stopped: the deadline passed during a long step, or the memory budget had no room. */
export type StoreStopReason = 'timeout' | 'memory-budget';

/** Words before a key's bitset words in the pool: state id, index of the first word, number of words. */
const HEADER_WORDS = 3;
/** The first pool chunk; it doubles up to a full chunk, so small partitions stay small. */
const FIRST_CHUNK_WORDS = 256;
/** Words per pool chunk once the first is full (1 MiB): adding one never copies what is stored, and a small budget is not spent in big steps. */
const CHUNK_BITS = 18;
/** Table slots when the first configuration arrives. */
const FIRST_CAPACITY = 64;
/** The most table slots a store starts with, however many configurations are expected (512 KiB). */
const MAX_FIRST_CAPACITY = 2 ** 16;
/** The table doubles when this full... */
const GROW_LOAD = 0.7;
/** ...or, when the budget has no room for a doubled table, fills up to this before the store stops. */
const SQUEEZE_LOAD = 0.9;
/** While rehashing, read the clock after this many slots (a few milliseconds of work). */
const SLOTS_PER_CLOCK_READ = 1 << 16;

/** Where a store reads the time and when it must stop. */
export interface StoreLimits {
  readonly budget: MemoryBudget;
  readonly now: () => number;
  readonly deadline: number;
}

/**
 * The memo set of Lowe's memoization: configurations (linearized set, model
 * state) already explored, stored compactly outside the V8 heap.
 *
 * A key is the state's id and a run of words from the linearized bitset:
 * the checker passes only the words from the lowest operation not yet
 * linearized to the highest one linearized. Operations are numbered in
 * invoke order, so everything below that run is linearized and nothing
 * above it is, and the run alone determines the set; with little
 * concurrency it is a word or two, whatever the length of the history.
 *
 * Keys sit back to back in a pool of fixed-size chunks (growing never copies
 * what is stored), and an open-addressing table of (hash, pool offset) pairs
 * finds them. Every byte is reserved in the {@link MemoryBudget} before it is
 * allocated, and the one long step, doubling the table, reads the clock as
 * it goes, so the store stops at the budget and at the deadline instead of
 * running past them.
 *
 * @example
 * ```ts
 * const store = new ConfigurationStore({ budget, now: () => performance.now(), deadline }, bitset.words.length);
 * const outcome = store.add(bitset.words, from, to, stateId, hash);
 * if (outcome === STOPPED) console.log(store.stopReason);
 * ```
 */
export class ConfigurationStore {
  readonly #limits: StoreLimits;
  readonly #chunkBits: number;
  readonly #chunkWords: number;
  readonly #chunks: Uint32Array[] = [];
  /** Pool offset of the next free word. */
  #end = 0;
  /** Pairs [hash, pool offset + 1]; offset + 1 = 0 marks an empty slot. */
  #table = new Uint32Array(0);
  #capacity = 0;
  #growAt = 0;
  #squeezed = false;
  /** Table slots and first-chunk words to start with, sized for the expected number of configurations. */
  readonly #firstCapacity: number;
  readonly #firstChunkWords: number;
  #size = 0;
  #reservedBytes = 0;
  /** Set when {@link add} returns {@link STOPPED}. */
  stopReason: StoreStopReason | undefined;

  /**
   * @param limits - the budget, the clock and the deadline.
   * @param maxKeyWords - the longest run of words a key can have (the bitset's length).
   * @param expected - configurations the search will likely store (one per
   *   operation for a history without backtracking): the table and the first
   *   chunk start at that size instead of doubling their way up to it, which
   *   spares a small partition several rehashes and copies.
   */
  constructor(limits: StoreLimits, maxKeyWords: number, expected = 0) {
    this.#limits = limits;
    this.#chunkBits = Math.max(CHUNK_BITS, Math.ceil(Math.log2(maxKeyWords + HEADER_WORDS)));
    this.#chunkWords = 2 ** this.#chunkBits;
    this.#firstCapacity = Math.min(MAX_FIRST_CAPACITY, Math.max(FIRST_CAPACITY, nextPowerOfTwo(expected / GROW_LOAD)));
    this.#firstChunkWords = Math.min(this.#chunkWords, Math.max(FIRST_CHUNK_WORDS, nextPowerOfTwo(expected * (HEADER_WORDS + 1))));
  }

  /** The number of configurations stored. */
  get size(): number {
    return this.#size;
  }

  /** Bytes reserved in the budget: the table and the pool. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /**
   * Records the configuration whose key is `stateId` and `words[from..to)`,
   * with `hash` a hash of the whole configuration, unless it is there already.
   * @returns {@link ADDED}, {@link SEEN}, or {@link STOPPED} when the budget or the deadline stopped it.
   */
  add(words: Uint32Array, from: number, to: number, stateId: number, hash: number): number {
    if (this.#size >= this.#growAt && !this.#grow()) return STOPPED;
    const table = this.#table;
    const mask = this.#capacity - 1;
    const count = to - from;
    const h = hash >>> 0;
    let slot = h & mask;
    for (;;) {
      const stored = table[2 * slot + 1] as number;
      if (stored === 0) break;
      if (table[2 * slot] === h && this.#matches(stored - 1, words, from, count, stateId)) return SEEN;
      slot = (slot + 1) & mask;
    }
    const at = this.#allocate(HEADER_WORDS + count);
    if (at < 0) return STOPPED;
    const chunk = this.#chunks[at >>> this.#chunkBits] as Uint32Array;
    const offset = at & (this.#chunkWords - 1);
    chunk[offset] = stateId;
    chunk[offset + 1] = from;
    chunk[offset + 2] = count;
    for (let i = 0; i < count; i++) chunk[offset + HEADER_WORDS + i] = words[from + i] as number;
    table[2 * slot] = h;
    table[2 * slot + 1] = at + 1;
    this.#size++;
    return ADDED;
  }

  /** Drops everything stored and gives the bytes back to the budget. */
  release(): void {
    this.#limits.budget.release(this.#reservedBytes);
    this.#reservedBytes = 0;
    this.#chunks.length = 0;
    this.#table = new Uint32Array(0);
    this.#capacity = 0;
    this.#growAt = 0;
  }

  #matches(at: number, words: Uint32Array, from: number, count: number, stateId: number): boolean {
    const chunk = this.#chunks[at >>> this.#chunkBits] as Uint32Array;
    const offset = at & (this.#chunkWords - 1);
    if (chunk[offset] !== stateId || chunk[offset + 1] !== from || chunk[offset + 2] !== count) return false;
    const base = offset + HEADER_WORDS;
    for (let i = 0; i < count; i++) if (chunk[base + i] !== words[from + i]) return false;
    return true;
  }

  #reserve(bytes: number): boolean {
    if (!this.#limits.budget.reserve(bytes)) return false;
    this.#reservedBytes += bytes;
    return true;
  }

  #unreserve(bytes: number): void {
    this.#limits.budget.release(bytes);
    this.#reservedBytes -= bytes;
  }

  #stop(reason: StoreStopReason): false {
    this.stopReason = reason;
    return false;
  }

  #noRoom(): number {
    this.stopReason = 'memory-budget';
    return -1;
  }

  /** Room for `count` words in the pool: their offset, or -1 when the budget has none. */
  #allocate(count: number): number {
    const chunkWords = this.#chunkWords;
    let at = this.#end;
    let index = Math.floor(at / chunkWords);
    let offset = at - index * chunkWords;
    if (offset + count > chunkWords) {
      index++;
      offset = 0;
      at = index * chunkWords;
    }
    // Offsets are stored plus one in 32-bit table slots.
    if (at + count >= 2 ** 32 - 1) return this.#noRoom();
    const chunk = this.#chunks[index];
    if (chunk === undefined) {
      const words = index === 0 ? Math.min(chunkWords, Math.max(this.#firstChunkWords, count)) : chunkWords;
      if (!this.#reserve(4 * words)) return this.#noRoom();
      this.#chunks[index] = new Uint32Array(words);
    } else if (offset + count > chunk.length) {
      // Only the first chunk grows: it doubles up to a full chunk (at most 1 MiB copied).
      let words = chunk.length * 2;
      while (words < offset + count) words *= 2;
      words = Math.min(words, chunkWords);
      if (!this.#reserve(4 * words)) return this.#noRoom();
      const grown = new Uint32Array(words);
      grown.set(chunk);
      this.#chunks[index] = grown;
      this.#unreserve(4 * chunk.length);
    }
    this.#end = at + count;
    return at;
  }

  /** Makes room for one more configuration: doubles the table, or squeezes it when the budget says no. */
  #grow(): boolean {
    if (this.#squeezed) return this.#stop('memory-budget');
    const capacity = this.#capacity === 0 ? this.#firstCapacity : this.#capacity * 2;
    if (!this.#reserve(8 * capacity)) {
      if (this.#capacity === 0) return this.#stop('memory-budget');
      this.#squeezed = true;
      this.#growAt = Math.floor(this.#capacity * SQUEEZE_LOAD);
      return this.#size < this.#growAt || this.#stop('memory-budget');
    }
    const table = new Uint32Array(2 * capacity);
    const mask = capacity - 1;
    const old = this.#table;
    const { now, deadline } = this.#limits;
    for (let slot = 0; slot < this.#capacity; slot++) {
      // The one step whose length grows with the store: keep an eye on the clock.
      if ((slot & (SLOTS_PER_CLOCK_READ - 1)) === SLOTS_PER_CLOCK_READ - 1 && now() > deadline) {
        this.#unreserve(8 * capacity);
        return this.#stop('timeout');
      }
      const stored = old[2 * slot + 1] as number;
      if (stored === 0) continue;
      const h = old[2 * slot] as number;
      let to = h & mask;
      while (table[2 * to + 1] !== 0) to = (to + 1) & mask;
      table[2 * to] = h;
      table[2 * to + 1] = stored;
    }
    this.#unreserve(8 * this.#capacity);
    this.#table = table;
    this.#capacity = capacity;
    this.#growAt = Math.floor(capacity * GROW_LOAD);
    return true;
  }
}

/**
 * The hash of a configuration: the Zobrist hash of its linearized set mixed
 * with its state id, finished so that the low bits (the table index) depend
 * on all of both.
 *
 * @example
 * ```ts
 * store.add(bits.words, 0, bits.words.length, stateId, configurationHash(bits.hash, stateId));
 * ```
 */
export function configurationHash(setHash: number, stateId: number): number {
  let h = (setHash ^ Math.imul(stateId + 1, 0x9e3779b1)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The smallest power of two ≥ `x` (1 for x ≤ 1). */
function nextPowerOfTwo(x: number): number {
  return x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
}
