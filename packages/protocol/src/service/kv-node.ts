import type { ConfState, Envelope, KvQuery, KvQueryResult, KvResult, NodeId, ReadConsistency } from '@synod/core';

/** Which consensus algorithm a Synod server runs. */
export type ConsensusAlgorithm = 'raft' | 'paxos';

/** The algorithms {@link ConsensusAlgorithm} allows, for flag parsing and messages. */
export const CONSENSUS_ALGORITHMS: readonly ConsensusAlgorithm[] = ['raft', 'paxos'];

/** A deadline and an abort signal, as every waiting call of a node takes them. */
export interface KvNodeCallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What the KV and Cluster services read of a node's status, whichever the algorithm. */
export interface KvNodeStatus {
  readonly role: 'follower' | 'pre-candidate' | 'candidate' | 'leader';
  /** Raft's term, or the round of the ballot a Multi-Paxos node promised. */
  readonly term: number;
  readonly leader: NodeId | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  /** Proposals waiting to be applied here (this node's own callers). */
  readonly pendingProposals: number;
  readonly stopped: boolean;
  readonly membership: ConfState;
}

/** The events a Synod server listens to. */
export interface KvNodeEvents {
  role: { readonly role: KvNodeStatus['role']; readonly term: number };
  leader: { readonly leader: NodeId | undefined; readonly term: number };
  membership: { readonly confState: ConfState; readonly index: number };
  snapshot: { readonly index: number; readonly compactedTo: number; readonly bytes: number };
  error: { readonly error: unknown };
}

/**
 * The consensus node behind a Synod server's KV and Cluster services: what
 * they call, and nothing else, so that `RaftNode` and `MultiPaxosNode` (both
 * with the KV state machine) serve alike. Writes and reads go to the leader;
 * elsewhere they reject with `NotLeaderError` naming it.
 *
 * @example
 * ```ts
 * const node: KvNode = new RaftNode<KvResult, KvQuery, KvQueryResult>({ ...options, stateMachine: store });
 * const result = await node.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { timeoutMs: 5_000 });
 * ```
 */
export interface KvNode {
  readonly id: NodeId;
  start(): void;
  stop(): Promise<void>;
  /** Feeds one envelope from the transport (for servers that route other protocols, such as SWIM, elsewhere). */
  receive(envelope: Envelope): void;
  status(): KvNodeStatus;
  /** `status().term`, without building the whole status (response headers read it on every call). */
  readonly term: number;
  /** `status().leader`, likewise. */
  readonly leader: NodeId | undefined;
  /** The largest command `propose` accepts, in bytes (the KV write batcher packs writes up to it). */
  readonly maxProposalBytes: number;
  propose(command: Uint8Array, options?: KvNodeCallOptions): Promise<KvResult>;
  read(query: KvQuery, options?: KvNodeCallOptions & { readonly consistency?: ReadConsistency }): Promise<KvQueryResult>;
  removeMember(id: NodeId, options?: KvNodeCallOptions): Promise<ConfState>;
  /**
   * Adds a voter, or a learner, with `context` (the member's address)
   * replicated with the change; and reads every member's latest context.
   * Raft has them (`RaftNode.memberContext`); a node without them answers
   * AddMember with UNIMPLEMENTED. `MultiPaxosNode` has them but replicates
   * no context: it refuses an addition that carries one (INVALID_ARGUMENT).
   */
  addVoter?(id: NodeId, options?: KvNodeCallOptions & { readonly context?: Uint8Array }): Promise<ConfState>;
  addLearner?(id: NodeId, options?: KvNodeCallOptions & { readonly context?: Uint8Array }): Promise<ConfState>;
  memberContext?(id: NodeId): Uint8Array | undefined;
  promoteLearner(id: NodeId, options?: KvNodeCallOptions): Promise<ConfState>;
  transferLeadership(target: NodeId, options?: KvNodeCallOptions): Promise<void>;
  on<K extends keyof KvNodeEvents>(name: K, listener: (event: KvNodeEvents[K]) => void): () => void;
}
