import type { NodeId } from '../transport/transport.js';

/** A change in a peer's availability, as judged by a {@link FailureDetector}. */
export interface AvailabilityChange {
  readonly peer: NodeId;
  /** True when the peer became available again, false when it became unavailable. */
  readonly available: boolean;
  /** The time of the check (or heartbeat) that noticed the change. */
  readonly atMs: number;
  /** The suspicion level at that time, for detectors that have one (phi accrual). */
  readonly phi?: number;
}

/** Receives availability changes from a {@link FailureDetector}. */
export type AvailabilityListener = (change: AvailabilityChange) => void;

/**
 * The small contract every heartbeat-fed detector implements, and what a
 * consensus node accepts for detector-assisted elections (a follower may start
 * a PreVote once the detector says the leader is unavailable, instead of
 * waiting for a fixed election timeout; PreVote keeps that safe).
 *
 * Detectors are pure: they never read a clock, the caller passes the time.
 * Heartbeats and queries must be given non-decreasing times.
 *
 * Change events are emitted when a heartbeat or a {@link FailureDetector.check}
 * notices a transition; {@link FailureDetector.isAvailable} is a pure query, so
 * a caller that wants events calls `check(now)` periodically (for example on
 * every Raft tick).
 *
 * @example
 * ```ts
 * const detector: FailureDetector = new PhiAccrualDetector();
 * detector.onChange((c) => console.log(c.peer, c.available ? 'up' : 'down'));
 * detector.heartbeat('n2', clock.now());
 * if (!detector.isAvailable('n2', clock.now())) startPreVote();
 * ```
 */
export interface FailureDetector {
  /** Records a heartbeat (any sign of life) from `peer` received at `nowMs`. */
  heartbeat(peer: NodeId, nowMs: number): void;
  /**
   * Whether `peer` is considered up at `nowMs`. A peer never heard from is
   * available: there is no evidence against it yet (it is not monitored).
   */
  isAvailable(peer: NodeId, nowMs: number): boolean;
  /** Re-evaluates every monitored peer at `nowMs` and emits the transitions found. */
  check(nowMs: number): void;
  /** Stops monitoring `peer` and forgets its history. */
  remove(peer: NodeId): void;
  /** Subscribes to availability changes. Returns an unsubscribe function. */
  onChange(listener: AvailabilityListener): () => void;
}

/** Events of the heartbeat-fed detectors: a peer crossed the availability line. */
export interface DetectorEvents {
  /** A peer judged unavailable was heard from again (or is below the threshold again). */
  readonly available: AvailabilityChange;
  /** A peer's silence crossed the detector's limit (timeout or phi threshold). */
  readonly unavailable: AvailabilityChange;
}
