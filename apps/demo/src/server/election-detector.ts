import { PhiAccrualDetector, type AvailabilityListener, type FailureDetector, type NodeId } from '@synod/core';
import { integerFlag, UsageError } from './flags.js';

/**
 * Which detector, if any, lets a follower campaign before its election
 * timeout (detector-assisted elections):
 * - `off`: the randomized election timeout alone (10 ticks to 20 ticks);
 * - `phi`: phi accrual over the leader's heartbeats (one per tick), which
 *   notices a silent leader a few heartbeats in;
 * - `swim`: SWIM's view (suspect or dead) of the leader.
 */
export type ElectionDetectorKind = 'off' | 'phi' | 'swim';

export const ELECTION_DETECTOR_FLAGS = {
  'election-detector': { type: 'string' },
  'leader-pause-ms': { type: 'string' },
} as const;

export const ELECTION_DETECTOR_HELP = `  --election-detector D off, phi or swim: let a follower campaign as soon as
                        this detector and a silence longer than
                        --leader-pause-ms both say the leader is gone, rather
                        than waiting out the election timeout (default: swim
                        with --swim-transport udp, otherwise off)
  --leader-pause-ms N   the longest leader silence (a GC pause, a stalled
                        event loop) that must not cost it the leadership with
                        an election detector (default: half the election
                        timeout, 5 ticks)`;

/** The election-detector flags, parsed. */
export interface ElectionDetectorSettings {
  readonly kind: ElectionDetectorKind;
  /** RaftNode's `toleratedLeaderPauseMs`; undefined keeps RaftNode's default. */
  readonly toleratedLeaderPauseMs: number | undefined;
}

/**
 * Reads `--election-detector` and `--leader-pause-ms`. `swim` needs SWIM
 * running (`--swim` not `off`); the default follows where SWIM runs: its
 * own datagram path has always driven elections, SWIM on the peer
 * transport only when asked.
 *
 * @throws UsageError on an unknown kind, a bad number, `swim` with SWIM
 * off, or a pause without a detector.
 */
export function electionDetectorSettings(
  values: { readonly 'election-detector'?: string | undefined; readonly 'leader-pause-ms'?: string | undefined },
  swim: { readonly running: boolean; readonly overUdp: boolean },
): ElectionDetectorSettings {
  const given = values['election-detector'];
  const kind = given ?? (swim.running && swim.overUdp ? 'swim' : 'off');
  if (kind !== 'off' && kind !== 'phi' && kind !== 'swim') throw new UsageError(`--election-detector must be off, phi or swim, got '${kind}'`);
  if (kind === 'swim' && !swim.running) throw new UsageError('--election-detector swim needs SWIM: drop --swim off');
  const pause = values['leader-pause-ms'];
  if (pause !== undefined && kind === 'off') throw new UsageError('--leader-pause-ms applies to detector-assisted elections: give --election-detector phi or swim');
  return { kind, toleratedLeaderPauseMs: pause === undefined ? undefined : integerFlag(pause, '--leader-pause-ms', 0, 0, 600_000) };
}

/**
 * The phi accrual detector `--election-detector phi` gives the node: fed by
 * the leader's heartbeats (one per tick), threshold 8 and a deviation floor
 * of a fifth of a tick, so phi crosses 8 about two ticks into a silence on
 * a steady heartbeat; the node's hold-down (`--leader-pause-ms`) still
 * decides when that suspicion may start a campaign.
 */
export function electionPhiDetector(tickMs: number): PhiAccrualDetector {
  return new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: Math.max(1, tickMs / 5), firstHeartbeatEstimateMs: tickMs });
}

/**
 * A detector whose verdicts come from one attached later: SWIM on the peer
 * transport starts only after the server that owns that transport, but the
 * Raft node takes its detector when the server is created. Until
 * {@link attach}, every peer is available (no evidence against it), so the
 * node behaves as with no detector.
 */
export class LateFailureDetector implements FailureDetector {
  #target: FailureDetector | undefined;
  readonly #listeners = new Set<AvailabilityListener>();
  readonly #unsubscribe: (() => void)[] = [];

  /** Starts answering from `target`. Once only. */
  attach(target: FailureDetector): void {
    if (this.#target !== undefined) throw new Error('LateFailureDetector: a detector is attached already');
    this.#target = target;
    this.#unsubscribe.push(target.onChange((change) => this.#listeners.forEach((listener) => listener(change))));
  }

  /** Stops following the attached detector's changes. */
  detach(): void {
    this.#unsubscribe.splice(0).forEach((unsubscribe) => unsubscribe());
  }

  heartbeat(peer: NodeId, nowMs: number): void {
    this.#target?.heartbeat(peer, nowMs);
  }

  isAvailable(peer: NodeId, nowMs: number): boolean {
    return this.#target?.isAvailable(peer, nowMs) ?? true;
  }

  check(nowMs: number): void {
    this.#target?.check(nowMs);
  }

  remove(peer: NodeId): void {
    this.#target?.remove(peer);
  }

  onChange(listener: AvailabilityListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
