import { PhiAccrualDetector, type NodeId } from '@synod/core';
import type { NetworkEvent } from '@synod/transport-memory';
import type { PhiFrame } from './dashboard-types.js';

/** The suspicion threshold the dashboard draws (the phi accrual detector's default). */
export const PHI_THRESHOLD = 8;
/**
 * A peer silent for this long is no longer shown: in Raft a follower stops
 * hearing from a former leader for good once another one is elected, and a
 * line pinned at the top of the chart forever says nothing new.
 */
export const PHI_FORGET_AFTER_MS = 10_000;

/**
 * One phi accrual detector per node, fed with every consensus message that
 * node receives (any message counts as a sign of life), so the dashboard can
 * show how suspicious each node is of each peer it hears from. In Raft a
 * follower hears only its leader, so a follower watches the leader and the
 * leader watches every follower: exactly the pairs whose silence matters.
 */
export class DetectorView {
  readonly #detectors = new Map<NodeId, PhiAccrualDetector>();

  observe(event: NetworkEvent): void {
    // Consensus traffic only: SWIM has its own detector, shown on its own.
    if (event.type !== 'deliver' || event.envelope.protocol === 'swim') return;
    const { from, to } = event.envelope;
    this.#detectorOf(to).heartbeat(from, event.at);
  }

  /** A node restarted or left: its history of arrivals no longer says anything. */
  forget(node: NodeId): void {
    this.#detectors.delete(node);
    for (const detector of this.#detectors.values()) detector.remove(node);
  }

  /** Current phi of every monitored (observer, peer) pair; observers limited to `observers`. */
  frame(observers: readonly NodeId[], now: number): PhiFrame[] {
    const frames: PhiFrame[] = [];
    for (const observer of observers) {
      const detector = this.#detectors.get(observer);
      if (detector === undefined) continue;
      for (const peer of detector.peers()) {
        const last = detector.stats(peer)?.lastHeartbeatMs ?? now;
        if (now - last > PHI_FORGET_AFTER_MS) continue;
        const phi = detector.phi(peer, now);
        frames.push({ observer, peer, phi: Number.isFinite(phi) ? Math.round(phi * 100) / 100 : 99 });
      }
    }
    return frames;
  }

  #detectorOf(node: NodeId): PhiAccrualDetector {
    let detector = this.#detectors.get(node);
    if (detector === undefined) {
      // Raft heartbeats every tick (50 ms), so expect arrivals about that often.
      detector = new PhiAccrualDetector({ threshold: PHI_THRESHOLD, firstHeartbeatEstimateMs: 50, minStdDeviationMs: 20 });
      this.#detectors.set(node, detector);
    }
    return detector;
  }
}
