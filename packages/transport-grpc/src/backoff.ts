import { InvalidArgumentError, type Random } from '@synod/core';

/** Settings of the reconnect delay; see {@link Backoff}. */
export interface BackoffOptions {
  /** The ceiling of the first delay, in ms. @default 100 */
  readonly initialMs?: number;
  /** The largest ceiling any delay can reach, in ms. @default 5000 */
  readonly maxMs?: number;
  /** How much the ceiling grows after each failed attempt. @default 2 */
  readonly multiplier?: number;
}

/** The backoff defaults, for documentation and tests. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = Object.freeze({ initialMs: 100, maxMs: 5_000, multiplier: 2 });

/**
 * Capped exponential backoff with full jitter: after `n` consecutive failures
 * the next delay is uniform in `[0, min(maxMs, initialMs × multiplier^n))`.
 * Full jitter (rather than ±20 % around the ceiling, as gRPC's own channel
 * does) spreads the redials of many nodes that lost the same peer at the
 * same moment, so a restarted node is not hit by all of them at once.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 100, maxMs: 5_000 }, random);
 * clock.setTimeout(redial, backoff.next()); // after a failure
 * backoff.reset();                          // after a success
 * ```
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #multiplier: number;
  readonly #random: Random;
  #failures = 0;

  constructor(options: BackoffOptions, random: Random) {
    this.#initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.#maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.#multiplier = options.multiplier ?? DEFAULT_BACKOFF.multiplier;
    if (!(this.#initialMs > 0) || !(this.#maxMs >= this.#initialMs) || !(this.#multiplier >= 1)) {
      throw new InvalidArgumentError(
        `backoff needs 0 < initialMs <= maxMs and multiplier >= 1, got ${this.#initialMs}, ${this.#maxMs}, ${this.#multiplier}`,
      );
    }
    this.#random = random;
  }

  /** Consecutive failures since the last {@link Backoff.reset}. */
  get failures(): number {
    return this.#failures;
  }

  /** The ceiling of the next delay. */
  get ceilingMs(): number {
    // Capped before it can overflow: the exponent stops mattering once past maxMs.
    return Math.min(this.#maxMs, this.#initialMs * this.#multiplier ** Math.min(this.#failures, 64));
  }

  /** Records a failure and returns the delay before the next attempt. */
  next(): number {
    const delay = this.#random.next() * this.ceilingMs;
    this.#failures++;
    return delay;
  }

  /** Records a success: the next delay starts from `initialMs` again. */
  reset(): void {
    this.#failures = 0;
  }
}
