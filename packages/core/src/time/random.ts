/**
 * A source of randomness, injected into protocol cores so that runs replay
 * exactly from a seed.
 */
export interface Random {
  /** A float uniformly distributed in [0, 1). */
  next(): number;
  /** An integer uniformly distributed in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A new, independent stream derived from this one (for giving each component its own). */
  fork(): Random;
}

/**
 * A small, fast seeded generator (sfc32 seeded through splitmix32). Not for
 * cryptography.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(42);
 * const timeout = 10 + random.int(10);
 * ```
 */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const splitmix = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = splitmix();
    this.#b = splitmix();
    this.#c = splitmix();
    this.#d = splitmix();
    for (let i = 0; i < 12; i++) this.#nextUint32();
  }

  #nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.#nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0)) return 0;
    return Math.floor(this.next() * maxExclusive);
  }

  fork(): Random {
    return new SeededRandom(this.#nextUint32());
  }
}

/** Randomness from `Math.random`, for production drivers only. */
export const systemRandom: Random = {
  next: () => Math.random(),
  int: (maxExclusive) => (maxExclusive > 0 ? Math.floor(Math.random() * maxExclusive) : 0),
  fork: () => new SeededRandom(Math.floor(Math.random() * 2 ** 32)),
};
