import { createHash } from 'node:crypto';
import {
  InvalidArgumentError,
  KvStateMachine,
  MultiPaxosNode,
  RaftNode,
  startSessionExpiry,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type KvStateMachineOptions,
  type FailureDetector,
  type Logger,
  type NodeId,
  type MultiPaxosConfig,
  type RaftConfig,
  type SnapshotPolicy,
  type Storage,
  type Transport,
} from '@synod/core';
import type { ConsensusAlgorithm, KvNode } from './kv-node.js';

/** Options of {@link createKvReplica}: what every Synod server builds its node from, whatever its transport. */
export interface KvReplicaOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  /** Every voter of a new cluster, this node included. */
  readonly voters: readonly NodeId[];
  readonly transport: Transport;
  readonly storage: Storage;
  readonly kv?: KvStateMachineOptions;
  /** Raft (the default) or Multi-Paxos; equal on every node. The two keep their logs alike in Storage but do not read each other's. */
  readonly algorithm?: ConsensusAlgorithm;
  /** Raft settings other than the id and voters (with `algorithm: 'raft'`). */
  readonly raft?: Omit<RaftConfig, 'id' | 'voters'>;
  /** Multi-Paxos settings other than the id and voters (with `algorithm: 'paxos'`). */
  readonly paxos?: Omit<MultiPaxosConfig, 'id' | 'voters' | 'applied' | 'reportAcceptances' | 'mutations'>;
  /** Detector-assisted elections (RaftNode's `failureDetector`); one instance per node. @default none */
  readonly failureDetector?: FailureDetector;
  /** RaftNode's `toleratedLeaderPauseMs` (Raft only). @default RaftNode's */
  readonly toleratedLeaderPauseMs?: number;
  readonly tickIntervalMs?: number;
  readonly snapshots?: SnapshotPolicy | false;
  readonly defaultTimeoutMs: number;
  /** How often the leader proposes session expiry, in ms. @default 10000 */
  readonly sessionExpiryIntervalMs?: number;
  readonly logger: Logger;
}

/** A node's consensus node and KV store, not yet started. */
export interface KvReplica {
  readonly node: KvNode;
  readonly store: KvStateMachine;
  /** SHA-256 of the store's snapshot and the index it has applied (the snapshot encoding is canonical, so equal states give equal digests). */
  stateHash(): { readonly hash: Uint8Array; readonly index: number };
  /** The log index of the latest snapshot in the node's storage (0 before the first). */
  snapshotIndex(): number;
  /** Starts the node and the leader's session expiry. */
  start(): void;
  /** Stops the session expiry and the node. */
  stop(): Promise<void>;
}

/**
 * The node (a RaftNode, or a MultiPaxosNode with `algorithm: 'paxos'`) with
 * the KV state machine that a Synod server runs, with its
 * events logged and, on the leader, session expiry proposed. The transport
 * is the caller's, started before `start` and closed after `stop`.
 *
 * @example
 * ```ts
 * const replica = createKvReplica({ nodeId: 'n1', clusterId: 'c', voters: ['n1', 'n2', 'n3'], transport, storage, defaultTimeoutMs: 5_000, logger });
 * await transport.start();
 * replica.start();
 * ```
 */
export function createKvReplica(options: KvReplicaOptions): KvReplica {
  const { logger } = options;
  const store = new KvStateMachine(options.kv);
  const node = createNode(options, store);
  const algorithm = options.algorithm ?? 'raft';
  node.on('error', ({ error }) => logger.error({ err: error }, `${algorithm} node error`));
  node.on('snapshot', ({ index, compactedTo, bytes }) => logger.info({ index, compactedTo, bytes }, 'snapshot taken'));
  node.on('membership', ({ index, confState }) => logger.info({ index, voters: confState.voters.join(',') }, 'configuration in effect'));
  node.on('leader', ({ leader, term }) => logger.info({ leader: leader ?? 'unknown', term }, 'leader changed'));
  let stopExpiry: (() => void) | undefined;
  return {
    node,
    store,
    stateHash: () => ({ hash: createHash('sha256').update(store.snapshot()).digest(), index: store.appliedIndex }),
    snapshotIndex: () => options.storage.snapshot().metadata.index,
    start() {
      node.start();
      stopExpiry = startSessionExpiry({
        node,
        store,
        intervalMs: options.sessionExpiryIntervalMs ?? 10_000,
        onError: (error) => logger.warn({ err: error }, 'session expiry proposal failed'),
      });
    },
    async stop() {
      stopExpiry?.();
      await node.stop();
    },
  };
}

/** The consensus node of {@link createKvReplica}. @throws InvalidArgumentError for an unknown algorithm or an option of the other one. */
function createNode(options: KvReplicaOptions, store: KvStateMachine): KvNode {
  const common = {
    clusterId: options.clusterId,
    transport: options.transport,
    storage: options.storage,
    stateMachine: store,
    ...(options.tickIntervalMs === undefined ? {} : { tickIntervalMs: options.tickIntervalMs }),
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
    ...(options.failureDetector === undefined ? {} : { failureDetector: options.failureDetector }),
    defaultTimeoutMs: options.defaultTimeoutMs,
  };
  const voters = [...options.voters].sort();
  switch (options.algorithm ?? 'raft') {
    case 'raft':
      if (options.paxos !== undefined) throw new InvalidArgumentError("paxos options given with algorithm 'raft'");
      return new RaftNode<KvResult, KvQuery, KvQueryResult>({
        ...common,
        raft: { ...options.raft, id: options.nodeId, voters },
        ...(options.toleratedLeaderPauseMs === undefined ? {} : { toleratedLeaderPauseMs: options.toleratedLeaderPauseMs }),
      });
    case 'paxos':
      if (options.raft !== undefined) throw new InvalidArgumentError("raft options given with algorithm 'paxos'");
      if (options.toleratedLeaderPauseMs !== undefined) throw new InvalidArgumentError("toleratedLeaderPauseMs is a Raft option; algorithm is 'paxos'");
      return new MultiPaxosNode<KvResult, KvQuery, KvQueryResult>({ ...common, paxos: { ...options.paxos, id: options.nodeId, voters } });
    default:
      throw new InvalidArgumentError(`algorithm must be 'raft' or 'paxos', got '${String(options.algorithm)}'`);
  }
}
