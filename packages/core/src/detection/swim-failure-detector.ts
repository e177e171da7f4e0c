import type { NodeId } from '../transport/transport.js';
import { Emitter } from './detection-events.js';
import type { AvailabilityChange, AvailabilityListener, DetectorEvents, FailureDetector } from './failure-detector.js';
import type { PhiAccrualDetector } from './phi-accrual.js';
import type { MemberEvent, MemberInfo, MemberState } from './swim-types.js';

/**
 * What {@link SwimFailureDetector} needs from SWIM: a member lookup and the
 * member events. {@link SwimNode} provides both.
 */
export interface SwimMembershipView {
  member(id: NodeId): MemberInfo | undefined;
  on(type: 'alive' | 'suspect' | 'dead' | 'left', listener: (event: MemberEvent) => void): () => void;
}

/** Options of a {@link SwimFailureDetector}. */
export interface SwimFailureDetectorOptions {
  /** The SWIM membership to follow, usually a {@link SwimNode}. */
  readonly swim: SwimMembershipView;
  /**
   * The SWIM state from which a peer counts as unavailable. `'suspect'`
   * (default) fails over as soon as SWIM's direct and indirect probes both
   * missed, which for the LAN profile is within about one probe round;
   * `'dead'` also waits out the suspicion timeout (seconds with Lifeguard),
   * which is usually slower than Raft's own election timeout. A suspect that
   * refutes becomes available again. `dead` and `left` are always
   * unavailable.
   * @default 'suspect'
   */
  readonly unavailableFrom?: 'suspect' | 'dead';
  /**
   * A phi accrual detector fed by {@link SwimFailureDetector.heartbeat}, for
   * reporting a suspicion level ({@link SwimFailureDetector.phi}) beside the
   * SWIM state. It does not take part in the availability verdict.
   */
  readonly phi?: PhiAccrualDetector;
}

/**
 * A {@link FailureDetector} whose verdict is SWIM's: a RaftNode given one
 * (`failureDetector` option) campaigns early once SWIM suspects (or declares
 * dead) its leader, instead of waiting for a full election timeout. PreVote
 * and the node's hold-down (`toleratedLeaderPauseMs`) keep a false suspicion
 * from disrupting a leader that a majority still hears.
 *
 * SWIM probes on its own, so {@link heartbeat} only feeds the optional phi
 * detector; {@link remove} forgets what was last reported about a peer (for
 * change events) but {@link isAvailable} keeps answering from SWIM's view.
 *
 * Membership changes stay with the application: SWIM saying a member is dead
 * is a detection, not a decision. To act on it, have the leader propose the
 * change after the member has stayed dead for a while (see the package
 * README, "Proposing membership changes from SWIM's view"):
 *
 * @example
 * ```ts
 * const swim = new SwimNode({ transport, clock, random, clusterId: 'c1' });
 * const detector = new SwimFailureDetector({ swim });
 * const raft = new RaftNode({ raft: { id, voters }, clusterId: 'c1', transport, storage, stateMachine, failureDetector: detector, attachToTransport: false });
 * transport.setHandler((env) => {
 *   detector.heartbeat(env.from, clock.now());
 *   if (!swim.handleEnvelope(env)) raft.receive(env);
 * });
 * swim.on('dead', ({ member }) => {
 *   // Application policy, not automatic: only the leader proposes, and only
 *   // after the member stayed dead for 60 s (it may be restarting).
 *   clock.setTimeout(() => {
 *     if (raft.status().role === 'leader' && swim.member(member.id)?.state === 'dead') void raft.removeMember(member.id);
 *   }, 60_000);
 * });
 * ```
 */
export class SwimFailureDetector implements FailureDetector {
  readonly #swim: SwimMembershipView;
  readonly #unavailable: ReadonlySet<MemberState>;
  readonly #phi: PhiAccrualDetector | undefined;
  readonly #events = new Emitter<DetectorEvents>();
  /** The availability last reported per peer, so each transition is reported once. */
  readonly #reported = new Map<NodeId, boolean>();
  readonly #unsubscribe: (() => void)[];

  constructor(options: SwimFailureDetectorOptions) {
    this.#swim = options.swim;
    this.#phi = options.phi;
    this.#unavailable = new Set<MemberState>(
      (options.unavailableFrom ?? 'suspect') === 'suspect' ? ['suspect', 'dead', 'left'] : ['dead', 'left'],
    );
    const onEvent = (event: MemberEvent): void => this.#report(event.member.id, event.atMs);
    this.#unsubscribe = (['alive', 'suspect', 'dead', 'left'] as const).map((type) => options.swim.on(type, onEvent));
  }

  /** Feeds the phi detector (if any); SWIM's verdict does not depend on it. */
  heartbeat(peer: NodeId, nowMs: number): void {
    this.#phi?.heartbeat(peer, nowMs);
  }

  /** False when SWIM holds `peer` at or past `unavailableFrom`; true for members SWIM does not know. */
  isAvailable(peer: NodeId, _nowMs?: number): boolean {
    const state = this.#swim.member(peer)?.state;
    return state === undefined || !this.#unavailable.has(state);
  }

  /** Reports any transition not reported yet (events normally arrive as SWIM changes state). */
  check(nowMs: number): void {
    for (const peer of [...this.#reported.keys()]) this.#report(peer, nowMs);
  }

  /** Forgets the last reported availability of `peer` and its phi history. */
  remove(peer: NodeId): void {
    this.#reported.delete(peer);
    this.#phi?.remove(peer);
  }

  /** The SWIM state of `peer` as this node sees it. */
  state(peer: NodeId): MemberState | undefined {
    return this.#swim.member(peer)?.state;
  }

  /** Phi of `peer` from the heartbeats fed in, or undefined without a phi detector or before any heartbeat. */
  phi(peer: NodeId, nowMs: number): number | undefined {
    if (this.#phi === undefined || !this.#phi.isMonitoring(peer)) return undefined;
    return this.#phi.phi(peer, nowMs);
  }

  onChange(listener: AvailabilityListener): () => void {
    const offUp = this.#events.on('available', listener);
    const offDown = this.#events.on('unavailable', listener);
    return () => {
      offUp();
      offDown();
    };
  }

  /** Stops following SWIM's events. */
  dispose(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #report(peer: NodeId, atMs: number): void {
    const available = this.isAvailable(peer);
    const before = this.#reported.get(peer) ?? true;
    this.#reported.set(peer, available);
    if (before === available) return;
    const change: AvailabilityChange = { peer, available, atMs };
    this.#events.emit(available ? 'available' : 'unavailable', change);
  }
}
