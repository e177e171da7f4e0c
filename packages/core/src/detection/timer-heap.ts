/** A timer inside a pure core; cancelling only marks it, the heap drops it lazily. */
export interface CoreTimer {
  readonly dueMs: number;
  cancelled: boolean;
}

interface HeapEntry extends CoreTimer {
  readonly order: number;
  readonly fire: (nowMs: number) => void;
}

/**
 * The timers of a pure protocol core, kept in a binary min-heap ordered by
 * (due time, creation order). The core never calls `setTimeout`; the driver
 * asks for {@link TimerHeap.nextDueMs}, sets one real (or virtual) timer for
 * it, and calls back into the core, which runs {@link TimerHeap.runDue}.
 *
 * Ties fire in creation order, so a run depends on its inputs only. With
 * thousands of members (one suspicion timer each) inserts and pops stay
 * O(log n); cancellation is O(1) and the heap skips cancelled entries.
 *
 * @example
 * ```ts
 * const timers = new TimerHeap();
 * const t = timers.schedule(100, (now) => console.log('due at', now));
 * timers.cancel(t);
 * timers.runDue(200); // nothing fires
 * ```
 */
export class TimerHeap {
  readonly #heap: HeapEntry[] = [];
  #order = 0;

  /** Schedules `fire` at `dueMs`. */
  schedule(dueMs: number, fire: (nowMs: number) => void): CoreTimer {
    const entry: HeapEntry = { dueMs, cancelled: false, order: this.#order++, fire };
    this.#heap.push(entry);
    this.#siftUp(this.#heap.length - 1);
    return entry;
  }

  /** Cancels a timer; harmless if it already fired or was cancelled. */
  cancel(timer: CoreTimer | undefined): void {
    if (timer !== undefined) timer.cancelled = true;
  }

  /** The due time of the earliest live timer, or undefined when none is pending. */
  nextDueMs(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.dueMs;
  }

  /** Fires, in order, every timer due at or before `nowMs`, including ones scheduled by those callbacks. */
  runDue(nowMs: number): void {
    for (;;) {
      this.#dropCancelled();
      const top = this.#heap[0];
      if (top === undefined || top.dueMs > nowMs) return;
      this.#pop();
      top.cancelled = true;
      top.fire(nowMs);
    }
  }

  /** Live and cancelled entries still held (for tests and diagnostics). */
  get size(): number {
    return this.#heap.length;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
  }

  #pop(): void {
    const last = this.#heap.pop()!;
    if (this.#heap.length > 0) {
      this.#heap[0] = last;
      this.#siftDown(0);
    }
  }

  #less(a: HeapEntry, b: HeapEntry): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
