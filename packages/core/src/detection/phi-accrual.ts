import { InvalidArgumentError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';
import { Emitter, type EventSource } from './detection-events.js';
import type { AvailabilityChange, AvailabilityListener, DetectorEvents, FailureDetector } from './failure-detector.js';
import { HeartbeatHistory } from './heartbeat-history.js';

/**
 * Options of the {@link PhiAccrualDetector}. Names and defaults follow what
 * Akka/Pekko users know from `akka.cluster.failure-detector`, except the
 * acceptable pause (see {@link PhiAccrualOptions.acceptableHeartbeatPauseMs}).
 */
export interface PhiAccrualOptions {
  /**
   * Phi above which a peer is unavailable. phi = 8 means the detector would be
   * wrong about one time in 10^8 if heartbeat intervals were normally distributed.
   * @default 8
   */
  readonly threshold?: number;
  /** Heartbeat intervals kept per peer. @default 1000 */
  readonly maxSampleSize?: number;
  /**
   * Floor of the standard deviation used in phi. Very regular heartbeats would
   * otherwise give a tiny deviation and make phi jump on the smallest delay.
   * @default 100
   */
  readonly minStdDeviationMs?: number;
  /**
   * Extra pause tolerated on top of the mean interval (for example a GC pause
   * or a busy event loop). It shifts the distribution's mean.
   *
   * Pekko's cluster uses 3 s; here it is 0 because the detector also watches
   * Raft leaders whose heartbeats come every tick (100 ms or less), where a
   * 3 s allowance would make detection slower than an election timeout.
   * Pass `3000` for Pekko's behaviour with heartbeats every second.
   * @default 0
   */
  readonly acceptableHeartbeatPauseMs?: number;
  /**
   * Guess of the heartbeat interval used until real intervals arrive. The
   * history starts with two intervals around it (deviation a quarter of it), so
   * the first heartbeat already gives a usable phi.
   * @default 1000
   */
  readonly firstHeartbeatEstimateMs?: number;
}

const LN10 = Math.log(10);

/**
 * Phi for a peer silent for `elapsedMs`, when intervals have `meanMs` and
 * `stdDeviationMs`: phi = -log10(P(interval > elapsed)) (Hayashibara et al.
 * 2004, §3, eq. 1).
 *
 * The normal CDF is approximated with a logistic function, F(y) ≈ 1 / (1 +
 * e^(-z)) with z = 1.5976·y + 0.070566·y³ and y = (elapsed - mean) / sd
 * (Bowling et al. 2009, max error ~1.4e-4), the same approximation Pekko uses, so
 * phi values agree with Pekko's. With that, P(later) = 1 - F = 1 / (1 + e^z) and
 * phi = log10(1 + e^z) = softplus(z) / ln 10, which is evaluated in a form
 * that neither overflows for very late heartbeats nor underflows to -0 for
 * early ones.
 *
 * @example
 * ```ts
 * phiOf(1400, 1000, 100); // ≈ 4.74
 * ```
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const z = y * (1.5976 + 0.070566 * y * y);
  const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  return softplus / LN10;
}

interface PeerState {
  readonly history: HeartbeatHistory;
  lastHeartbeatMs: number;
  /** What listeners were last told. */
  reportedAvailable: boolean;
}

/** A snapshot of what the detector knows about one peer. */
export interface PhiPeerStats {
  readonly lastHeartbeatMs: number;
  readonly meanIntervalMs: number;
  readonly stdDeviationMs: number;
  readonly samples: number;
}

/**
 * The phi accrual failure detector (Hayashibara et al. 2004): instead of a
 * yes/no verdict it outputs phi, a suspicion level that grows continuously with
 * the silence since the last heartbeat, scaled by how regular that peer's
 * heartbeats have been. A peer is unavailable once phi reaches the threshold.
 *
 * Pure: the caller passes the time. One instance monitors any number of peers;
 * each has its own bounded history.
 *
 * Like Pekko, an interval that ends a period in which the peer was already
 * judged unavailable is not recorded: an outage is not a sample of the normal
 * heartbeat rhythm and would inflate the mean for a long time.
 *
 * @example
 * ```ts
 * const detector = new PhiAccrualDetector({ threshold: 8, acceptableHeartbeatPauseMs: 3_000 });
 * detector.on('unavailable', (c) => console.log(`${c.peer} down, phi=${c.phi}`));
 * detector.heartbeat('n2', clock.now());
 * // ... later, e.g. on every tick:
 * detector.check(clock.now());
 * detector.phi('n2', clock.now());
 * ```
 */
export class PhiAccrualDetector implements FailureDetector, EventSource<DetectorEvents> {
  readonly threshold: number;
  readonly maxSampleSize: number;
  readonly minStdDeviationMs: number;
  readonly acceptableHeartbeatPauseMs: number;
  readonly firstHeartbeatEstimateMs: number;
  readonly #peers = new Map<NodeId, PeerState>();
  readonly #events = new Emitter<DetectorEvents>();

  constructor(options: PhiAccrualOptions = {}) {
    this.threshold = options.threshold ?? 8;
    this.maxSampleSize = options.maxSampleSize ?? 1000;
    this.minStdDeviationMs = options.minStdDeviationMs ?? 100;
    this.acceptableHeartbeatPauseMs = options.acceptableHeartbeatPauseMs ?? 0;
    this.firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? 1000;
    if (!(this.threshold > 0)) throw new InvalidArgumentError(`threshold must be > 0, got ${this.threshold}`);
    if (!(this.minStdDeviationMs > 0)) {
      throw new InvalidArgumentError(`minStdDeviationMs must be > 0, got ${this.minStdDeviationMs}`);
    }
    if (!(this.acceptableHeartbeatPauseMs >= 0)) {
      throw new InvalidArgumentError(`acceptableHeartbeatPauseMs must be >= 0, got ${this.acceptableHeartbeatPauseMs}`);
    }
    if (!(this.firstHeartbeatEstimateMs > 0)) {
      throw new InvalidArgumentError(`firstHeartbeatEstimateMs must be > 0, got ${this.firstHeartbeatEstimateMs}`);
    }
    // Validates maxSampleSize early rather than on the first heartbeat.
    new HeartbeatHistory(this.maxSampleSize);
  }

  heartbeat(peer: NodeId, nowMs: number): void {
    const state = this.#peers.get(peer);
    if (state === undefined) {
      this.#peers.set(peer, { history: this.#seededHistory(), lastHeartbeatMs: nowMs, reportedAvailable: true });
      return;
    }
    const interval = nowMs - state.lastHeartbeatMs;
    if (this.#phi(state, nowMs) < this.threshold) state.history.add(interval);
    state.lastHeartbeatMs = nowMs;
    if (!state.reportedAvailable) this.#report(peer, state, true, nowMs);
  }

  /** The suspicion level of `peer` at `nowMs`; 0 for a peer never heard from. */
  phi(peer: NodeId, nowMs: number): number {
    const state = this.#peers.get(peer);
    return state === undefined ? 0 : this.#phi(state, nowMs);
  }

  isAvailable(peer: NodeId, nowMs: number): boolean {
    return this.phi(peer, nowMs) < this.threshold;
  }

  /** Whether `peer` has sent at least one heartbeat (and was not removed). */
  isMonitoring(peer: NodeId): boolean {
    return this.#peers.has(peer);
  }

  check(nowMs: number): void {
    for (const [peer, state] of this.#peers) {
      const available = this.#phi(state, nowMs) < this.threshold;
      if (available !== state.reportedAvailable) this.#report(peer, state, available, nowMs);
    }
  }

  remove(peer: NodeId): void {
    this.#peers.delete(peer);
  }

  /** The monitored peers. */
  peers(): NodeId[] {
    return [...this.#peers.keys()];
  }

  /** Interval statistics for `peer`, or undefined if it is not monitored. */
  stats(peer: NodeId): PhiPeerStats | undefined {
    const state = this.#peers.get(peer);
    if (state === undefined) return undefined;
    return {
      lastHeartbeatMs: state.lastHeartbeatMs,
      meanIntervalMs: state.history.mean,
      stdDeviationMs: state.history.stdDeviation,
      samples: state.history.size,
    };
  }

  onChange(listener: AvailabilityListener): () => void {
    const offDown = this.#events.on('unavailable', listener);
    const offUp = this.#events.on('available', listener);
    return () => {
      offDown();
      offUp();
    };
  }

  on<K extends keyof DetectorEvents>(type: K, listener: (event: DetectorEvents[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  #phi(state: PeerState, nowMs: number): number {
    const mean = state.history.mean + this.acceptableHeartbeatPauseMs;
    const sd = Math.max(state.history.stdDeviation, this.minStdDeviationMs);
    return phiOf(nowMs - state.lastHeartbeatMs, mean, sd);
  }

  #seededHistory(): HeartbeatHistory {
    const history = new HeartbeatHistory(this.maxSampleSize);
    const sd = this.firstHeartbeatEstimateMs / 4;
    history.add(this.firstHeartbeatEstimateMs - sd);
    history.add(this.firstHeartbeatEstimateMs + sd);
    return history;
  }

  #report(peer: NodeId, state: PeerState, available: boolean, nowMs: number): void {
    state.reportedAvailable = available;
    const change: AvailabilityChange = { peer, available, atMs: nowMs, phi: this.#phi(state, nowMs) };
    this.#events.emit(available ? 'available' : 'unavailable', change);
  }
}
