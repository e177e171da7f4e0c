/**
 * The acceptor's slots in memory: a dense array from the first slot after
 * the compaction point, with holes for slots where nothing was accepted.
 *
 * Slots arrive nearly in order and leave in order (compaction), so an array
 * with a moving start fits them; a `Map` keyed by slot number rehashed as
 * it grew and kept deleted entries around, and showed as the largest cost of
 * a busy acceptor in profiles.
 *
 * @example
 * const log = new SlotLog<string>();
 * log.set(3, 'c');
 * log.get(3);           // 'c'
 * log.deleteThrough(3); // slots 1..3 are gone
 */
export class SlotLog<T> {
  /** `#items[i]` holds slot `#base + i`; slots below `#base + #head` were deleted. */
  #items: (T | undefined)[] = [];
  #base = 1;
  #head = 0;

  /** The value at `slot`, or undefined when none is held there. */
  get(slot: number): T | undefined {
    const at = slot - this.#base;
    return at < this.#head ? undefined : this.#items[at];
  }

  /** Holds `value` at `slot`, which must be above the last slot deleted. */
  set(slot: number, value: T): void {
    const at = slot - this.#base;
    if (at < this.#head) throw new RangeError(`slot ${slot} is below the start of the log (${this.#base + this.#head})`);
    // Pushing keeps the array packed; assigning beyond its end would make it holey.
    while (this.#items.length < at) this.#items.push(undefined);
    if (at === this.#items.length) this.#items.push(value);
    else this.#items[at] = value;
  }

  /** Forgets every slot up to and including `slot`. */
  deleteThrough(slot: number): void {
    const end = Math.min(slot + 1 - this.#base, this.#items.length);
    for (let at = this.#head; at < end; at++) this.#items[at] = undefined;
    if (end > this.#head) this.#head = end;
    if (slot + 1 - this.#base > this.#items.length) {
      this.#restartAt(slot + 1);
      return;
    }
    // Drop the dead prefix once it is most of the array: amortised O(1) per slot.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
  }

  /** An empty log whose first slot is `slot`. */
  #restartAt(slot: number): void {
    this.#items = [];
    this.#base = slot;
    this.#head = 0;
  }
}
