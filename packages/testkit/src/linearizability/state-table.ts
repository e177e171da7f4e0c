import type { MemoryBudget } from './memory-budget.js';

/** Returned by {@link StateTable.intern} when the memory budget has no room for a new state. */
export const NO_ROOM = -1;

/**
 * Bytes a state is taken to cost on the V8 heap, besides its slot in the
 * table. Exact for nothing, close for the usual register and key-value
 * states (strings, numbers, null); objects get a flat guess.
 */
function estimatedStateBytes(state: unknown): number {
  switch (typeof state) {
    case 'string':
      return 16 + 2 * state.length;
    case 'number':
      return Number.isInteger(state) && Math.abs(state) < 2 ** 30 ? 0 : 16;
    case 'object':
      return state === null ? 0 : 64;
    default:
      return 16;
  }
}

/**
 * Bytes per state for its slot in the states array (8), its hash (4, up to
 * twice over as that array doubles) and its table slots (the table is a
 * quarter to half full: up to 4 slots of 4 bytes, plus the old table while
 * it doubles).
 */
const SLOT_BYTES = 8 + 8 + 24;

/**
 * Interns model states: each distinct state (by the model's `equal`) gets a
 * small integer id, so the memo cache stores and compares 4-byte ids instead
 * of calling `equal` on states, and the search stack holds ids in a typed
 * array.
 *
 * @example
 * ```ts
 * const states = new StateTable<string | null>(model.equal, budget);
 * const id = states.intern('x', model.hash('x'));
 * states.state(id); // 'x'
 * ```
 */
export class StateTable<S> {
  readonly #equal: (a: S, b: S) => boolean;
  readonly #budget: MemoryBudget;
  readonly #states: S[] = [];
  #hashes = new Uint32Array(16);
  /** Slot -> id + 1 (0 = empty); a power of two, at most half full. */
  #table = new Int32Array(32);
  #reservedBytes = 0;

  constructor(equal: (a: S, b: S) => boolean, budget: MemoryBudget) {
    this.#equal = equal;
    this.#budget = budget;
  }

  /** The number of distinct states. */
  get size(): number {
    return this.#states.length;
  }

  /** Bytes reserved in the budget for the states and the table. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /** The state with id `id`. */
  state(id: number): S {
    return this.#states[id] as S;
  }

  /**
   * The id of `state`, adding it if it is new.
   * @returns the id, or {@link NO_ROOM} when a new state does not fit in the memory budget.
   */
  intern(state: S, hash: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const h = hash >>> 0;
    let slot = h & mask;
    for (;;) {
      const stored = table[slot] as number;
      if (stored === 0) break;
      const id = stored - 1;
      if (this.#hashes[id] === h && this.#equal(this.#states[id] as S, state)) return id;
      slot = (slot + 1) & mask;
    }
    const bytes = SLOT_BYTES + estimatedStateBytes(state);
    if (!this.#budget.reserve(bytes)) return NO_ROOM;
    this.#reservedBytes += bytes;
    const id = this.#states.length;
    this.#states.push(state);
    if (id === this.#hashes.length) {
      const hashes = new Uint32Array(id * 2);
      hashes.set(this.#hashes);
      this.#hashes = hashes;
    }
    this.#hashes[id] = h;
    table[slot] = id + 1;
    if (2 * this.#states.length > table.length) this.#rehash();
    return id;
  }

  /** Drops every state and gives its bytes back to the budget. */
  release(): void {
    this.#budget.release(this.#reservedBytes);
    this.#reservedBytes = 0;
    this.#states.length = 0;
    this.#hashes = new Uint32Array(16);
    this.#table = new Int32Array(32);
  }

  #rehash(): void {
    // The doubled table is paid for by SLOT_BYTES, reserved with each state.
    const table = new Int32Array(this.#table.length * 2);
    const mask = table.length - 1;
    for (let id = 0; id < this.#states.length; id++) {
      let slot = (this.#hashes[id] as number) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.#table = table;
  }
}
