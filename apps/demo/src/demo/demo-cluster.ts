import {
  encodeKvCommand,
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  SeededRandom,
  systemClock,
  type Clock,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type Random,
  type RaftRole,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';

type DemoNode = RaftNode<KvResult, KvQuery, KvQueryResult>;

export interface DemoClusterOptions {
  readonly nodes: number;
  readonly seed: number;
  /** @default systemClock (real time) */
  readonly clock?: Clock;
  /** Milliseconds per Raft tick. @default 50 */
  readonly tickIntervalMs?: number;
}

export interface DemoNodeView {
  readonly id: NodeId;
  readonly up: boolean;
  readonly role: RaftRole | 'down';
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
}

export interface DemoSnapshot {
  readonly nodes: readonly DemoNodeView[];
  readonly leader: NodeId | undefined;
  readonly stats: {
    readonly committedWrites: number;
    readonly failedWrites: number;
    readonly reads: number;
    readonly leaderChanges: number;
    readonly writesPerSecond: number;
  };
  readonly events: readonly string[];
  readonly isolated: readonly NodeId[];
}

/**
 * An in-process Raft cluster on the memory network, running on the real
 * clock, with a small KV workload. It is what `synod demo` shows: crash the
 * leader or cut it off and watch the others elect a new one and carry on.
 */
export class DemoCluster {
  readonly ids: readonly NodeId[];
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #network: MemoryNetwork;
  readonly #tickIntervalMs: number;
  readonly #storages = new Map<NodeId, MemoryStorage>();
  readonly #nodes = new Map<NodeId, DemoNode>();
  readonly #isolated = new Set<NodeId>();
  readonly #events: string[] = [];
  readonly #recentWrites: number[] = [];
  #committedWrites = 0;
  #failedWrites = 0;
  #reads = 0;
  #leaderChanges = 0;
  #lastLeader: NodeId | undefined;
  #workloadRunning = false;
  #sequence = 0;
  readonly #startedAt: number;

  constructor(options: DemoClusterOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#random = new SeededRandom(options.seed);
    this.#tickIntervalMs = options.tickIntervalMs ?? 50;
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.#network = new MemoryNetwork({
      clock: this.#clock,
      random: this.#random.fork(),
      clusterId: 'demo',
      faults: { delay: { kind: 'uniform', minMs: 1, maxMs: 4 } },
    });
    this.#startedAt = this.#clock.now();
    for (const id of this.ids) {
      this.#storages.set(id, new MemoryStorage());
      this.#start(id);
    }
  }

  #log(message: string): void {
    const seconds = ((this.#clock.now() - this.#startedAt) / 1000).toFixed(1);
    this.#events.push(`[${seconds}s] ${message}`);
    if (this.#events.length > 50) this.#events.shift();
  }

  #start(id: NodeId): void {
    const node: DemoNode = new RaftNode({
      raft: { id, voters: this.ids, electionTicks: 10, heartbeatTicks: 1 },
      clusterId: 'demo',
      transport: this.#network.endpoint(id),
      storage: this.#storages.get(id)!,
      stateMachine: new KvStateMachine(),
      clock: this.#clock,
      random: this.#random.fork(),
      tickIntervalMs: this.#tickIntervalMs,
    });
    node.on('role', ({ role, term }) => {
      if (role === 'leader') this.#log(`${id} became leader in term ${term}`);
    });
    this.#nodes.set(id, node);
    node.start();
  }

  leader(): DemoNode | undefined {
    return [...this.#nodes.values()].find((n) => n.status().role === 'leader' && !this.#isolated.has(n.id));
  }

  /** Stops a node's process; its storage survives (as if synced to disk). */
  async crash(id: NodeId): Promise<void> {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.#nodes.delete(id);
    await node.stop();
    this.#network.crash(id);
    this.#log(`${id} crashed`);
  }

  restart(id: NodeId): void {
    if (this.#nodes.has(id) || !this.ids.includes(id)) return;
    this.#network.restart(id);
    this.#start(id);
    this.#log(`${id} restarted`);
  }

  isolate(id: NodeId): void {
    this.#network.isolate(id);
    this.#isolated.add(id);
    this.#log(`${id} cut off from the others`);
  }

  heal(): void {
    this.#network.heal();
    this.#isolated.clear();
    this.#log('network healed');
  }

  /** Starts clients that write and read continuously, one operation in flight each. */
  startWorkload(clients = 4): void {
    this.#workloadRunning = true;
    for (let c = 0; c < clients; c++) void this.#clientLoop(c);
  }

  async #clientLoop(client: number): Promise<void> {
    while (this.#workloadRunning) {
      const target = this.leader() ?? this.#nodes.get(this.ids[this.#random.int(this.ids.length)]!);
      if (target === undefined) {
        await this.#pause(100);
        continue;
      }
      const key = `key-${this.#random.int(10)}`;
      try {
        if (this.#random.int(3) === 0) {
          await target.read({ type: 'get', key }, { timeoutMs: 1000 });
          this.#reads++;
        } else {
          const value = `c${client}-${++this.#sequence}`;
          await target.propose(encodeKvCommand({ type: 'put', key, value }), { timeoutMs: 1000 });
          this.#committedWrites++;
          this.#recentWrites.push(this.#clock.now());
        }
      } catch {
        this.#failedWrites++;
        await this.#pause(50);
      }
      await this.#pause(5);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  snapshot(): DemoSnapshot {
    const now = this.#clock.now();
    while (this.#recentWrites.length > 0 && this.#recentWrites[0]! < now - 1000) this.#recentWrites.shift();
    const leader = this.leader()?.id;
    if (leader !== undefined && leader !== this.#lastLeader) {
      if (this.#lastLeader !== undefined) this.#leaderChanges++;
      this.#lastLeader = leader;
    }
    return {
      nodes: this.ids.map((id) => {
        const node = this.#nodes.get(id);
        if (node === undefined) {
          return { id, up: false, role: 'down', term: 0, commitIndex: 0, appliedIndex: 0, lastIndex: 0 } as const;
        }
        const s = node.status();
        return {
          id,
          up: true,
          role: s.role,
          term: s.term,
          commitIndex: s.commitIndex,
          appliedIndex: s.appliedIndex,
          lastIndex: s.lastIndex,
        };
      }),
      leader,
      stats: {
        committedWrites: this.#committedWrites,
        failedWrites: this.#failedWrites,
        reads: this.#reads,
        leaderChanges: this.#leaderChanges,
        writesPerSecond: this.#recentWrites.length,
      },
      events: [...this.#events],
      isolated: [...this.#isolated],
    };
  }

  async stop(): Promise<void> {
    this.#workloadRunning = false;
    for (const node of this.#nodes.values()) await node.stop();
    await this.#network.close();
  }
}
