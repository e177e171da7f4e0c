/** Keys further than this past the window's end go to the overflow map rather than stretch the window. */
const MAX_GAP = 1024;

/**
 * A map from integer keys to values for keys that arrive mostly in
 * increasing order and leave mostly in the order they arrived: a node's
 * pending proposals by sequence number, or by log index. The common case is
 * a sliding window over an array, with no hashing and no rehashing of a
 * hash table whose front keeps being deleted; anything else (a key below
 * the window, one far ahead of it, a key left behind for good) goes to an
 * ordinary Map on the side, so every key still works.
 *
 * `undefined` is not a valid value.
 *
 * @internal
 */
export class WindowMap<V> {
  /** `items[head + i]` holds the value of key `start + i`, or undefined. */
  #items: (V | undefined)[] = [];
  #head = 0;
  #start = 0;
  /** Values in the window. */
  #count = 0;
  readonly #overflow = new Map<number, V>();

  get size(): number {
    return this.#count + this.#overflow.size;
  }

  get(key: number): V | undefined {
    const at = this.#head + key - this.#start;
    if (key >= this.#start && at < this.#items.length) {
      const value = this.#items[at];
      if (value !== undefined) return value;
    }
    return this.#overflow.size > 0 ? this.#overflow.get(key) : undefined;
  }

  set(key: number, value: V): void {
    if (!Number.isSafeInteger(key)) {
      this.#overflow.set(key, value);
      return;
    }
    if (this.#count === 0 && this.#items.length > 0) this.#reset();
    if (this.#items.length === 0) this.#start = key;
    const offset = key - this.#start;
    const length = this.#items.length - this.#head;
    if (offset < 0 || offset > length + MAX_GAP) {
      this.#overflow.set(key, value);
      return;
    }
    if (this.#overflow.size > 0) this.#overflow.delete(key);
    if (offset < length) {
      const at = this.#head + offset;
      if (this.#items[at] === undefined) this.#count++;
      this.#items[at] = value;
      return;
    }
    for (let i = length; i < offset; i++) this.#items.push(undefined);
    this.#items.push(value);
    this.#count++;
    this.#evictIfSparse();
  }

  delete(key: number): boolean {
    const offset = key - this.#start;
    const at = this.#head + offset;
    if (offset >= 0 && at < this.#items.length && this.#items[at] !== undefined) {
      this.#items[at] = undefined;
      this.#count--;
      if (offset === 0) this.#trimFront();
      return true;
    }
    return this.#overflow.size > 0 ? this.#overflow.delete(key) : false;
  }

  /** Every value: those on the side first, then the window's in key order. */
  values(): V[] {
    const out = [...this.#overflow.values()];
    for (let i = this.#head; i < this.#items.length; i++) {
      const value = this.#items[i];
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  clear(): void {
    this.#reset();
    this.#overflow.clear();
  }

  #reset(): void {
    this.#items = [];
    this.#head = 0;
    this.#count = 0;
  }

  /** Moves the window's start past deleted keys, and drops the dead front of the array now and then. */
  #trimFront(): void {
    const items = this.#items;
    let head = this.#head;
    while (head < items.length && items[head] === undefined) head++;
    this.#start += head - this.#head;
    if (head === items.length) {
      this.#items = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= items.length) {
      this.#items = items.slice(head);
      head = 0;
    }
    this.#head = head;
  }

  /**
   * A key at the front that never leaves (its proposal's entry was skipped
   * by a snapshot, say) must not pin an ever longer window: once the window
   * is mostly holes, its front values move to the side.
   */
  #evictIfSparse(): void {
    while (this.#items.length - this.#head > 4 * this.#count + MAX_GAP) {
      const value = this.#items[this.#head];
      if (value !== undefined) {
        this.#overflow.set(this.#start, value);
        this.#items[this.#head] = undefined;
        this.#count--;
      }
      this.#trimFront();
    }
  }
}
