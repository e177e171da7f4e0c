/**
 * A fixed-size set of small integers (operation indexes within a partition),
 * with a hash kept up to date on every change.
 *
 * The hash is Zobrist-style: each index has a fixed pseudo-random 32-bit code,
 * and the hash is the XOR of the codes of the members. Adding or removing a
 * member is one XOR, so the checker can look up its memo cache after every
 * step without rehashing the whole set.
 *
 * @example
 * ```ts
 * const linearized = new Bitset(ops.length);
 * linearized.set(3);
 * linearized.has(3); // true
 * const key = linearized.hash; // changes with every set/clear
 * ```
 */
export class Bitset {
  readonly words: Uint32Array;
  #hash = 0;

  /**
   * @param size - the number of indexes the set can hold (0 .. size-1).
   * @param words - zeroed storage of {@link Bitset.wordsFor}(size) words to use
   *   instead of a new array (the checker cuts them from one shared buffer).
   */
  constructor(size: number, words?: Uint32Array) {
    const length = Bitset.wordsFor(size);
    if (words !== undefined && words.length !== length) {
      throw new RangeError(`a bitset of ${size} needs ${length} words, not ${words.length}`);
    }
    this.words = words ?? new Uint32Array(length);
  }

  /** The words a set of `size` indexes takes. */
  static wordsFor(size: number): number {
    return Math.max(1, Math.ceil(size / 32));
  }

  /** The Zobrist hash of the members; equal sets have equal hashes. */
  get hash(): number {
    return this.#hash;
  }

  has(index: number): boolean {
    return ((this.words[index >>> 5] ?? 0) & (1 << (index & 31))) !== 0;
  }

  /** Adds `index`; does nothing if it is already present. */
  set(index: number): void {
    const w = index >>> 5;
    const bit = 1 << (index & 31);
    const word = this.words[w] ?? 0;
    if ((word & bit) !== 0) return;
    this.words[w] = word | bit;
    this.#hash = (this.#hash ^ bitCode(index)) >>> 0;
  }

  /** Removes `index`; does nothing if it is absent. */
  clear(index: number): void {
    const w = index >>> 5;
    const bit = 1 << (index & 31);
    const word = this.words[w] ?? 0;
    if ((word & bit) === 0) return;
    this.words[w] = word & ~bit;
    this.#hash = (this.#hash ^ bitCode(index)) >>> 0;
  }

  /** The number of members. */
  count(): number {
    let n = 0;
    for (const word of this.words) {
      let v = word;
      // Kernighan: each iteration clears the lowest set bit.
      while (v !== 0) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }

  /** True when both sets have the same members. */
  equalsWords(words: Uint32Array): boolean {
    if (words.length !== this.words.length) return false;
    for (let i = 0; i < words.length; i++) if (words[i] !== this.words[i]) return false;
    return true;
  }

  /** A copy of the member words, for storing in the memo cache. */
  snapshot(): Uint32Array {
    return this.words.slice();
  }
}

/**
 * The Zobrist code of an index: the murmur3 finalizer applied to the index.
 * It is a bijection on 32-bit integers, so distinct indexes get distinct,
 * well-mixed codes, and it needs no random source.
 *
 * @example
 * ```ts
 * bitCode(0) !== bitCode(1); // true
 * ```
 */
export function bitCode(index: number): number {
  let h = (index + 0x9e3779b9) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
