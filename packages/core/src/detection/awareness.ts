import { InvalidArgumentError } from '../errors/errors.js';

/**
 * Lifeguard's local health multiplier ("Local Health Aware Probe", Dadgar et
 * al. 2017, §4.1). A node that is itself slow (CPU starved, dropping packets)
 * misses acks and would wrongly suspect healthy peers; the score counts such
 * signs of local trouble and stretches the node's own probe interval and
 * timeout, so a sick node slows down instead of spreading false suspicions.
 *
 * The score lives in [0, max - 1]; timeouts are scaled by (score + 1).
 *
 * @example
 * ```ts
 * const awareness = new Awareness(8);
 * awareness.applyDelta(+1);  // a probe failed without nacks
 * awareness.scale(500);      // 1000
 * awareness.applyDelta(-1);  // a probe succeeded
 * ```
 */
export class Awareness {
  readonly max: number;
  #score = 0;

  /** @param max the largest multiplier; 1 disables the mechanism. */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`awareness max must be an integer >= 1, got ${max}`);
    this.max = max;
  }

  /** The current health score; 0 is healthy. */
  get score(): number {
    return this.#score;
  }

  /** Adds `delta` (positive for trouble, negative for success), clamped to [0, max - 1]. */
  applyDelta(delta: number): number {
    this.#score = Math.min(this.max - 1, Math.max(0, this.#score + delta));
    return this.#score;
  }

  /** Stretches a base timeout by the current health: `baseMs · (score + 1)`. */
  scale(baseMs: number): number {
    return baseMs * (this.#score + 1);
  }
}
