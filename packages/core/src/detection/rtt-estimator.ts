import { InvalidArgumentError } from '../errors/errors.js';

/** Options of the {@link RttEstimator}; defaults follow RFC 6298 except where noted. */
export interface RttEstimatorOptions {
  /** RTO before any sample (RFC 6298 §2.1). @default 1000 */
  readonly initialRtoMs?: number;
  /**
   * Lower clamp of the RTO. RFC 6298 §2.4 asks for 1 s on the open Internet;
   * probes between cluster members want faster reactions, so the default is
   * the 200 ms Linux uses for TCP.
   * @default 200
   */
  readonly minRtoMs?: number;
  /** Upper clamp of the RTO (RFC 6298 §2.5 allows a maximum of at least 60 s). @default 60000 */
  readonly maxRtoMs?: number;
  /** Clock granularity G (RFC 6298 §2.2). @default 1 */
  readonly granularityMs?: number;
  /** Gain of SRTT, alpha (RFC 6298 §2.3). @default 0.125 */
  readonly alpha?: number;
  /** Gain of RTTVAR, beta (RFC 6298 §2.3). @default 0.25 */
  readonly beta?: number;
  /** Multiplier of RTTVAR in the RTO, K (RFC 6298 §2.2). @default 4 */
  readonly k?: number;
}

/** Options for one RTT sample. */
export interface RttSampleOptions {
  /**
   * True when the sample comes from a request that was sent more than once.
   * Such a reply cannot be matched to one transmission, so Karn's rule (RFC
   * 6298 §3) says to ignore it.
   */
  readonly retransmitted?: boolean;
}

/**
 * A retransmission-timeout estimator as in RFC 6298: a smoothed RTT (SRTT),
 * its mean deviation (RTTVAR), and RTO = SRTT + max(G, K·RTTVAR) clamped to
 * [min, max], doubled on every timeout (exponential backoff, §5.5) until a
 * fresh sample arrives.
 *
 * Used for per-peer probe deadlines: a deadline tracks the path's real RTT
 * instead of a hand-tuned constant.
 *
 * @example
 * ```ts
 * const rtt = new RttEstimator();
 * rtt.sample(40);          // first sample: SRTT 40, RTTVAR 20
 * rtt.rtoMs;               // max(200, 40 + 4·20) = 200
 * rtt.backoff();           // a probe timed out: RTO 400
 * rtt.sample(900, { retransmitted: true }); // ignored (Karn's rule)
 * ```
 */
export class RttEstimator {
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  readonly granularityMs: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  #srtt: number | undefined;
  #rttvar: number | undefined;
  #baseRto: number;
  #backoffs = 0;
  #samples = 0;

  constructor(options: RttEstimatorOptions = {}) {
    this.initialRtoMs = options.initialRtoMs ?? 1000;
    this.minRtoMs = options.minRtoMs ?? 200;
    this.maxRtoMs = options.maxRtoMs ?? 60_000;
    this.granularityMs = options.granularityMs ?? 1;
    this.alpha = options.alpha ?? 0.125;
    this.beta = options.beta ?? 0.25;
    this.k = options.k ?? 4;
    if (!(this.minRtoMs > 0 && this.maxRtoMs >= this.minRtoMs)) {
      throw new InvalidArgumentError(`need 0 < minRtoMs <= maxRtoMs, got ${this.minRtoMs} and ${this.maxRtoMs}`);
    }
    if (!(this.initialRtoMs > 0)) throw new InvalidArgumentError(`initialRtoMs must be > 0, got ${this.initialRtoMs}`);
    if (!(this.alpha > 0 && this.alpha <= 1 && this.beta > 0 && this.beta <= 1)) {
      throw new InvalidArgumentError('alpha and beta must be in (0, 1]');
    }
    this.#baseRto = this.#clamp(this.initialRtoMs);
  }

  /**
   * Feeds one measured round trip.
   * @returns false when the sample was ignored (Karn's rule, or not a finite non-negative number).
   */
  sample(rttMs: number, options: RttSampleOptions = {}): boolean {
    if (options.retransmitted === true || !Number.isFinite(rttMs) || rttMs < 0) return false;
    if (this.#srtt === undefined || this.#rttvar === undefined) {
      // §2.2: the first measurement R sets SRTT = R, RTTVAR = R/2.
      this.#srtt = rttMs;
      this.#rttvar = rttMs / 2;
    } else {
      // §2.3: RTTVAR is updated with the old SRTT, then SRTT.
      this.#rttvar = (1 - this.beta) * this.#rttvar + this.beta * Math.abs(this.#srtt - rttMs);
      this.#srtt = (1 - this.alpha) * this.#srtt + this.alpha * rttMs;
    }
    this.#samples++;
    this.#baseRto = this.#clamp(this.#srtt + Math.max(this.granularityMs, this.k * this.#rttvar));
    // §5.7: a fresh sample after backoff replaces the backed-off RTO.
    this.#backoffs = 0;
    return true;
  }

  /** Doubles the RTO after a timeout (RFC 6298 §5.5), up to the maximum. */
  backoff(): void {
    if (this.rtoMs < this.maxRtoMs) this.#backoffs++;
  }

  /** The current retransmission timeout in ms, including any backoff. */
  get rtoMs(): number {
    return Math.min(this.maxRtoMs, this.#baseRto * 2 ** this.#backoffs);
  }

  /** The smoothed RTT, or undefined before the first sample. */
  get srttMs(): number | undefined {
    return this.#srtt;
  }

  /** The RTT variation, or undefined before the first sample. */
  get rttvarMs(): number | undefined {
    return this.#rttvar;
  }

  /** How many samples were accepted. */
  get samples(): number {
    return this.#samples;
  }

  /** How many consecutive timeouts the current RTO is backed off by. */
  get backoffs(): number {
    return this.#backoffs;
  }

  #clamp(ms: number): number {
    return Math.min(this.maxRtoMs, Math.max(this.minRtoMs, ms));
  }
}
