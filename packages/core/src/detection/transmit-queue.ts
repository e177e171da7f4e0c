/**
 * The queue of updates waiting to be piggybacked (SWIM §4.1, "infection-style
 * dissemination").
 *
 * Rules:
 * - One entry per key (a member id): a newer update about a member replaces the
 *   older one, which would only waste room.
 * - Updates sent the fewest times go first, and among those the newest first:
 *   fresh news spreads fastest, and old news that has already been sent
 *   `limit` times is dropped.
 *
 * Entries sit in buckets by transmit count, each a linked list with the newest
 * at its head, so {@link TransmitQueue.take} costs O(items taken) rather than a
 * sort of the whole queue per message; that matters with 1000 members each
 * gossiping several times a second.
 */

interface Entry<T> {
  readonly key: string;
  readonly value: T;
  readonly bytes: number;
  transmits: number;
  prev: Entry<T> | undefined;
  next: Entry<T> | undefined;
}

interface Bucket<T> {
  head: Entry<T> | undefined;
  tail: Entry<T> | undefined;
}

/**
 * @example
 * ```ts
 * const queue = new TransmitQueue<string>();
 * queue.enqueue('n1', 'n1 is alive', 20);
 * queue.take({ budgetBytes: 1400, limit: 4 }); // ['n1 is alive']
 * ```
 */
export class TransmitQueue<T> {
  readonly #byKey = new Map<string, Entry<T>>();
  readonly #buckets: Bucket<T>[] = [];

  /** Number of pending updates. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Queues `value` under `key`, replacing any pending update with the same key. */
  enqueue(key: string, value: T, bytes: number): void {
    const old = this.#byKey.get(key);
    if (old !== undefined) this.#unlink(old);
    const entry: Entry<T> = { key, value, bytes, transmits: 0, prev: undefined, next: undefined };
    this.#byKey.set(key, entry);
    this.#pushHead(entry);
  }

  /** The pending update for `key`, if any. */
  get(key: string): T | undefined {
    return this.#byKey.get(key)?.value;
  }

  /** How many times the pending update for `key` has been sent, or undefined if none is pending. */
  transmits(key: string): number | undefined {
    return this.#byKey.get(key)?.transmits;
  }

  /** Drops the pending update for `key`. */
  delete(key: string): void {
    const entry = this.#byKey.get(key);
    if (entry !== undefined) {
      this.#unlink(entry);
      this.#byKey.delete(key);
    }
  }

  /** Drops every pending update. */
  clear(): void {
    this.#byKey.clear();
    this.#buckets.length = 0;
  }

  /**
   * Takes updates for one message: fewest transmits first, newest first within
   * a count, while they fit in `budgetBytes`. Each taken update counts one
   * transmission and is dropped once it reaches `limit`.
   *
   * Scanning stops at the first update that does not fit: updates are of
   * similar size, so a later one rarely would, and stopping keeps the cost
   * bounded by what is taken.
   */
  take(options: { readonly budgetBytes: number; readonly limit: number }): T[] {
    const { limit } = options;
    let budget = options.budgetBytes;
    this.#dropAtOrAbove(limit);
    const taken: Entry<T>[] = [];
    scan: for (let count = 0; count < Math.min(limit, this.#buckets.length); count++) {
      for (let entry = this.#buckets[count]?.head; entry !== undefined; entry = entry.next) {
        if (entry.bytes > budget) break scan;
        budget -= entry.bytes;
        taken.push(entry);
      }
    }
    for (const entry of taken) {
      this.#unlink(entry);
      entry.transmits++;
      if (entry.transmits >= limit) this.#byKey.delete(entry.key);
      else this.#pushHead(entry);
    }
    return taken.map((e) => e.value);
  }

  /** Entries sent `limit` times or more, possible when the limit shrank with the cluster. */
  #dropAtOrAbove(limit: number): void {
    while (this.#buckets.length > limit) {
      const bucket = this.#buckets.pop()!;
      for (let entry = bucket.head; entry !== undefined; entry = entry.next) this.#byKey.delete(entry.key);
    }
  }

  #pushHead(entry: Entry<T>): void {
    while (this.#buckets.length <= entry.transmits) this.#buckets.push({ head: undefined, tail: undefined });
    const bucket = this.#buckets[entry.transmits]!;
    entry.prev = undefined;
    entry.next = bucket.head;
    if (bucket.head !== undefined) bucket.head.prev = entry;
    else bucket.tail = entry;
    bucket.head = entry;
  }

  #unlink(entry: Entry<T>): void {
    const bucket = this.#buckets[entry.transmits];
    if (bucket === undefined) return;
    if (entry.prev !== undefined) entry.prev.next = entry.next;
    else bucket.head = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
    else bucket.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }
}
