/**
 * Values by slot from the first slot after a deletion point: a ring buffer
 * with holes for slots where nothing was set.
 *
 * Slots arrive nearly in order and leave in order (commit, compaction), so
 * a window that moves along a ring fits them. A `Map` keyed by slot number
 * rehashed as it grew and kept deleted entries around; an array with a
 * moving start was copied whenever its dead front was dropped and grown
 * again by push. The ring only grows, by doubling, when the window outgrows
 * it, and allocates nothing in the steady state.
 *
 * @example
 * const log = new SlotLog<string>();
 * log.set(3, 'c');
 * log.get(3);           // 'c'
 * log.deleteThrough(3); // slots 1..3 are gone
 */
export class SlotLog<T> {
  /** A power-of-two ring: slot `#first + i` sits at `(#head + i) & #mask`. */
  #items: (T | undefined)[] = emptyRing(16);
  #mask = 15;
  #head = 0;
  /** The lowest slot that may be held (every slot below was deleted). */
  #first = 1;
  /** One past the highest slot ever set in the window (`#first` when none). */
  #end = 1;

  /** The value at `slot`, or undefined when none is held there. */
  get(slot: number): T | undefined {
    if (slot < this.#first || slot >= this.#end) return undefined;
    return this.#items[(this.#head + (slot - this.#first)) & this.#mask];
  }

  /** Holds `value` at `slot`, which must be above the last slot deleted. */
  set(slot: number, value: T): void {
    if (slot < this.#first) throw new RangeError(`slot ${slot} is below the start of the log (${this.#first})`);
    const offset = slot - this.#first;
    if (offset > this.#mask) this.#grow(offset + 1);
    this.#items[(this.#head + offset) & this.#mask] = value;
    if (slot >= this.#end) this.#end = slot + 1;
  }

  /** Forgets every slot up to and including `slot`. */
  deleteThrough(slot: number): void {
    if (slot < this.#first) return;
    const held = this.#end - this.#first;
    const gone = Math.min(slot + 1 - this.#first, held);
    for (let i = 0; i < gone; i++) this.#items[(this.#head + i) & this.#mask] = undefined;
    this.#head = (this.#head + gone) & this.#mask;
    this.#first = slot + 1;
    if (this.#end < this.#first) this.#end = this.#first;
  }

  /** A ring of at least `size` places holding the window as it is. */
  #grow(size: number): void {
    let capacity = this.#mask + 1;
    while (capacity < size) capacity *= 2;
    const items = emptyRing<T>(capacity);
    for (let i = 0; i < this.#end - this.#first; i++) items[i] = this.#items[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}

/** A packed array of `size` undefined places (assigning beyond an array's end would make it holey). */
function emptyRing<T>(size: number): (T | undefined)[] {
  const items: (T | undefined)[] = [];
  for (let i = 0; i < size; i++) items.push(undefined);
  return items;
}
