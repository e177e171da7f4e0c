import type { Bitset } from './bitset.js';
import { ADDED, ConfigurationStore, configurationHash } from './configuration-store.js';
import { MemoryBudget } from './memory-budget.js';
import { StateTable } from './state-table.js';

/**
 * Lowe's memoization for the Wing–Gong search as a stand-alone set of
 * configurations (which operations are linearized, model state after them),
 * keyed by whole bitsets. Two search paths that linearized the same
 * operations and reached equal states have the same future, so the second
 * one can be cut off.
 *
 * The checker itself uses {@link ConfigurationStore} and {@link StateTable}
 * directly, with shorter keys and a memory budget; this class puts the two
 * together for callers that want the simple form. Entries are compared
 * exactly on a hash match, so a collision never prunes a path that was not
 * explored. It has no memory limit.
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
  readonly #states: StateTable<S>;
  readonly #store: ConfigurationStore;

  /**
   * @param wordsPerEntry - `Bitset.words.length` of the bitsets that will be added.
   * @param equal - the model's state equality.
   */
  constructor(wordsPerEntry: number, equal: (a: S, b: S) => boolean) {
    const budget = new MemoryBudget(Number.POSITIVE_INFINITY);
    this.#states = new StateTable(equal, budget);
    this.#store = new ConfigurationStore({ budget, now: () => 0, deadline: Number.POSITIVE_INFINITY }, wordsPerEntry);
  }

  /** The number of configurations stored. */
  get size(): number {
    return this.#store.size;
  }

  /**
   * Records the configuration (`linearized`, `state`) unless it is already
   * there.
   * @returns true if it was new (the search should go on), false if seen before.
   */
  add(linearized: Bitset, state: S, stateHash: number): boolean {
    const id = this.#states.intern(state, stateHash);
    const words = linearized.words;
    return this.#store.add(words, 0, words.length, id, configurationHash(linearized.hash, id)) === ADDED;
  }
}
