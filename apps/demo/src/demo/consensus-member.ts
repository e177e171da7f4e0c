import {
  KvStateMachine,
  MultiPaxosNode,
  RaftNode,
  type Clock,
  type Envelope,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type NodeId,
  type Random,
  type Storage,
  type Transport,
} from '@synod/core';
import type { DemoAlgorithm } from './dashboard-types.js';

/** What the dashboard reads from a node, whichever the algorithm. */
export interface MemberStatus {
  readonly role: string;
  readonly term: number;
  readonly leader: NodeId | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly NodeId[];
}

/**
 * One running consensus node of the demo, Raft or Multi-Paxos, behind the
 * few calls the demo makes. Leadership transfer differs: Raft's leader hands
 * over (`transferLeadership`), a Paxos node takes over by campaigning with a
 * higher ballot, so the demo asks the *target* through {@link takeLeadership}.
 */
export interface ConsensusMember {
  readonly id: NodeId;
  start(): void;
  stop(): Promise<void>;
  /** Feeds an envelope from the transport (the demo routes SWIM's elsewhere). */
  receive(envelope: Envelope): void;
  status(): MemberStatus;
  propose(command: Uint8Array, timeoutMs: number): Promise<KvResult>;
  read(query: KvQuery, timeoutMs: number): Promise<KvQueryResult>;
  /** Called on the node that should lead next; `leader` is the current leader's member. */
  takeLeadership(leader: ConsensusMember | undefined, timeoutMs: number): Promise<void>;
  addVoter(id: NodeId, timeoutMs: number): Promise<void>;
  removeVoter(id: NodeId, timeoutMs: number): Promise<void>;
  /** Calls `listener` when this node becomes leader. Returns an unsubscribe function. */
  onElected(listener: (term: number) => void): () => void;
}

export interface MemberOptions {
  readonly algorithm: DemoAlgorithm;
  readonly id: NodeId;
  /** The initial voters; empty for a node that joins a running cluster. */
  readonly voters: readonly NodeId[];
  readonly transport: Transport;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly random: Random;
  readonly tickIntervalMs: number;
}

/** Snapshot often so that the snapshot index visibly moves in a demo of a few minutes. */
const SNAPSHOTS = { entries: 2000, retainEntries: 200 } as const;

class RaftMember implements ConsensusMember {
  readonly id: NodeId;
  readonly #node: RaftNode<KvResult, KvQuery, KvQueryResult>;
  #snapshotIndex = 0;

  constructor(options: MemberOptions) {
    this.id = options.id;
    this.#node = new RaftNode({
      raft: { id: options.id, voters: options.voters, electionTicks: 10, heartbeatTicks: 1 },
      clusterId: 'demo',
      transport: options.transport,
      storage: options.storage,
      stateMachine: new KvStateMachine(),
      clock: options.clock,
      random: options.random,
      tickIntervalMs: options.tickIntervalMs,
      snapshots: SNAPSHOTS,
      // The endpoint also carries SWIM; the demo routes each envelope.
      attachToTransport: false,
    });
    this.#node.on('snapshot', ({ index }) => (this.#snapshotIndex = index));
  }

  start(): void {
    this.#node.start();
  }
  stop(): Promise<void> {
    return this.#node.stop();
  }
  receive(envelope: Envelope): void {
    this.#node.receive(envelope);
  }
  status(): MemberStatus {
    const s = this.#node.status();
    return { ...s, snapshotIndex: this.#snapshotIndex, voters: s.membership.voters };
  }
  propose(command: Uint8Array, timeoutMs: number): Promise<KvResult> {
    return this.#node.propose(command, { timeoutMs });
  }
  read(query: KvQuery, timeoutMs: number): Promise<KvQueryResult> {
    return this.#node.read(query, { timeoutMs });
  }
  async takeLeadership(leader: ConsensusMember | undefined, timeoutMs: number): Promise<void> {
    if (leader instanceof RaftMember) await leader.#node.transferLeadership(this.id, { timeoutMs });
    else await this.#node.campaign({ timeoutMs });
  }
  async addVoter(id: NodeId, timeoutMs: number): Promise<void> {
    await this.#node.addVoter(id, { timeoutMs });
  }
  async removeVoter(id: NodeId, timeoutMs: number): Promise<void> {
    await this.#node.removeMember(id, { timeoutMs });
  }
  onElected(listener: (term: number) => void): () => void {
    return this.#node.on('role', ({ role, term }) => {
      if (role === 'leader') listener(term);
    });
  }
}

class PaxosMember implements ConsensusMember {
  readonly id: NodeId;
  readonly #node: MultiPaxosNode<KvResult, KvQuery, KvQueryResult>;

  constructor(options: MemberOptions) {
    this.id = options.id;
    this.#node = new MultiPaxosNode({
      paxos: { id: options.id, voters: options.voters },
      clusterId: 'demo',
      transport: options.transport,
      storage: options.storage,
      stateMachine: new KvStateMachine(),
      clock: options.clock,
      random: options.random,
      tickIntervalMs: options.tickIntervalMs,
      snapshots: SNAPSHOTS,
      // The endpoint also carries SWIM; the demo routes each envelope.
      attachToTransport: false,
    });
  }

  start(): void {
    this.#node.start();
  }
  stop(): Promise<void> {
    return this.#node.stop();
  }
  receive(envelope: Envelope): void {
    this.#node.receive(envelope);
  }
  status(): MemberStatus {
    const s = this.#node.status();
    return { ...s, snapshotIndex: s.compactedTo, voters: s.membership.voters };
  }
  propose(command: Uint8Array, timeoutMs: number): Promise<KvResult> {
    return this.#node.propose(command, { timeoutMs });
  }
  read(query: KvQuery, timeoutMs: number): Promise<KvQueryResult> {
    return this.#node.read(query, { timeoutMs });
  }
  async takeLeadership(_leader: ConsensusMember | undefined, timeoutMs: number): Promise<void> {
    await this.#node.campaign({ timeoutMs });
  }
  async addVoter(id: NodeId, timeoutMs: number): Promise<void> {
    await this.#node.addVoter(id, { timeoutMs });
  }
  async removeVoter(id: NodeId, timeoutMs: number): Promise<void> {
    await this.#node.removeMember(id, { timeoutMs });
  }
  onElected(listener: (term: number) => void): () => void {
    return this.#node.on('role', ({ role, ballot }) => {
      if (role === 'leader') listener(ballot.round);
    });
  }
}

/** A Raft or Multi-Paxos node for the demo cluster. */
export function createMember(options: MemberOptions): ConsensusMember {
  return options.algorithm === 'raft' ? new RaftMember(options) : new PaxosMember(options);
}
