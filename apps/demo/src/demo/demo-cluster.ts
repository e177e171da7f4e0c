import {
  encodeKvCommand,
  InvalidArgumentError,
  MemoryStorage,
  SeededRandom,
  SwimNode,
  swimConfig,
  systemClock,
  type Clock,
  type NodeId,
  type Random,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { createMember, type ConsensusMember } from './consensus-member.js';
import type {
  DashboardFrame,
  DemoAlgorithm,
  LinkFrame,
  NodeFrame,
  NodeHealth,
  SwimFrame,
  TimelineEntry,
  TimelineKind,
} from './dashboard-types.js';
import type { DemoBackend } from './demo-backend.js';
import { DemoWorkload, type WorkloadTarget } from './demo-workload.js';
import { DetectorView, PHI_THRESHOLD } from './detector-view.js';
import { LinkTraffic } from './link-traffic.js';

export interface DemoClusterOptions {
  /** Voters at the start, 1 to 9. */
  readonly nodes: number;
  readonly seed: number;
  /** @default 'raft' */
  readonly algorithm?: DemoAlgorithm;
  /** @default systemClock (real time) */
  readonly clock?: Clock;
  /** Milliseconds per tick of the consensus nodes. @default 50 */
  readonly tickIntervalMs?: number;
}

/** The most nodes a demo cluster holds, added ones included. */
export const MAX_DEMO_NODES = 9;
const TIMELINE_LENGTH = 200;
const CONTROL_TIMEOUT_MS = 3000;

/**
 * An in-process Raft or Multi-Paxos cluster on the memory network, on the
 * real clock, with a recorded KV workload. It is what `synod demo` shows and
 * what the dashboard's controls act on: crash, restart, partition, cut or
 * slow a link, pause a node, move leadership, add and remove members.
 *
 * Every control throws InvalidArgumentError for a node that does not exist
 * or cannot take that action (the dashboard server answers 400 with its
 * message).
 *
 * @example
 * ```ts
 * const cluster = new DemoCluster({ nodes: 5, seed: 1 });
 * cluster.startWorkload();
 * // later
 * const leader = cluster.frame().leader;
 * if (leader !== undefined) await cluster.crash(leader);
 * ```
 */
export class DemoCluster implements DemoBackend {
  readonly algorithm: DemoAlgorithm;
  readonly seed: number;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #network: MemoryNetwork;
  readonly #tickIntervalMs: number;
  readonly #startedAt: number;
  /** Every node ever started, in order; removed ones stay (shown as removed). */
  readonly #ids: NodeId[];
  readonly #storages = new Map<NodeId, MemoryStorage>();
  readonly #members = new Map<NodeId, ConsensusMember>();
  /** A SWIM node beside each running consensus node, on the same endpoint. */
  readonly #swims = new Map<NodeId, SwimNode>();
  /** member@incarnation already reported dead on the timeline */
  readonly #swimDeaths = new Set<string>();
  readonly #removed = new Set<NodeId>();
  readonly #isolated = new Set<NodeId>();
  /** Paused nodes and when their pause ends. */
  readonly #paused = new Map<NodeId, number>();
  /** Extra delay set on a link (both directions), keyed "a>b" for each direction. */
  readonly #linkDelays = new Map<string, number>();
  readonly #traffic = new LinkTraffic();
  readonly #detectors = new DetectorView();
  readonly #timeline: TimelineEntry[] = [];
  readonly #workload: DemoWorkload;
  #lastLeader: NodeId | undefined;
  #leaderChanges = 0;

  constructor(options: DemoClusterOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_DEMO_NODES) {
      throw new InvalidArgumentError(`nodes must be an integer from 1 to ${MAX_DEMO_NODES}, got ${options.nodes}`);
    }
    this.algorithm = options.algorithm ?? 'raft';
    this.seed = options.seed;
    this.#clock = options.clock ?? systemClock;
    this.#random = new SeededRandom(options.seed);
    this.#tickIntervalMs = options.tickIntervalMs ?? 50;
    this.#ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.#network = new MemoryNetwork({
      clock: this.#clock,
      random: this.#random.fork(),
      clusterId: 'demo',
      faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 4 } },
    });
    this.#network.observe((event) => {
      this.#traffic.observe(event);
      this.#detectors.observe(event);
    });
    this.#startedAt = this.#clock.now();
    this.#workload = new DemoWorkload({
      clock: this.#clock,
      random: this.#random.fork(),
      target: () => {
        const leader = this.#leaderMember();
        return leader === undefined ? undefined : memberTarget(leader);
      },
      elapsed: () => this.#elapsed(),
    });
    for (const id of this.#ids) this.#start(id, this.#ids);
    // Join once every node is listening, so the first joins are answered.
    for (const id of this.#ids) this.#joinSwim(id);
  }

  /** Every node the demo started, removed ones included. */
  get ids(): readonly NodeId[] {
    return this.#ids;
  }

  /** The leader a client would find: up, not cut off, highest term. */
  leader(): NodeId | undefined {
    return this.#leaderMember()?.id;
  }

  #leaderMember(): ConsensusMember | undefined {
    let best: ConsensusMember | undefined;
    let bestTerm = -1;
    for (const member of this.#members.values()) {
      if (this.#isCutOff(member.id)) continue;
      const status = member.status();
      if (status.role === 'leader' && status.term > bestTerm) {
        best = member;
        bestTerm = status.term;
      }
    }
    return best;
  }

  #elapsed(): number {
    return this.#clock.now() - this.#startedAt;
  }

  #log(kind: TimelineKind, text: string): void {
    this.#timeline.push({ atMs: this.#elapsed(), kind, text });
    if (this.#timeline.length > TIMELINE_LENGTH) this.#timeline.shift();
  }

  #start(id: NodeId, voters: readonly NodeId[]): void {
    let storage = this.#storages.get(id);
    if (storage === undefined) {
      storage = new MemoryStorage();
      this.#storages.set(id, storage);
    }
    const member = createMember({
      algorithm: this.algorithm,
      id,
      voters,
      transport: this.#network.endpoint(id),
      storage,
      clock: this.#clock,
      random: this.#random.fork(),
      tickIntervalMs: this.#tickIntervalMs,
    });
    member.onElected((term) => {
      if (this.#lastLeader !== undefined && this.#lastLeader !== id) this.#leaderChanges++;
      this.#lastLeader = id;
      this.#log('election', `${id} elected leader (${this.algorithm === 'raft' ? 'term' : 'ballot round'} ${term})`);
    });
    const transport = this.#network.endpoint(id);
    const swim = new SwimNode({
      transport,
      clock: this.#clock,
      random: this.#random.fork(),
      clusterId: 'demo',
      config: swimConfig('lan'),
      // A restarted node must outrank what the others remember of its past life.
      incarnation: Math.floor(this.#elapsed()),
    });
    transport.setHandler((envelope) => {
      if (!swim.handleEnvelope(envelope)) member.receive(envelope);
    });
    swim.on('dead', ({ member: info }) => {
      // Every node learns it, by its own probes or by gossip; the timeline says it once.
      const key = `${info.id}@${info.incarnation}`;
      if (this.#swimDeaths.has(key)) return;
      this.#swimDeaths.add(key);
      this.#log('fault', `SWIM: ${id} declares ${info.id} dead`);
    });
    this.#members.set(id, member);
    this.#swims.set(id, swim);
    member.start();
    swim.start();
  }

  #joinSwim(id: NodeId): void {
    const seeds = [...this.#swims.keys()].filter((n) => n !== id);
    // A failed join only means this node sees fewer members until gossip reaches it.
    if (seeds.length > 0) this.#swims.get(id)?.join(seeds, { timeoutMs: 5000 }).catch(() => undefined);
  }

  #stopSwim(id: NodeId): void {
    this.#swims.get(id)?.stop();
    this.#swims.delete(id);
  }

  #known(id: NodeId): void {
    if (!this.#ids.includes(id)) throw new InvalidArgumentError(`no node '${id}' in this demo (nodes: ${this.#ids.join(', ')})`);
    if (this.#removed.has(id)) throw new InvalidArgumentError(`node '${id}' was removed from the cluster`);
  }

  #running(id: NodeId): ConsensusMember {
    this.#known(id);
    const member = this.#members.get(id);
    if (member === undefined) throw new InvalidArgumentError(`node '${id}' is down`);
    return member;
  }

  /** Stops a node's process; its storage survives (as if synced to disk). */
  async crash(id: NodeId): Promise<void> {
    const member = this.#running(id);
    this.#members.delete(id);
    this.#stopSwim(id);
    this.#network.crash(id);
    this.#detectors.forgetObserver(id);
    this.#log('fault', `${id} crashed`);
    await member.stop();
  }

  /** Starts a crashed node again from its storage. */
  restart(id: NodeId): void {
    this.#known(id);
    if (this.#members.has(id)) throw new InvalidArgumentError(`node '${id}' is already up`);
    this.#network.restart(id);
    this.#start(id, this.#ids.filter((n) => !this.#removed.has(n)));
    this.#joinSwim(id);
    this.#log('fault', `${id} restarted`);
  }

  /** Cuts every link to and from `id` until {@link heal}. */
  isolate(id: NodeId): void {
    this.#known(id);
    this.#network.isolate(id);
    this.#isolated.add(id);
    this.#log('fault', `${id} cut off from the others`);
  }

  /**
   * Splits the network into `groups`; nodes named in no group form one more
   * group together.
   * @throws InvalidArgumentError for unknown nodes, a node in two groups, or fewer than one group
   */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const seen = new Set<NodeId>();
    for (const group of groups) {
      for (const id of group) {
        this.#known(id);
        if (seen.has(id)) throw new InvalidArgumentError(`node '${id}' is in two groups`);
        seen.add(id);
      }
    }
    if (groups.filter((g) => g.length > 0).length === 0) throw new InvalidArgumentError('a partition needs at least one non-empty group');
    this.#network.partition(groups);
    const rest = this.#ids.filter((id) => !seen.has(id) && !this.#removed.has(id));
    const shown = rest.length > 0 ? [...groups, rest] : groups;
    this.#log('fault', `partition ${shown.map((g) => `{${g.join(' ')}}`).join(' | ')}`);
  }

  /** Cuts the link between `a` and `b` in both directions. */
  dropLink(a: NodeId, b: NodeId): void {
    this.#pair(a, b);
    this.#network.cutLink(a, b);
    this.#network.cutLink(b, a);
    this.#log('fault', `link ${a} - ${b} cut`);
  }

  /** Delays every message between `a` and `b` by `ms` (both directions); 0 removes the delay. */
  delayLink(a: NodeId, b: NodeId, ms: number): void {
    this.#pair(a, b);
    if (!Number.isInteger(ms) || ms < 0 || ms > 10_000) throw new InvalidArgumentError(`delay must be an integer from 0 to 10000 ms, got ${ms}`);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      if (ms === 0) this.#linkDelays.delete(`${from}>${to}`);
      else this.#linkDelays.set(`${from}>${to}`, ms);
      this.#applyLinkFaults(from, to);
    }
    this.#log('fault', ms === 0 ? `link ${a} - ${b} back to normal speed` : `link ${a} - ${b} delayed by ${ms} ms`);
  }

  #pair(a: NodeId, b: NodeId): void {
    this.#known(a);
    this.#known(b);
    if (a === b) throw new InvalidArgumentError(`a link joins two different nodes, got ${a} twice`);
  }

  /**
   * Freezes a node for `ms` as a stop-the-world pause would: what it sends
   * and what is sent to it arrives only after the pause. The node itself
   * keeps its state, so when the pause ends it is a stale leader (or
   * follower) catching up.
   */
  pause(id: NodeId, ms = 2000): void {
    this.#running(id);
    if (!Number.isInteger(ms) || ms < 100 || ms > 10_000) throw new InvalidArgumentError(`pause must be an integer from 100 to 10000 ms, got ${ms}`);
    const until = this.#clock.now() + ms;
    this.#paused.set(id, until);
    this.#forLinksOf(id, (from, to) => this.#applyLinkFaults(from, to));
    this.#log('fault', `${id} paused for ${ms} ms`);
    this.#clock.setTimeout(() => {
      if (this.#paused.get(id) !== until) return;
      this.#paused.delete(id);
      this.#forLinksOf(id, (from, to) => this.#applyLinkFaults(from, to));
      this.#log('fault', `${id} resumed`);
    }, ms);
  }

  #forLinksOf(id: NodeId, action: (from: NodeId, to: NodeId) => void): void {
    for (const peer of this.#ids) {
      if (peer === id) continue;
      action(id, peer);
      action(peer, id);
    }
  }

  /** The per-link override: the larger of the link's own delay and a pause's. */
  #applyLinkFaults(from: NodeId, to: NodeId): void {
    const now = this.#clock.now();
    const pausedFor = Math.max(0, ...[from, to].map((n) => (this.#paused.get(n) ?? now) - now));
    const ms = Math.max(this.#linkDelays.get(`${from}>${to}`) ?? 0, pausedFor);
    this.#network.setLinkFaults(from, to, ms === 0 ? undefined : { delay: { kind: 'fixed', ms } });
  }

  /** Removes every partition, cut link, isolation and link delay. Crashed nodes stay down. */
  heal(): void {
    this.#network.heal();
    this.#isolated.clear();
    const delayed = [...this.#linkDelays.keys()];
    this.#linkDelays.clear();
    for (const key of delayed) {
      const [from, to] = key.split('>') as [NodeId, NodeId];
      this.#applyLinkFaults(from, to);
    }
    this.#log('fault', 'network healed');
  }

  /**
   * Makes `target` the leader: Raft's leader hands over to it; in Paxos it
   * campaigns with a higher ballot.
   */
  async transferLeadership(target: NodeId): Promise<void> {
    const member = this.#running(target);
    const leader = this.#leaderMember();
    if (leader?.id === target) throw new InvalidArgumentError(`${target} is already the leader`);
    this.#log('election', `leadership transfer to ${target} requested`);
    await member.takeLeadership(leader, CONTROL_TIMEOUT_MS);
  }

  /**
   * Starts a new, empty node and asks the leader to add it as a voter.
   * @returns the new node's id
   * @throws InvalidArgumentError when the demo already has its maximum of nodes or there is no leader
   */
  async addMember(): Promise<NodeId> {
    if (this.#ids.length >= MAX_DEMO_NODES) throw new InvalidArgumentError(`the demo holds at most ${MAX_DEMO_NODES} nodes`);
    const leader = this.#leaderMember();
    if (leader === undefined) throw new InvalidArgumentError('no leader to add a member through; wait for one');
    const id = `n${this.#ids.length + 1}`;
    const voters = leader.status().voters;
    this.#ids.push(id);
    // A Raft joiner starts with no configuration and learns it from the
    // leader; a Paxos acceptor needs the configuration it is joining.
    this.#start(id, this.algorithm === 'raft' ? [] : [...voters, id]);
    this.#joinSwim(id);
    this.#log('membership', `${id} started; asking ${leader.id} to add it as a voter`);
    await leader.addVoter(id, CONTROL_TIMEOUT_MS);
    this.#log('membership', `${id} is a voter`);
    return id;
  }

  /** Asks the leader to remove `id` from the voters, then stops it. */
  async removeMember(id: NodeId): Promise<void> {
    this.#known(id);
    const leader = this.#leaderMember();
    if (leader === undefined) throw new InvalidArgumentError('no leader to remove a member through; wait for one');
    this.#log('membership', `asking ${leader.id} to remove ${id}`);
    await leader.removeVoter(id, CONTROL_TIMEOUT_MS);
    this.#removed.add(id);
    const member = this.#members.get(id);
    this.#members.delete(id);
    // Leave SWIM gracefully, so the others mark it `left` rather than suspect it.
    await this.#swims
      .get(id)
      ?.leave({ timeoutMs: 1000 })
      .catch(() => undefined);
    this.#stopSwim(id);
    this.#detectors.forget(id);
    this.#log('membership', `${id} removed from the voters and stopped`);
    await member?.stop();
  }

  startWorkload(): void {
    if (this.#workload.running) return;
    this.#workload.start();
    this.#log('workload', 'workload started');
  }

  stopWorkload(): void {
    if (!this.#workload.running) return;
    this.#workload.stop();
    this.#log('workload', 'workload stopped');
  }

  /** Recomputes the linearizability verdict of the recent window (see DemoWorkload). */
  async checkRecentWindow(timeoutMs?: number): Promise<void> {
    const before = this.#workload.verdict().verdict;
    const after = (await this.#workload.checkRecentWindow(timeoutMs)).verdict;
    if (after === 'not-linearizable' && before !== after) this.#log('workload', 'the checker found a NON-linearizable history');
  }

  /** The HTML report of the linearizability check of the whole run. */
  htmlReport(): Promise<string> {
    return this.#workload.htmlReport();
  }

  /** Cut off from every other node that is up (isolated, or alone in its partition). */
  #isCutOff(id: NodeId): boolean {
    if (this.#isolated.has(id)) return true;
    const others = [...this.#members.keys()].filter((n) => n !== id);
    return others.length > 0 && others.every((n) => !this.#network.canReach(id, n) && !this.#network.canReach(n, id));
  }

  #health(id: NodeId): NodeHealth {
    if (this.#removed.has(id)) return 'removed';
    if (!this.#members.has(id)) return 'down';
    if (this.#paused.has(id)) return 'paused';
    return this.#isCutOff(id) ? 'isolated' : 'up';
  }

  /** Everything the dashboard shows, now. */
  frame(): DashboardFrame {
    const now = this.#clock.now();
    const leader = this.leader();
    const leaderVoters = leader === undefined ? undefined : this.#members.get(leader)!.status().voters;
    const nodes: NodeFrame[] = this.#ids.map((id) => {
      const member = this.#members.get(id);
      const health = this.#health(id);
      if (member === undefined) {
        return { id, health, role: health, term: 0, leader: undefined, commitIndex: 0, appliedIndex: 0, logLength: 0, snapshotIndex: 0, voter: false };
      }
      const s = member.status();
      return {
        id,
        health,
        role: s.role,
        term: s.term,
        leader: s.leader,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        logLength: Math.max(0, s.lastIndex - s.snapshotIndex),
        snapshotIndex: s.snapshotIndex,
        voter: (leaderVoters ?? s.voters).includes(id),
      };
    });
    const present = this.#ids.filter((id) => !this.#removed.has(id));
    const links: LinkFrame[] = [];
    for (const from of present) {
      for (const to of present) {
        if (from === to) continue;
        links.push({
          from,
          to,
          perSecond: this.#traffic.perSecond(from, to, now),
          cut: !this.#network.canReach(from, to),
          delayMs: this.#linkDelays.get(`${from}>${to}`) ?? 0,
        });
      }
    }
    return {
      atMs: this.#elapsed(),
      algorithm: this.algorithm,
      transport: 'memory',
      unavailable: {},
      detectorNote:
        'A phi accrual detector per node, fed by every consensus message the node receives. In Raft a follower hears only its leader, so it watches the leader; the leader watches every follower. The dashed line is the suspicion threshold.',
      seed: this.seed,
      leader,
      phiThreshold: PHI_THRESHOLD,
      nodes,
      links,
      phi: this.#detectors.frame([...this.#members.keys()], now),
      swim: this.#swimFrame(),
      workload: this.#workload.frame(),
      verdict: this.#workload.verdict(),
      timeline: this.#timeline.slice(-50),
    };
  }

  #swimFrame(): SwimFrame[] {
    const frames: SwimFrame[] = [];
    for (const [observer, swim] of this.#swims) {
      for (const info of swim.members()) {
        frames.push({ observer, member: info.id, state: info.state, incarnation: info.incarnation });
      }
    }
    return frames;
  }

  /** Elections won by a node other than the previous leader. */
  get leaderChanges(): number {
    return this.#leaderChanges;
  }

  async stop(): Promise<void> {
    await this.#workload.close();
    for (const swim of this.#swims.values()) swim.stop();
    this.#swims.clear();
    for (const member of this.#members.values()) await member.stop();
    this.#members.clear();
    await this.#network.close();
  }
}

/** The workload's calls on an in-process node: a proposal, and the node's linearizable read. */
function memberTarget(member: ConsensusMember): WorkloadTarget {
  return {
    async put(key, value, timeoutMs) {
      await member.propose(encodeKvCommand({ type: 'put', key, value }), timeoutMs);
    },
    async get(key, timeoutMs) {
      const result = await member.read({ type: 'get', key }, timeoutMs);
      return result.type === 'get' ? (result.kv?.value ?? null) : null;
    },
  };
}
