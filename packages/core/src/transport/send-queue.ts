/**
 * A first-in first-out queue of encoded envelopes bounded in count and in
 * bytes. A push that would break either bound first evicts the oldest
 * entries: for consensus and failure detection a fresh message is worth more
 * than a stale one (a newer heartbeat or append supersedes an older one), and
 * the memory a peer that is down for an hour can pin is capped at
 * `maxBytes`.
 *
 * @example
 * ```ts
 * const queue = new SendQueue(1024, 16 << 20);
 * const evicted = queue.push(bytes); // > 0 when the queue was full
 * ```
 */
export class SendQueue {
  readonly maxLength: number;
  readonly maxBytes: number;
  #items: (Uint8Array | undefined)[];
  #head = 0;
  #length = 0;
  #bytes = 0;

  constructor(maxLength: number, maxBytes: number) {
    this.maxLength = maxLength;
    this.maxBytes = maxBytes;
    // A ring that starts small and doubles up to maxLength.
    this.#items = new Array<Uint8Array | undefined>(Math.min(maxLength, 16));
  }

  /** Entries waiting. */
  get length(): number {
    return this.#length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends `item`, first evicting the oldest entries as needed. Returns the
   * number evicted. An item larger than `maxBytes` on its own is not queued
   * and counts as one eviction.
   */
  push(item: Uint8Array): number {
    if (item.byteLength > this.maxBytes) return 1;
    let evicted = 0;
    while (this.#length >= this.maxLength || this.#bytes + item.byteLength > this.maxBytes) {
      this.shift();
      evicted++;
    }
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) % this.#items.length] = item;
    this.#length++;
    this.#bytes += item.byteLength;
    return evicted;
  }

  /** The oldest entry without removing it. */
  peek(): Uint8Array | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns the oldest entry. */
  shift(): Uint8Array | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#length--;
    this.#bytes -= item.byteLength;
    return item;
  }

  /** Drops everything; returns how many entries were dropped. */
  clear(): number {
    const dropped = this.#length;
    this.#items = new Array<Uint8Array | undefined>(Math.min(this.maxLength, 16));
    this.#head = 0;
    this.#length = 0;
    this.#bytes = 0;
    return dropped;
  }

  #grow(): void {
    const size = Math.min(this.maxLength, this.#items.length * 2);
    const items = new Array<Uint8Array | undefined>(size);
    for (let i = 0; i < this.#length; i++) items[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = items;
    this.#head = 0;
  }
}
