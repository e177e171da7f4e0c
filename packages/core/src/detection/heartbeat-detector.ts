import { InvalidArgumentError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';
import { Emitter, type EventSource } from './detection-events.js';
import type { AvailabilityListener, DetectorEvents, FailureDetector } from './failure-detector.js';

/** Options of the {@link HeartbeatDetector}. */
export interface HeartbeatDetectorOptions {
  /** Silence after which a peer is unavailable, in ms. A peer is available while `now - last < timeoutMs`. */
  readonly timeoutMs: number;
}

interface PeerState {
  lastHeartbeatMs: number;
  reportedAvailable: boolean;
}

/**
 * The classic fixed-timeout detector: a peer is unavailable once it has been
 * silent for `timeoutMs`. Cheap and predictable, but the timeout must be tuned
 * by hand against the network's worst delays: the trade-off the phi accrual
 * detector and SWIM's adaptive timeouts exist to soften.
 *
 * Pure: the caller passes the time.
 *
 * @example
 * ```ts
 * const detector = new HeartbeatDetector({ timeoutMs: 1_500 });
 * detector.heartbeat('n2', 0);
 * detector.isAvailable('n2', 1_000); // true
 * detector.isAvailable('n2', 1_500); // false
 * ```
 */
export class HeartbeatDetector implements FailureDetector, EventSource<DetectorEvents> {
  readonly timeoutMs: number;
  readonly #peers = new Map<NodeId, PeerState>();
  readonly #events = new Emitter<DetectorEvents>();

  constructor(options: HeartbeatDetectorOptions) {
    if (!(options.timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.timeoutMs = options.timeoutMs;
  }

  heartbeat(peer: NodeId, nowMs: number): void {
    const state = this.#peers.get(peer);
    if (state === undefined) {
      this.#peers.set(peer, { lastHeartbeatMs: nowMs, reportedAvailable: true });
      return;
    }
    state.lastHeartbeatMs = Math.max(state.lastHeartbeatMs, nowMs);
    if (!state.reportedAvailable) {
      state.reportedAvailable = true;
      this.#events.emit('available', { peer, available: true, atMs: nowMs });
    }
  }

  isAvailable(peer: NodeId, nowMs: number): boolean {
    const state = this.#peers.get(peer);
    return state === undefined || nowMs - state.lastHeartbeatMs < this.timeoutMs;
  }

  /** When `peer` was last heard from, or undefined if never. */
  lastHeartbeat(peer: NodeId): number | undefined {
    return this.#peers.get(peer)?.lastHeartbeatMs;
  }

  check(nowMs: number): void {
    for (const [peer, state] of this.#peers) {
      const available = nowMs - state.lastHeartbeatMs < this.timeoutMs;
      if (available === state.reportedAvailable) continue;
      state.reportedAvailable = available;
      this.#events.emit(available ? 'available' : 'unavailable', { peer, available, atMs: nowMs });
    }
  }

  remove(peer: NodeId): void {
    this.#peers.delete(peer);
  }

  /** The monitored peers. */
  peers(): NodeId[] {
    return [...this.#peers.keys()];
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
}
