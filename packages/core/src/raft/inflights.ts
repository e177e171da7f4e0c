/**
 * The window of append messages sent to one follower in the replicate state
 * but not yet acknowledged. It bounds both the number of messages and the
 * total entry bytes in flight, which is the leader's flow control: a slow
 * follower cannot make the leader buffer an unbounded amount of data.
 *
 * Each slot records the last entry index a message carried, so that an
 * acknowledgement of index i frees every message ending at or below i.
 */
export class Inflights {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  // A ring buffer: `#count` slots starting at `#start`.
  #indexes: number[] = [];
  #sizes: number[] = [];
  #start = 0;
  #count = 0;
  #bytes = 0;

  /**
   * @param maxCount - the most messages in flight; at least 1.
   * @param maxBytes - the most entry bytes in flight; 0 means unlimited.
   */
  constructor(maxCount: number, maxBytes = 0) {
    this.#maxCount = Math.max(1, maxCount);
    this.#maxBytes = maxBytes;
  }

  /** Messages in flight. */
  get count(): number {
    return this.#count;
  }

  /** Entry bytes in flight. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * True when no further message may be sent. A window over its byte budget
   * is full, but an empty window never is, so a single oversized message can
   * always go out.
   */
  full(): boolean {
    return this.#count >= this.#maxCount || (this.#maxBytes > 0 && this.#bytes >= this.#maxBytes);
  }

  /** Records a message whose last entry is `index` and that carries `bytes` of entry data. Indexes must increase. */
  add(index: number, bytes: number): void {
    // Callers check full() first; overrunning the ring would silently lose slots.
    if (this.#count >= this.#maxCount) throw new Error('inflights: window overflow');
    const slot = (this.#start + this.#count) % this.#maxCount;
    this.#indexes[slot] = index;
    this.#sizes[slot] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  /** Frees every message whose last index is at or below `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.#count > 0 && this.#indexes[this.#start]! <= index) {
      this.#bytes -= this.#sizes[this.#start]!;
      this.#start = (this.#start + 1) % this.#maxCount;
      this.#count--;
    }
    if (this.#count === 0) this.#start = 0;
  }

  /** Frees the oldest message (used when it was probably lost, to let the pipeline make progress). */
  freeFirstOne(): void {
    if (this.#count > 0) this.freeLE(this.#indexes[this.#start]!);
  }

  /** Empties the window (the follower changed state and its pipeline restarts). */
  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
