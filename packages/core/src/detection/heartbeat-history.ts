import { InvalidArgumentError } from '../errors/errors.js';

/**
 * A bounded window of heartbeat inter-arrival times with a running mean and
 * variance, the sample set of the phi accrual detector (Hayashibara et al.
 * 2004, §3: "the sampling window ... of fixed size").
 *
 * The window is a ring buffer with running sums of the intervals and of their
 * squares, so adding a sample and reading the statistics are O(1) whatever the
 * window size. Intervals are milliseconds between heartbeats; for intervals
 * of realistic size (milliseconds to minutes) the sum-of-squares form keeps far
 * more precision than the detector needs, and the variance is clamped at zero
 * against rounding.
 *
 * The variance is the population variance (divide by n), matching what users
 * of Akka/Pekko get for the same samples.
 *
 * @example
 * ```ts
 * const history = new HeartbeatHistory(1000);
 * history.add(1000);
 * history.add(1100);
 * history.mean; // 1050
 * history.stdDeviation; // 50
 * ```
 */
export class HeartbeatHistory {
  readonly maxSampleSize: number;
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  #sum = 0;
  #squaredSum = 0;

  constructor(maxSampleSize: number) {
    if (!Number.isInteger(maxSampleSize) || maxSampleSize < 1) {
      throw new InvalidArgumentError(`maxSampleSize must be a positive integer, got ${maxSampleSize}`);
    }
    this.maxSampleSize = maxSampleSize;
    this.#samples = new Float64Array(maxSampleSize);
  }

  /** Adds an inter-arrival interval, evicting the oldest one when the window is full. */
  add(intervalMs: number): void {
    if (this.#count === this.maxSampleSize) {
      const evicted = this.#samples[this.#next]!;
      this.#sum -= evicted;
      this.#squaredSum -= evicted * evicted;
    } else {
      this.#count++;
    }
    this.#samples[this.#next] = intervalMs;
    this.#next = (this.#next + 1) % this.maxSampleSize;
    this.#sum += intervalMs;
    this.#squaredSum += intervalMs * intervalMs;
  }

  /** Number of intervals in the window. */
  get size(): number {
    return this.#count;
  }

  /** Mean interval in ms (0 when empty). */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Population variance of the intervals in ms² (0 when empty). */
  get variance(): number {
    if (this.#count === 0) return 0;
    const mean = this.mean;
    return Math.max(0, this.#squaredSum / this.#count - mean * mean);
  }

  /** Population standard deviation of the intervals in ms. */
  get stdDeviation(): number {
    return Math.sqrt(this.variance);
  }

  /** The intervals in the window, oldest first. */
  samples(): number[] {
    const out: number[] = [];
    const start = this.#count === this.maxSampleSize ? this.#next : 0;
    for (let i = 0; i < this.#count; i++) out.push(this.#samples[(start + i) % this.maxSampleSize]!);
    return out;
  }
}
