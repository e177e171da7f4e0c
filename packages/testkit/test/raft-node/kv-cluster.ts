import {
  encodeKvCommand,
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  SeededRandom,
  VirtualClock,
  type KvCommand,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type RaftConfig,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { driveUntil } from '../../src/simulator/drive-clock.js';

export type KvNode = RaftNode<KvResult, KvQuery, KvQueryResult>;

export const TICK_MS = 10;

/** A small KV cluster of RaftNodes on the memory network and a virtual clock, for scenario tests. */
export class KvCluster {
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly nodes = new Map<NodeId, KvNode>();
  readonly ids: NodeId[];

  constructor(size: number, raft: Partial<RaftConfig> = {}, seed = 1, options: { maxPendingOperations?: number } = {}) {
    const random = new SeededRandom(seed);
    this.network = new MemoryNetwork({ clock: this.clock, random: random.fork(), clusterId: 't' });
    this.ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    for (const id of this.ids) {
      const node: KvNode = new RaftNode({
        raft: { electionTicks: 10, heartbeatTicks: 1, ...raft, id, voters: this.ids },
        clusterId: 't',
        transport: this.network.endpoint(id),
        storage: new MemoryStorage(),
        stateMachine: new KvStateMachine(),
        clock: this.clock,
        random: random.fork(),
        tickIntervalMs: TICK_MS,
        defaultTimeoutMs: 2000,
        ...(options.maxPendingOperations !== undefined ? { maxPendingOperations: options.maxPendingOperations } : {}),
      });
      node.start();
      this.nodes.set(id, node);
    }
  }

  node(id: NodeId): KvNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  leader(): KvNode | undefined {
    return [...this.nodes.values()].find((n) => n.status().role === 'leader');
  }

  async waitForLeader(limitMs = 5000): Promise<KvNode> {
    await driveUntil(this.clock, () => this.leader() !== undefined, limitMs);
    return this.leader()!;
  }

  followers(): KvNode[] {
    return [...this.nodes.values()].filter((n) => n.status().role !== 'leader');
  }

  /** Starts the operation, then drives virtual time until it settles. */
  async settle<T>(operation: Promise<T>, limitMs = 10_000): Promise<PromiseSettledResult<T>> {
    let outcome: PromiseSettledResult<T> | undefined;
    operation.then(
      (value) => (outcome = { status: 'fulfilled', value }),
      (reason: unknown) => (outcome = { status: 'rejected', reason }),
    );
    await driveUntil(this.clock, () => outcome !== undefined, limitMs);
    return outcome!;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes.values()) await node.stop();
    await this.network.close();
  }
}

export function put(key: string, value: string): Uint8Array {
  return encodeKvCommand({ type: 'put', key, value } satisfies KvCommand);
}
