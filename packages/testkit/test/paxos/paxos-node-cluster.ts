import {
  KvStateMachine,
  MultiPaxosNode,
  SeededRandom,
  VirtualClock,
  encodeKvCommand,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type MultiPaxosConfig,
  type NodeId,
  type SnapshotPolicy,
} from '@synod/core';
import { createEnvelopeCodec } from '@synod/protocol';
import { MemoryNetwork } from '@synod/transport-memory';
import { driveClock, driveUntil } from '../../src/simulator/drive-clock.js';
import { PaxosInvariants } from '../../src/paxos-sim/paxos-invariants.js';
import { SimStorage } from '../../src/simulator/sim-storage.js';

export type KvPaxosNode = MultiPaxosNode<KvResult, KvQuery, KvQueryResult>;

/**
 * MultiPaxosNodes on the memory network with a virtual clock, SimStorage
 * (crashes lose what was not synced) and the simulator's Paxos invariants
 * watching every acceptance and apply.
 */
export class PaxosNodeCluster {
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, KvPaxosNode>();
  readonly storages = new Map<NodeId, SimStorage>();
  readonly invariants: PaxosInvariants;
  readonly #random: SeededRandom;

  constructor(
    count: number,
    readonly options: { readonly paxos?: Partial<MultiPaxosConfig>; readonly snapshots?: SnapshotPolicy | false; readonly seed?: number } = {},
  ) {
    this.#random = new SeededRandom(options.seed ?? 1);
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: this.#random.fork(),
      clusterId: 'c',
      faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 3 } },
      codec: createEnvelopeCodec(),
    });
    this.ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    this.invariants = new PaxosInvariants(() => this.clock.now(), this.ids);
    for (const id of this.ids) {
      this.storages.set(id, new SimStorage());
      this.start(id);
    }
  }

  start(id: NodeId): KvPaxosNode {
    const storage = this.storages.get(id)!;
    this.invariants.onReset(id, storage.snapshot().metadata.index);
    const node: KvPaxosNode = new MultiPaxosNode({
      paxos: { id, voters: this.ids, electionTicks: 10, ...this.options.paxos },
      clusterId: 'c',
      transport: this.network.endpoint(id),
      storage,
      stateMachine: new KvStateMachine(),
      clock: this.clock,
      random: this.#random.fork(),
      tickIntervalMs: 10,
      defaultTimeoutMs: 2000,
      snapshots: this.options.snapshots ?? false,
      observer: {
        accepted: (slots) => this.invariants.onAccepted(id, slots),
        applied: (entry) => this.invariants.onApply(id, entry.index, entry.data, entry.type),
        installed: (index) => this.invariants.onReset(id, index),
      },
    });
    this.nodes.set(id, node);
    node.start();
    return node;
  }

  node(id: NodeId): KvPaxosNode {
    return this.nodes.get(id)!;
  }

  async crash(id: NodeId): Promise<void> {
    await this.nodes.get(id)!.stop();
    this.nodes.delete(id);
    this.network.crash(id);
    this.storages.set(id, this.storages.get(id)!.crash(this.#random));
  }

  restart(id: NodeId): KvPaxosNode {
    this.network.restart(id);
    return this.start(id);
  }

  leader(among: readonly NodeId[] = this.ids): KvPaxosNode | undefined {
    return among.map((id) => this.nodes.get(id)).find((n) => n?.status().role === 'leader');
  }

  async waitForLeader(among: readonly NodeId[] = this.ids, limitMs = 5000): Promise<KvPaxosNode> {
    await driveUntil(this.clock, () => this.leader(among) !== undefined, limitMs);
    return this.leader(among)!;
  }

  /** Drives the clock until `promise` settles (or `limitMs` of virtual time pass). */
  async settle<T>(promise: Promise<T>, limitMs = 10_000): Promise<T> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    await driveUntil(this.clock, () => done, limitMs);
    return promise;
  }

  async run(ms: number): Promise<void> {
    await driveClock(this.clock, ms);
  }

  /** Applied index of every running node. */
  applied(): number[] {
    return [...this.nodes.values()].map((n) => n.status().appliedIndex);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) await node.stop();
    await this.network.close();
  }
}

export const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });
