import type { NodeId } from '../transport/transport.js';

/** Parameters of one {@link Suspicion}. */
export interface SuspicionOptions {
  /** The node whose suspicion started this timer; it does not count as a confirmation. */
  readonly from: NodeId;
  /** Independent confirmations after which the timeout has shrunk to `minMs`. 0 means start at `minMs`. */
  readonly expectedConfirmations: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly startMs: number;
}

/**
 * Lifeguard's dynamic suspicion timeout ("Local Health Aware Suspicion",
 * Dadgar et al. 2017, §4.2). A fresh suspicion waits long (`maxMs`), giving a
 * falsely suspected member time to hear of it and refute; each independent
 * confirmation (a suspect message from a different member) is evidence the
 * member really failed, and shrinks the timeout logarithmically toward `minMs`:
 *
 *   timeout(c) = max(minMs, maxMs − (maxMs − minMs) · log(c + 1) / log(k + 1))
 *
 * where c is the number of confirmations and k the expected number. The log
 * makes the first confirmations count most: they are the ones that separate a
 * single confused prober from a real failure.
 *
 * Pure: it computes the deadline, the owner schedules it.
 *
 * @example
 * ```ts
 * const s = new Suspicion({ from: 'a', expectedConfirmations: 2, minMs: 1_000, maxMs: 6_000, startMs: 0 });
 * s.deadlineMs; // 6000
 * s.confirm('b'); // true, deadline shrinks
 * s.confirm('b'); // false, already counted
 * ```
 */
export class Suspicion {
  readonly from: NodeId;
  readonly expectedConfirmations: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly startMs: number;
  readonly #confirmers = new Set<NodeId>();

  constructor(options: SuspicionOptions) {
    this.from = options.from;
    this.expectedConfirmations = Math.max(0, Math.floor(options.expectedConfirmations));
    this.minMs = options.minMs;
    this.maxMs = Math.max(options.minMs, options.maxMs);
    this.startMs = options.startMs;
  }

  /**
   * Counts a confirmation from `from`.
   * @returns true if it was new and independent (so worth re-gossiping), false otherwise.
   */
  confirm(from: NodeId): boolean {
    if (this.#confirmers.size >= this.expectedConfirmations) return false;
    if (from === this.from || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    return true;
  }

  /** Independent confirmations counted so far. */
  get confirmations(): number {
    return this.#confirmers.size;
  }

  /** The current timeout, measured from `startMs`. */
  get timeoutMs(): number {
    const k = this.expectedConfirmations;
    if (k < 1) return this.minMs;
    const fraction = Math.log(this.#confirmers.size + 1) / Math.log(k + 1);
    const raw = this.maxMs - fraction * (this.maxMs - this.minMs);
    // Whole milliseconds keep timer ordering identical across runtimes.
    return Math.max(this.minMs, Math.floor(raw));
  }

  /** When the member should be declared dead unless it refutes first. */
  get deadlineMs(): number {
    return this.startMs + this.timeoutMs;
  }
}
