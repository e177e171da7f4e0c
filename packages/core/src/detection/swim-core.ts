import { InvalidArgumentError } from '../errors/errors.js';
import type { Random } from '../time/random.js';
import type { NodeId } from '../transport/transport.js';
import { Awareness } from './awareness.js';
import { Suspicion } from './suspicion.js';
import {
  pushPullInterval,
  retransmitLimit,
  suspicionTimeout,
  SWIM_LAN,
  validateSwimConfig,
  type SwimConfig,
} from './swim-config.js';
import { MAX_METADATA_BYTES, metadataBytes } from './swim-types.js';
import type {
  AliveUpdate,
  DeadUpdate,
  LeftUpdate,
  MemberDigest,
  MemberInfo,
  MembershipUpdate,
  MemberState,
  OutgoingSwimMessage,
  PingReqMessage,
  SuspectUpdate,
  SwimEvent,
  SwimMessage,
  SwimOutput,
} from './swim-types.js';
import { TimerHeap, type CoreTimer } from './timer-heap.js';
import { TransmitQueue } from './transmit-queue.js';

/** Options of a {@link SwimCore}. */
export interface SwimCoreOptions {
  /** This node's id. */
  readonly localId: NodeId;
  /** Tuning; defaults to the LAN profile. Build one with `swimConfig()`. */
  readonly config?: SwimConfig;
  /** Randomness for probe order and member selection; seed it to replay a run. */
  readonly random: Random;
  /** The time at which the core starts. */
  readonly nowMs: number;
  /**
   * Starting incarnation, for a node that persisted its last one. A node that
   * restarts at 0 still recovers: it refutes the old claims it hears about itself.
   * @default 0
   */
  readonly incarnation?: number;
  /** This node's metadata (at most {@link MAX_METADATA_BYTES}); change it later with {@link SwimCore.setMetadata}. @default {} */
  readonly meta?: Readonly<Record<string, string>>;
}

const NO_META: Readonly<Record<string, string>> = Object.freeze({});

function checkMetadata(meta: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const size = metadataBytes(meta);
  if (size > MAX_METADATA_BYTES) throw new InvalidArgumentError(`metadata is ${size} bytes, over the ${MAX_METADATA_BYTES}-byte limit`);
  for (const value of Object.values(meta)) {
    if (typeof value !== 'string') throw new InvalidArgumentError('metadata values must be strings');
  }
  return Object.freeze({ ...meta });
}

function sameMetadata(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

interface Member {
  readonly id: NodeId;
  incarnation: number;
  state: MemberState;
  meta: Readonly<Record<string, string>>;
  sinceMs: number;
  suspicion: Suspicion | undefined;
  suspicionTimer: CoreTimer | undefined;
}

/** The probe this node is running in the current protocol period. */
interface ActiveProbe {
  readonly target: NodeId;
  readonly seq: number;
  readonly deadlineMs: number;
  acked: boolean;
  expectedNacks: number;
  nacks: number;
  ackTimer: CoreTimer | undefined;
}

/** What an incoming ack's seq refers to. */
type PendingAck =
  | { readonly kind: 'probe' }
  | { readonly kind: 'relay'; readonly requester: NodeId; readonly requesterSeq: number; timer: CoreTimer };

const LIVE: ReadonlySet<MemberState> = new Set(['alive', 'suspect']);

/** Rough encoded size of an update, for the piggyback budget: fixed fields plus the ids and metadata. */
function updateBytes(update: MembershipUpdate): number {
  const meta = update.kind === 'alive' && update.meta !== undefined ? metadataBytes(update.meta) + 4 * Object.keys(update.meta).length : 0;
  return 24 + update.node.length + ('from' in update ? update.from.length : 0) + meta;
}

/**
 * SWIM membership and failure detection (Das, Gupta, Motivala 2002) with the
 * Lifeguard extensions (Dadgar, Phillips, Currey 2017), as a pure state
 * machine in the style of etcd's raft core: it never reads a clock, sets a
 * timer or touches the network.
 *
 * - Inputs: {@link SwimCore.receive} (a message from a member),
 *   {@link SwimCore.tick} (time has reached {@link SwimCore.nextDeadline}),
 *   {@link SwimCore.join} and {@link SwimCore.leave}. Each takes the current time.
 * - Outputs: {@link SwimCore.takeOutput} returns the messages to send and the
 *   events to report since the last call.
 *
 * What it does, by paper section:
 * - Failure detection (SWIM §3.1): every protocol period it pings one member,
 *   chosen round-robin from a shuffled list (§4.3) so every member is probed
 *   within a bounded time; without an ack before the probe timeout it asks
 *   `indirectChecks` other members to ping the target (ping-req); without any
 *   ack by the end of the period it suspects the target.
 * - Suspicion (§4.2): a suspect gets a timeout to refute by gossiping an alive
 *   message with a higher incarnation; otherwise it is declared dead.
 * - Dissemination (§4.1): updates ride on pings, acks and gossip messages and
 *   are sent retransmitMult · ceil(log10(N+1)) times each.
 * - Anti-entropy: periodic push-pull of the full member list with one random
 *   member repairs whatever gossip missed (and joins use it too).
 * - Lifeguard (when `config.lifeguard`): a local health score stretches this
 *   node's probe interval and timeout (§4.1 "LHA-Probe"); relays send nacks so
 *   a prober can tell its own trouble from the target's; a suspicion timeout
 *   starts long and shrinks with independent confirmations (§4.2
 *   "LHA-Suspicion"); and a suspected member is told of the suspicion in the
 *   next ping sent to it (§4.3 "Buddy System"), so it can refute at once.
 *
 * Cost: every operation is O(1) or O(log N) per message and per timer, except
 * push-pull and {@link SwimCore.members} (O(N), once per push-pull period or on
 * demand) and the O(N) reshuffle once per round of N probes.
 *
 * @example
 * ```ts
 * const core = new SwimCore({ localId: 'n1', random: new SeededRandom(1), nowMs: clock.now() });
 * core.join(['seed'], clock.now());
 * for (const { to, message } of core.takeOutput().messages) send(to, message);
 * // on a message: core.receive(from, message, clock.now())
 * // when clock.now() >= core.nextDeadline(): core.tick(clock.now())
 * ```
 */
export class SwimCore {
  readonly localId: NodeId;
  readonly config: SwimConfig;
  readonly #random: Random;
  readonly #awareness: Awareness;
  readonly #timers = new TimerHeap();
  readonly #queue = new TransmitQueue<MembershipUpdate>();
  readonly #members = new Map<NodeId, Member>();
  readonly #self: Member;
  /** Count of alive and suspect members, this node included: the N of the log scales. */
  #live = 1;
  /** Other members in probe order (SWIM §4.3); may hold ids already removed, which are skipped. */
  #probeOrder: NodeId[] = [];
  #probeIndex = 0;
  #probe: ActiveProbe | undefined;
  #probeTimer: CoreTimer | undefined;
  #pushPullTimer: CoreTimer | undefined;
  #gossipTimer: CoreTimer | undefined;
  readonly #pending = new Map<number, PendingAck>();
  readonly #pendingJoins = new Set<NodeId>();
  #seq = 0;
  #leaving = false;
  #nowMs: number;
  #outbox: OutgoingSwimMessage[] = [];
  #events: SwimEvent[] = [];

  constructor(options: SwimCoreOptions) {
    const config = options.config ?? SWIM_LAN;
    validateSwimConfig(config);
    if (options.localId.length === 0) throw new InvalidArgumentError('localId must not be empty');
    this.localId = options.localId;
    this.config = config;
    this.#random = options.random;
    this.#awareness = new Awareness(config.lifeguard ? config.awarenessMaxMultiplier : 1);
    this.#nowMs = options.nowMs;
    this.#self = {
      id: this.localId,
      incarnation: options.incarnation ?? 0,
      state: 'alive',
      meta: checkMetadata(options.meta ?? NO_META),
      sinceMs: options.nowMs,
      suspicion: undefined,
      suspicionTimer: undefined,
    };
    this.#members.set(this.localId, this.#self);
    this.#enqueueSelfAlive();
    this.#startTimers(options.nowMs);
  }

  // ---------------------------------------------------------------- inputs

  /**
   * Joins the group through `seeds`: a push-pull with each, which gives this
   * node the seed's member list and the seed this node's alive state. A
   * `joined` event follows the first answer. Also rejoins after {@link leave},
   * with a higher incarnation.
   */
  join(seeds: readonly NodeId[], nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#leaving) {
      this.#leaving = false;
      this.#self.incarnation++;
      this.#setState(this.#self, 'alive', nowMs);
      this.#enqueueSelfAlive();
      this.#startTimers(nowMs);
    }
    for (const seed of seeds) {
      if (seed === this.localId) continue;
      this.#pendingJoins.add(seed);
      this.#send(seed, { type: 'push-pull', reply: false, join: true, members: this.#digest() });
    }
  }

  /**
   * Leaves gracefully: the node gossips that it `left` (so others record a
   * departure, not a failure) and stops probing. Keep ticking the core until
   * {@link leaveDisseminated} is true (or a timeout) before shutting down.
   */
  leave(nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#leaving) return;
    this.#leaving = true;
    this.#setState(this.#self, 'left', nowMs);
    this.#endProbe();
    this.#timers.cancel(this.#probeTimer);
    this.#timers.cancel(this.#pushPullTimer);
    this.#pendingJoins.clear();
    this.#enqueue({ kind: 'left', node: this.localId, incarnation: this.#self.incarnation });
    // Tell a few members right away rather than waiting for the next gossip round.
    this.#gossipRound(nowMs);
  }

  /**
   * Replaces this node's metadata and gossips it: like a refutation, it
   * raises the incarnation, so the new alive update overrides the old one
   * everywhere (memberlist's UpdateNode). Others emit `updated`.
   *
   * @throws InvalidArgumentError over {@link MAX_METADATA_BYTES} or for a non-string value.
   */
  setMetadata(meta: Readonly<Record<string, string>>, nowMs: number): void {
    this.#nowMs = nowMs;
    this.#self.meta = checkMetadata(meta);
    if (this.#leaving) return;
    this.#self.incarnation++;
    this.#enqueueSelfAlive();
  }

  /** Handles one message received from `from`. */
  receive(from: NodeId, message: SwimMessage, nowMs: number): void {
    this.#nowMs = nowMs;
    // Updates first: a buddy-system suspicion piggybacked on a ping must be
    // refuted before the ack is built, so the ack carries the refutation.
    if ('updates' in message) for (const update of message.updates) this.#apply(update, nowMs);
    switch (message.type) {
      case 'ping':
        // A ping meant for another node (e.g. a reused address) must not be acked.
        if (message.target !== this.localId) return;
        this.#send(from, { type: 'ack', seq: message.seq, updates: this.#piggyback([]) });
        return;
      case 'ping-req':
        this.#relay(from, message, nowMs);
        return;
      case 'ack':
        this.#onAck(message.seq);
        return;
      case 'nack': {
        const probe = this.#probe;
        if (probe !== undefined && probe.seq === message.seq && !probe.acked) probe.nacks++;
        return;
      }
      case 'gossip':
        return;
      case 'push-pull':
        this.#onPushPull(from, message.reply, message.members, nowMs);
        return;
    }
  }

  /** Runs every internal timer due at or before `nowMs`. */
  tick(nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    this.#timers.runDue(nowMs);
  }

  // --------------------------------------------------------------- outputs

  /** When {@link tick} should next be called, or undefined if no timer is pending. */
  nextDeadline(): number | undefined {
    return this.#timers.nextDueMs();
  }

  /** Messages to send and events to report since the last call; the core forgets them. */
  takeOutput(): SwimOutput {
    const output: SwimOutput = { messages: this.#outbox, events: this.#events };
    this.#outbox = [];
    this.#events = [];
    return output;
  }

  /** Whether {@link takeOutput} has anything. */
  get hasOutput(): boolean {
    return this.#outbox.length > 0 || this.#events.length > 0;
  }

  // --------------------------------------------------------------- queries

  /** Every known member, this node included (dead and left ones until they are forgotten). */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const member of this.#members.values()) out.push(this.#info(member));
    return out;
  }

  /** What this node knows about `id`, or undefined if nothing. */
  member(id: NodeId): MemberInfo | undefined {
    const member = this.#members.get(id);
    return member === undefined ? undefined : this.#info(member);
  }

  /** Number of alive and suspect members, this node included. */
  get liveMembers(): number {
    return this.#live;
  }

  /** This node's current incarnation. */
  get incarnation(): number {
    return this.#self.incarnation;
  }

  /** Lifeguard's local health score (0 = healthy). */
  get awareness(): number {
    return this.#awareness.score;
  }

  /** The probe timeout in effect, stretched by the local health score. */
  get probeTimeoutMs(): number {
    return this.#awareness.scale(this.config.probeTimeoutMs);
  }

  /** The probe interval in effect, stretched by the local health score. */
  get probeIntervalMs(): number {
    return this.#awareness.scale(this.config.probeIntervalMs);
  }

  /** Updates waiting to be piggybacked. */
  get pendingUpdates(): number {
    return this.#queue.size;
  }

  /** Whether {@link leave} was called (and no rejoin since). */
  get leaving(): boolean {
    return this.#leaving;
  }

  /** True once the `left` update has been sent as many times as dissemination asks. */
  get leaveDisseminated(): boolean {
    return this.#leaving && this.#queue.get(this.localId)?.kind !== 'left';
  }

  /** The current suspicion of `id`: confirmations counted and when it expires. */
  suspicion(id: NodeId): { readonly confirmations: number; readonly deadlineMs: number } | undefined {
    const suspicion = this.#members.get(id)?.suspicion;
    if (suspicion === undefined) return undefined;
    return { confirmations: suspicion.confirmations, deadlineMs: suspicion.deadlineMs };
  }

  // ---------------------------------------------------------- probing (§3.1)

  #startTimers(nowMs: number): void {
    // Random first offsets keep members that start together from probing and
    // gossiping in lockstep.
    this.#timers.cancel(this.#probeTimer);
    this.#probeTimer = this.#timers.schedule(nowMs + this.#random.int(this.config.probeIntervalMs), (now) =>
      this.#probeRound(now),
    );
    if (this.config.gossipIntervalMs > 0 && this.config.gossipNodes > 0) {
      this.#timers.cancel(this.#gossipTimer);
      this.#gossipTimer = this.#timers.schedule(nowMs + this.#random.int(this.config.gossipIntervalMs), (now) =>
        this.#gossipTick(now),
      );
    }
    if (this.config.pushPullIntervalMs > 0) {
      this.#timers.cancel(this.#pushPullTimer);
      this.#pushPullTimer = this.#timers.schedule(nowMs + this.#random.int(this.config.pushPullIntervalMs), (now) =>
        this.#pushPullRound(now),
      );
    }
  }

  /**
   * One protocol period: conclude the previous probe, start the next. The
   * period is stretched by the health score (Lifeguard LHA-Probe), so a
   * struggling node probes less often and waits longer for answers.
   */
  #probeRound(nowMs: number): void {
    this.#endProbe();
    if (this.#leaving) return;
    const interval = this.#awareness.scale(this.config.probeIntervalMs);
    const target = this.#nextProbeTarget(nowMs);
    if (target !== undefined) this.#startProbe(target, nowMs, nowMs + interval);
    this.#probeTimer = this.#timers.schedule(nowMs + interval, (now) => this.#probeRound(now));
  }

  #startProbe(target: Member, nowMs: number, deadlineMs: number): void {
    const seq = ++this.#seq;
    const probe: ActiveProbe = { target: target.id, seq, deadlineMs, acked: false, expectedNacks: 0, nacks: 0, ackTimer: undefined };
    this.#probe = probe;
    this.#pending.set(seq, { kind: 'probe' });
    const first: MembershipUpdate[] = [];
    if (this.config.lifeguard && target.state === 'suspect') {
      // Buddy system: tell the suspect directly; it would otherwise learn of
      // the suspicion only when gossip happens to reach it.
      first.push({ kind: 'suspect', node: target.id, incarnation: target.incarnation, from: this.localId });
    }
    this.#send(target.id, { type: 'ping', seq, target: target.id, updates: this.#piggyback(first) });
    probe.ackTimer = this.#timers.schedule(nowMs + this.#awareness.scale(this.config.probeTimeoutMs), (now) =>
      this.#indirectProbe(probe, now),
    );
  }

  /** No direct ack in time: ask k random members to probe for us (§3.1). */
  #indirectProbe(probe: ActiveProbe, nowMs: number): void {
    if (probe !== this.#probe || probe.acked) return;
    const relays = this.#randomMembers(this.config.indirectChecks, (m) => m.state === 'alive' && m.id !== probe.target);
    const timeoutMs = Math.max(1, probe.deadlineMs - nowMs);
    const wantNack = this.config.lifeguard;
    for (const relay of relays) {
      const message: PingReqMessage = {
        type: 'ping-req',
        seq: probe.seq,
        target: probe.target,
        wantNack,
        timeoutMs,
        updates: this.#piggyback([]),
      };
      this.#send(relay.id, message);
    }
    if (wantNack) probe.expectedNacks = relays.length;
  }

  #onAck(seq: number): void {
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    if (pending.kind === 'relay') {
      this.#pending.delete(seq);
      this.#timers.cancel(pending.timer);
      this.#send(pending.requester, { type: 'ack', seq: pending.requesterSeq, updates: this.#piggyback([]) });
      return;
    }
    const probe = this.#probe;
    if (probe === undefined || probe.seq !== seq || probe.acked) return;
    probe.acked = true;
    this.#timers.cancel(probe.ackTimer);
    this.#awareness.applyDelta(-1);
  }

  /** Concludes the current probe at the end of its period. */
  #endProbe(): void {
    const probe = this.#probe;
    if (probe === undefined) return;
    this.#probe = undefined;
    this.#pending.delete(probe.seq);
    this.#timers.cancel(probe.ackTimer);
    if (probe.acked || this.#leaving) return;
    // Lifeguard: relays that answered with a nack are working and reachable,
    // so it is the target that is silent. Missing nacks point at our own
    // network or process; without relays there is nothing to compare with,
    // and a failed probe counts against our own health.
    const missing = probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1;
    if (missing > 0) this.#awareness.applyDelta(missing);
    const target = this.#members.get(probe.target);
    if (target === undefined || !LIVE.has(target.state)) return;
    this.#applySuspect(
      { kind: 'suspect', node: target.id, incarnation: target.incarnation, from: this.localId },
      this.#nowMs,
    );
  }

  /** Acts as the middle of an indirect probe. */
  #relay(requester: NodeId, request: PingReqMessage, nowMs: number): void {
    if (this.#leaving || request.target === this.localId) return;
    const seq = ++this.#seq;
    const timeoutMs = request.timeoutMs > 0 ? request.timeoutMs : this.config.probeTimeoutMs;
    const expireAt = nowMs + timeoutMs;
    const expire = (): void => {
      this.#pending.delete(seq);
    };
    let timer: CoreTimer;
    if (request.wantNack) {
      // The nack must reach the requester before its period ends; 80% of its
      // remaining wait leaves room for the trip back. The nack only means "no
      // answer yet": the requester still takes an ack until its deadline, so
      // a late ack is forwarded until then, as a plain SWIM relay would.
      timer = this.#timers.schedule(nowMs + Math.max(1, Math.floor(timeoutMs * 0.8)), () => {
        this.#send(requester, { type: 'nack', seq: request.seq });
        const entry = this.#pending.get(seq);
        if (entry?.kind === 'relay') entry.timer = this.#timers.schedule(expireAt, expire);
      });
    } else {
      timer = this.#timers.schedule(expireAt, expire);
    }
    this.#pending.set(seq, { kind: 'relay', requester, requesterSeq: request.seq, timer });
    this.#send(request.target, { type: 'ping', seq, target: request.target, updates: this.#piggyback([]) });
  }

  /**
   * Round-robin over a shuffled list (§4.3): every live member is probed once
   * per round, bounding detection time, while the order stays unpredictable.
   * Dead and departed members are skipped; at the end of a round the ones held
   * long enough are forgotten and the list is reshuffled.
   */
  #nextProbeTarget(nowMs: number): Member | undefined {
    for (let checked = 0; checked <= this.#probeOrder.length; ) {
      if (this.#probeIndex >= this.#probeOrder.length) {
        this.#resetProbeOrder(nowMs);
        if (this.#probeOrder.length === 0) return undefined;
      }
      const member = this.#members.get(this.#probeOrder[this.#probeIndex++]!);
      checked++;
      if (member !== undefined && LIVE.has(member.state)) return member;
    }
    return undefined;
  }

  #resetProbeOrder(nowMs: number): void {
    const kept: NodeId[] = [];
    for (const id of this.#probeOrder) {
      const member = this.#members.get(id);
      if (member === undefined) continue;
      if (!LIVE.has(member.state) && nowMs - member.sinceMs >= this.config.gossipToTheDeadMs) {
        this.#members.delete(id);
        continue;
      }
      kept.push(id);
    }
    // Fisher-Yates.
    for (let i = kept.length - 1; i > 0; i--) {
      const j = this.#random.int(i + 1);
      [kept[i], kept[j]] = [kept[j]!, kept[i]!];
    }
    this.#probeOrder = kept;
    this.#probeIndex = 0;
  }

  /** A new member goes to a random place in the probe order (§4.3), so it is not always probed last. */
  #addToProbeOrder(id: NodeId): void {
    this.#probeOrder.push(id);
    const last = this.#probeOrder.length - 1;
    const j = this.#random.int(last + 1);
    [this.#probeOrder[last], this.#probeOrder[j]] = [this.#probeOrder[j]!, this.#probeOrder[last]!];
  }

  /**
   * Up to `k` distinct random members (never this node) that satisfy `accept`.
   * Large groups are sampled by rejection, O(k) expected; small ones are
   * scanned, so that a few eligible members among many are still found.
   */
  #randomMembers(k: number, accept: (member: Member) => boolean): Member[] {
    if (k <= 0) return [];
    const order = this.#probeOrder;
    const chosen = new Map<NodeId, Member>();
    if (order.length > 8 * k + 16) {
      for (let attempt = 0; attempt < 4 * k + 8 && chosen.size < k; attempt++) {
        const member = this.#members.get(order[this.#random.int(order.length)]!);
        if (member !== undefined && !chosen.has(member.id) && accept(member)) chosen.set(member.id, member);
      }
      if (chosen.size === k) return [...chosen.values()];
    }
    const eligible: Member[] = [];
    for (const id of order) {
      const member = this.#members.get(id);
      if (member !== undefined && !chosen.has(id) && accept(member)) eligible.push(member);
    }
    while (chosen.size < k && eligible.length > 0) {
      const index = this.#random.int(eligible.length);
      const member = eligible[index]!;
      eligible[index] = eligible[eligible.length - 1]!;
      eligible.pop();
      chosen.set(member.id, member);
    }
    return [...chosen.values()];
  }

  // ------------------------------------------------- dissemination (§4.1)

  #gossipTick(nowMs: number): void {
    this.#gossipRound(nowMs);
    this.#gossipTimer = this.#timers.schedule(nowMs + this.config.gossipIntervalMs, (now) => this.#gossipTick(now));
  }

  /**
   * Sends pending updates to a few random members. Recently dead or departed
   * members are included for `gossipToTheDeadMs`: if they were only cut off,
   * they learn what was said about them and can refute.
   */
  #gossipRound(nowMs: number): void {
    if (this.#queue.size === 0) return;
    const targets = this.#randomMembers(
      this.config.gossipNodes,
      (m) => LIVE.has(m.state) || nowMs - m.sinceMs < this.config.gossipToTheDeadMs,
    );
    for (const target of targets) {
      const updates = this.#piggyback([]);
      if (updates.length === 0) return;
      this.#send(target.id, { type: 'gossip', updates });
    }
  }

  #piggyback(first: MembershipUpdate[]): MembershipUpdate[] {
    let budget = this.config.maxPiggybackBytes;
    for (const update of first) budget -= updateBytes(update);
    if (this.#queue.size === 0 || budget <= 0) return first;
    const limit = retransmitLimit(this.config.retransmitMult, this.#live);
    const taken = this.#queue.take({ budgetBytes: budget, limit });
    return first.length === 0 ? taken : [...first, ...taken];
  }

  #enqueue(update: MembershipUpdate): void {
    this.#queue.enqueue(update.node, update, updateBytes(update));
  }

  // ------------------------------------------------------------ anti-entropy

  #pushPullRound(nowMs: number): void {
    if (this.#leaving) return;
    const [peer] = this.#randomMembers(1, (m) => m.state === 'alive');
    if (peer !== undefined) this.#send(peer.id, { type: 'push-pull', reply: false, join: false, members: this.#digest() });
    const interval = pushPullInterval(this.config.pushPullIntervalMs, this.#live);
    this.#pushPullTimer = this.#timers.schedule(nowMs + interval, (now) => this.#pushPullRound(now));
  }

  #onPushPull(from: NodeId, isReply: boolean, remote: readonly MemberDigest[], nowMs: number): void {
    this.#merge(from, remote, nowMs);
    if (!isReply) {
      if (this.#leaving) return;
      this.#send(from, { type: 'push-pull', reply: true, join: false, members: this.#digest() });
    } else if (this.#pendingJoins.delete(from)) {
      this.#events.push({ type: 'joined', via: from, atMs: nowMs });
    }
  }

  /**
   * Folds a remote full state into ours. A remote `dead` becomes a suspicion
   * rather than an instant death: it is second-hand, possibly old news, and
   * the suspicion gives the member (and our own probes) a chance to disagree.
   */
  #merge(from: NodeId, remote: readonly MemberDigest[], nowMs: number): void {
    for (const digest of remote) {
      switch (digest.state) {
        case 'alive':
          this.#applyAlive({ kind: 'alive', node: digest.id, incarnation: digest.incarnation, ...(digest.meta === undefined ? {} : { meta: digest.meta }) }, nowMs);
          break;
        case 'suspect':
        case 'dead':
          this.#applySuspect({ kind: 'suspect', node: digest.id, incarnation: digest.incarnation, from }, nowMs);
          break;
        case 'left':
          this.#applyLeft({ kind: 'left', node: digest.id, incarnation: digest.incarnation }, nowMs);
          break;
      }
    }
  }

  #digest(): MemberDigest[] {
    const out: MemberDigest[] = [];
    for (const m of this.#members.values()) {
      out.push(Object.keys(m.meta).length === 0 ? { id: m.id, incarnation: m.incarnation, state: m.state } : { id: m.id, incarnation: m.incarnation, state: m.state, meta: m.meta });
    }
    return out;
  }

  // --------------------------------------------------- membership rules (§4.2)

  #apply(update: MembershipUpdate, nowMs: number): void {
    switch (update.kind) {
      case 'alive':
        this.#applyAlive(update, nowMs);
        return;
      case 'suspect':
        this.#applySuspect(update, nowMs);
        return;
      case 'dead':
        this.#applyDead(update, nowMs);
        return;
      case 'left':
        this.#applyLeft(update, nowMs);
        return;
    }
  }

  /** Alive overrides suspect and dead only with a higher incarnation (§4.2). */
  #applyAlive(update: AliveUpdate, nowMs: number): void {
    if (update.node === this.localId) {
      // An older life of this node claimed a higher incarnation: outbid it.
      if (!this.#leaving && update.incarnation > this.#self.incarnation) this.#refute(update.incarnation, nowMs, false);
      return;
    }
    const member = this.#members.get(update.node);
    if (member === undefined) {
      const fresh: Member = {
        id: update.node,
        incarnation: update.incarnation,
        state: 'alive',
        meta: update.meta === undefined ? NO_META : Object.freeze({ ...update.meta }),
        sinceMs: nowMs,
        suspicion: undefined,
        suspicionTimer: undefined,
      };
      this.#members.set(fresh.id, fresh);
      this.#live++;
      this.#addToProbeOrder(fresh.id);
      this.#enqueue(update);
      this.#emitMember(fresh, undefined, nowMs);
      return;
    }
    if (update.incarnation <= member.incarnation) return;
    const previous = member.state;
    const meta = update.meta === undefined ? NO_META : update.meta;
    const metaChanged = !sameMetadata(member.meta, meta);
    member.incarnation = update.incarnation;
    if (metaChanged) member.meta = Object.freeze({ ...meta });
    this.#clearSuspicion(member);
    if (previous !== 'alive') this.#setState(member, 'alive', nowMs);
    this.#enqueue(update);
    if (previous !== 'alive') this.#emitMember(member, previous, nowMs);
    else if (metaChanged) this.#events.push({ type: 'updated', member: this.#info(member), atMs: nowMs });
  }

  /**
   * Suspect overrides alive at the same or a higher incarnation (§4.2). A
   * suspicion of an already suspected member from someone new is an
   * independent confirmation (Lifeguard §4.2): it shortens the timeout and is
   * re-gossiped so that others can count it too.
   */
  #applySuspect(update: SuspectUpdate, nowMs: number): void {
    const member = this.#members.get(update.node);
    if (member === undefined || update.incarnation < member.incarnation) return;
    if (member.state === 'dead' || member.state === 'left') return;
    if (member === this.#self) {
      this.#refute(update.incarnation, nowMs, true);
      return;
    }
    if (member.state === 'suspect' && update.incarnation === member.incarnation) {
      const suspicion = member.suspicion;
      if (suspicion !== undefined && suspicion.confirm(update.from)) {
        this.#enqueue(update);
        this.#scheduleSuspicion(member, suspicion);
      }
      return;
    }
    const previous = member.state;
    member.incarnation = update.incarnation;
    this.#clearSuspicion(member);
    this.#setState(member, 'suspect', nowMs);
    const minMs = suspicionTimeout(this.config.suspicionMult, this.#live, this.config.probeIntervalMs);
    const maxMs = this.config.lifeguard ? minMs * this.config.suspicionMaxTimeoutMult : minMs;
    // Expect confirmations from suspicionMult - 2 others, unless the group is
    // too small to provide them (not counting the suspect and the accuser).
    let expected = this.config.lifeguard ? this.config.suspicionMult - 2 : 0;
    if (this.#live - 2 < expected) expected = 0;
    const suspicion = new Suspicion({ from: update.from, expectedConfirmations: expected, minMs, maxMs, startMs: nowMs });
    member.suspicion = suspicion;
    this.#scheduleSuspicion(member, suspicion);
    this.#enqueue(update);
    this.#emitMember(member, previous, nowMs);
  }

  #scheduleSuspicion(member: Member, suspicion: Suspicion): void {
    this.#timers.cancel(member.suspicionTimer);
    member.suspicionTimer = this.#timers.schedule(suspicion.deadlineMs, (now) => {
      if (member.suspicion !== suspicion || member.state !== 'suspect') return;
      this.#applyDead({ kind: 'dead', node: member.id, incarnation: member.incarnation, from: this.localId }, now);
    });
  }

  #clearSuspicion(member: Member): void {
    this.#timers.cancel(member.suspicionTimer);
    member.suspicionTimer = undefined;
    member.suspicion = undefined;
  }

  #applyDead(update: DeadUpdate, nowMs: number): void {
    const member = this.#members.get(update.node);
    if (member === undefined || update.incarnation < member.incarnation) return;
    if (member.state === 'dead' || member.state === 'left') return;
    if (member === this.#self) {
      this.#refute(update.incarnation, nowMs, true);
      return;
    }
    const previous = member.state;
    member.incarnation = update.incarnation;
    this.#clearSuspicion(member);
    this.#setState(member, 'dead', nowMs);
    this.#enqueue(update);
    this.#emitMember(member, previous, nowMs);
  }

  /** A departure is final for its incarnation; it also overrides `dead`, being more precise. */
  #applyLeft(update: LeftUpdate, nowMs: number): void {
    const member = this.#members.get(update.node);
    if (member === undefined || update.incarnation < member.incarnation) return;
    if (member === this.#self) {
      // A stale goodbye from an older life of this node: outbid it.
      if (!this.#leaving) this.#refute(update.incarnation, nowMs, false);
      return;
    }
    if (member.state === 'left') return;
    const previous = member.state;
    member.incarnation = update.incarnation;
    this.#clearSuspicion(member);
    this.#setState(member, 'left', nowMs);
    this.#enqueue(update);
    this.#emitMember(member, previous, nowMs);
  }

  /**
   * Refutation (§4.2): only a member may raise its own incarnation, and an
   * alive message with a higher incarnation overrides every suspicion of it.
   * Being suspected is also a sign that this node may be slow, so Lifeguard
   * counts it against local health.
   */
  #refute(claimed: number, nowMs: number, suspected: boolean): void {
    this.#self.incarnation = Math.max(this.#self.incarnation, claimed) + 1;
    this.#enqueueSelfAlive();
    if (suspected) this.#awareness.applyDelta(1);
    this.#events.push({ type: 'refuted', incarnation: this.#self.incarnation, atMs: nowMs });
  }

  #setState(member: Member, state: MemberState, nowMs: number): void {
    const wasLive = LIVE.has(member.state);
    const isLive = LIVE.has(state);
    if (wasLive && !isLive) this.#live--;
    else if (!wasLive && isLive) this.#live++;
    member.state = state;
    member.sinceMs = nowMs;
  }

  #emitMember(member: Member, previous: MemberState | undefined, nowMs: number): void {
    this.#events.push({ type: member.state, member: this.#info(member), previous, atMs: nowMs });
  }

  #info(member: Member): MemberInfo {
    return { id: member.id, incarnation: member.incarnation, state: member.state, sinceMs: member.sinceMs, meta: member.meta };
  }

  #enqueueSelfAlive(): void {
    const self = this.#self;
    this.#enqueue(
      Object.keys(self.meta).length === 0
        ? { kind: 'alive', node: this.localId, incarnation: self.incarnation }
        : { kind: 'alive', node: this.localId, incarnation: self.incarnation, meta: self.meta },
    );
  }

  #send(to: NodeId, message: SwimMessage): void {
    this.#outbox.push({ to, message });
  }
}
