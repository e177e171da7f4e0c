import {
  KvStateMachine,
  RaftNode,
  SeededRandom,
  VirtualClock,
  type ApplyContext,
  type FailureDetector,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type Random,
  type RaftConfig,
  type RaftNodeOptions,
  type ConfState,
  type StateMachine,
} from '@synod/core';
import { createEnvelopeCodec } from '@synod/protocol';
import { MemoryNetwork } from '@synod/transport-memory';
import { drainMicrotasks } from '../simulator/drive-clock.js';
import { RaftInvariants } from '../simulator/invariants.js';
import { SimStorage } from '../simulator/sim-storage.js';

export type KvRaftNode = RaftNode<KvResult, KvQuery, KvQueryResult>;
type KvRaftNodeOptions = RaftNodeOptions<KvResult, KvQuery, KvQueryResult>;

export interface RaftTestClusterOptions {
  /** Nodes created at the start, `n1`…`nK`. */
  readonly nodes: number;
  /**
   * The initial voters. Nodes not listed start as non-members with no
   * configuration at all; they join through membership changes.
   * @default every node
   */
  readonly voters?: readonly NodeId[];
  /** Extra RaftNode options for every node (`maxLearnerLag`, `snapshots`, `toleratedLeaderPauseMs`). */
  readonly node?: Partial<Pick<KvRaftNodeOptions, 'maxLearnerLag' | 'snapshots' | 'toleratedLeaderPauseMs'>>;
  readonly seed?: number;
  /** Raft settings for every node (id and voters are filled in). */
  readonly raft?: Partial<RaftConfig>;
  /** @default 10 */
  readonly tickIntervalMs?: number;
  /** @default 2000 */
  readonly defaultTimeoutMs?: number;
  readonly maxPendingOperations?: number;
  /** Round-trip every message through the protobuf codec. @default true */
  readonly wireCodec?: boolean;
  /** Gives each node (also after a restart) its own failure detector, for detector-assisted elections. */
  readonly failureDetector?: (id: NodeId) => FailureDetector;
}

/** Feeds applied commands to the invariant checker, then to the KV state machine. */
class CheckedKvStateMachine implements StateMachine<Uint8Array, KvResult, KvQuery, KvQueryResult> {
  readonly kv = new KvStateMachine();
  constructor(private readonly onApply: (index: number, command: Uint8Array) => void) {}
  apply(command: Uint8Array, context: ApplyContext): KvResult {
    this.onApply(context.index, command);
    return this.kv.apply(command, context);
  }
  query(query: KvQuery): KvQueryResult {
    return this.kv.query(query);
  }
  snapshot(): Uint8Array {
    return this.kv.snapshot();
  }
  restore(snapshot: Uint8Array): void {
    this.kv.restore(snapshot);
  }
}

/**
 * A Raft KV cluster on the memory network and a virtual clock, for scenario
 * tests that read like stories: disconnect the leader, propose on both
 * sides, reconnect, expect the minority's entries gone. Every event the
 * cluster runs is followed by the safety checks of {@link RaftInvariants},
 * so a scenario fails as soon as an invariant breaks.
 *
 * @example
 * ```ts
 * const cluster = new RaftTestCluster({ nodes: 5 });
 * const leader = await cluster.waitForLeader();
 * cluster.disconnect(leader.id);
 * const next = await cluster.waitForLeader({ not: leader.id });
 * await cluster.settle(next.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' })));
 * cluster.assertSafe();
 * ```
 */
export class RaftTestCluster {
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly invariants: RaftInvariants;
  readonly #ids: NodeId[];
  readonly #initialVoters: readonly NodeId[];
  readonly #options: RaftTestClusterOptions;
  readonly #random: Random;
  readonly #nodes = new Map<NodeId, KvRaftNode>();
  readonly #storages = new Map<NodeId, SimStorage>();
  readonly #machines = new Map<NodeId, CheckedKvStateMachine>();
  readonly #disconnected = new Set<NodeId>();

  constructor(options: RaftTestClusterOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed ?? 1);
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: this.#random.fork(),
      clusterId: 'test',
      ...(options.wireCodec === false ? {} : { codec: createEnvelopeCodec() }),
    });
    this.invariants = new RaftInvariants(() => this.clock.now());
    this.#ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.#initialVoters = options.voters ?? [...this.#ids];
    for (const id of this.#ids) {
      this.#storages.set(id, new SimStorage());
      this.#start(id);
    }
  }

  /** Every node id the cluster has created (members or not, running or not). */
  get ids(): readonly NodeId[] {
    return this.#ids;
  }

  /**
   * Creates and starts a brand-new node (`n<K+1>`) with an empty log and no
   * configuration: it is not a member until a membership change adds it.
   * It is connected to every node that is not disconnected.
   */
  addNode(): NodeId {
    const id = `n${this.#ids.length + 1}`;
    this.#ids.push(id);
    this.#storages.set(id, new SimStorage());
    this.#start(id);
    for (const peer of this.#disconnected) {
      this.network.cutLink(id, peer);
      this.network.cutLink(peer, id);
    }
    return id;
  }

  /** The storage of a node (what it has written so far, synced or not). */
  storageOf(id: NodeId): SimStorage {
    const storage = this.#storages.get(id);
    if (storage === undefined) throw new Error(`no node ${id}`);
    return storage;
  }

  /** The configuration in effect on a running node. */
  membership(id: NodeId): ConfState {
    return this.node(id).status().membership;
  }

  #start(id: NodeId): void {
    const storage = this.#storages.get(id)!;
    storage.onAppend = (entries, live) => this.invariants.onAppend(id, entries, live);
    const machine = new CheckedKvStateMachine((index, command) => this.invariants.onApply(id, index, command));
    const node: KvRaftNode = new RaftNode({
      raft: {
        electionTicks: 10,
        heartbeatTicks: 1,
        ...this.#options.raft,
        id,
        voters: this.#initialVoters.includes(id) ? this.#initialVoters : [],
      },
      clusterId: 'test',
      transport: this.network.endpoint(id),
      storage,
      stateMachine: machine,
      clock: this.clock,
      random: this.#random.fork(),
      tickIntervalMs: this.#options.tickIntervalMs ?? 10,
      defaultTimeoutMs: this.#options.defaultTimeoutMs ?? 2000,
      ...(this.#options.failureDetector !== undefined ? { failureDetector: this.#options.failureDetector(id) } : {}),
      ...this.#options.node,
      ...(this.#options.maxPendingOperations !== undefined
        ? { maxPendingOperations: this.#options.maxPendingOperations }
        : {}),
    });
    this.#nodes.set(id, node);
    this.#machines.set(id, machine);
    node.start();
  }

  /** The running node with this id; throws when it is down. */
  node(id: NodeId): KvRaftNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} is not running`);
    return node;
  }

  /** The KV state of a running node, for checking what it applied. */
  stateOf(id: NodeId): KvStateMachine {
    const machine = this.#machines.get(id);
    if (machine === undefined) throw new Error(`node ${id} is not running`);
    return machine.kv;
  }

  running(): KvRaftNode[] {
    return [...this.#nodes.values()];
  }

  /** Running nodes that are not leader. */
  followers(): KvRaftNode[] {
    return this.running().filter((n) => n.status().role !== 'leader');
  }

  /** Running nodes that consider themselves leader (there can be stale ones in a minority). */
  leaders(): KvRaftNode[] {
    return this.running().filter((n) => n.status().role === 'leader');
  }

  /** The leader with the highest term, if any. */
  leader(): KvRaftNode | undefined {
    return this.leaders().sort((a, b) => b.status().term - a.status().term)[0];
  }

  /**
   * Drives time until there is a leader other than `not` that can lead: it
   * reaches a majority, and none of the nodes it reaches has a higher term
   * (a stale leader that has not yet heard of the new term does not count).
   */
  async waitForLeader(options: { readonly not?: NodeId; readonly limitMs?: number } = {}): Promise<KvRaftNode> {
    let found: KvRaftNode | undefined;
    await this.driveUntil(() => {
      found = this.leaders().find((n) => n.id !== options.not && this.#canLead(n));
      return found !== undefined;
    }, options.limitMs ?? 5000);
    return found!;
  }

  #canLead(leader: KvRaftNode): boolean {
    const { term, membership } = leader.status();
    const reachable = this.running().filter(
      (peer) =>
        peer.id === leader.id || (this.network.canReach(leader.id, peer.id) && this.network.canReach(peer.id, leader.id)),
    );
    const ids = new Set(reachable.map((peer) => peer.id));
    // A majority of the leader's voters (of both halves while joint) must be reachable.
    const majority = (voters: readonly NodeId[]): boolean =>
      voters.length === 0 || voters.filter((id) => ids.has(id)).length * 2 > voters.length;
    return (
      majority(membership.voters) &&
      majority(membership.votersOutgoing) &&
      reachable.every((peer) => peer.status().term <= term)
    );
  }

  /** Cuts a node off from all others (it keeps running). */
  disconnect(id: NodeId): void {
    this.#disconnected.add(id);
    for (const peer of this.ids) {
      if (peer === id) continue;
      this.network.cutLink(id, peer);
      this.network.cutLink(peer, id);
    }
  }

  /** Reconnects a node to every other node that is not itself disconnected. */
  connect(id: NodeId): void {
    this.#disconnected.delete(id);
    for (const peer of this.ids) {
      if (peer === id || this.#disconnected.has(peer)) continue;
      this.network.restoreLink(id, peer);
      this.network.restoreLink(peer, id);
    }
  }

  /** Removes every partition, cut and isolation. */
  heal(): void {
    this.#disconnected.clear();
    this.network.heal();
  }

  /** Stops a node's process; its storage keeps what was synced plus a random part of the rest. */
  async crash(id: NodeId): Promise<void> {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.#nodes.delete(id);
    this.#machines.delete(id);
    await node.stop();
    this.network.crash(id);
    this.#storages.set(id, this.#storages.get(id)!.crash(this.#random));
  }

  /** Starts a crashed node again from its durable storage, with an empty state machine. */
  restart(id: NodeId): void {
    if (this.#nodes.has(id)) return;
    this.network.restart(id);
    this.invariants.onRestart(id);
    this.#start(id);
  }

  /** Runs one event and the checks that follow it. */
  async #runOne(): Promise<boolean> {
    if (!this.clock.runNext()) return false;
    await drainMicrotasks();
    for (const [id, node] of this.#nodes) {
      const s = node.status();
      this.invariants.observe(id, s.role, s.term, s.commitIndex, this.#storages.get(id)!);
    }
    return true;
  }

  /** Advances virtual time by `ms`, checking invariants after every event. */
  async run(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await drainMicrotasks();
    for (;;) {
      const due = this.clock.nextDueAt();
      if (due === undefined || due > target) break;
      await this.#runOne();
    }
    this.clock.advanceTo(target);
    await drainMicrotasks();
  }

  /** Drives time until `condition()` holds; throws after `limitMs` of virtual time. */
  async driveUntil(condition: () => boolean, limitMs = 10_000): Promise<void> {
    const deadline = this.clock.now() + limitMs;
    await drainMicrotasks();
    while (!condition()) {
      const due = this.clock.nextDueAt();
      if (due === undefined || due > deadline) throw new Error(`condition not met within ${limitMs} ms of virtual time`);
      await this.#runOne();
    }
  }

  /** Drives time until the operation settles, and returns how it settled. */
  async settle<T>(operation: Promise<T>, limitMs = 10_000): Promise<PromiseSettledResult<T>> {
    let outcome: PromiseSettledResult<T> | undefined;
    operation.then(
      (value) => (outcome = { status: 'fulfilled', value }),
      (reason: unknown) => (outcome = { status: 'rejected', reason }),
    );
    await this.driveUntil(() => outcome !== undefined, limitMs);
    return outcome!;
  }

  /** Throws with every violation found so far. */
  assertSafe(): void {
    const violations = this.invariants.violations;
    if (violations.length > 0) {
      throw new Error(`invariant violations:\n${violations.map((v) => `  ${v.invariant}: ${v.message}`).join('\n')}`);
    }
  }

  async stop(): Promise<void> {
    for (const node of this.#nodes.values()) await node.stop();
    await this.network.close();
  }
}
