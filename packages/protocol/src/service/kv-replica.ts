import { createHash } from 'node:crypto';
import {
  KvStateMachine,
  RaftNode,
  startSessionExpiry,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
  type KvStateMachineOptions,
  type FailureDetector,
  type Logger,
  type NodeId,
  type RaftConfig,
  type SnapshotPolicy,
  type Storage,
  type Transport,
} from '@synod/core';
import type { KvRaftNode } from './kv-handlers.js';

/** Options of {@link createKvReplica}: what every Synod server builds its node from, whatever its transport. */
export interface KvReplicaOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  /** Every voter of a new cluster, this node included. */
  readonly voters: readonly NodeId[];
  readonly transport: Transport;
  readonly storage: Storage;
  readonly kv?: KvStateMachineOptions;
  readonly raft?: Omit<RaftConfig, 'id' | 'voters'>;
  /** Detector-assisted elections (RaftNode's `failureDetector`); one instance per node. @default none */
  readonly failureDetector?: FailureDetector;
  /** RaftNode's `toleratedLeaderPauseMs`. @default RaftNode's */
  readonly toleratedLeaderPauseMs?: number;
  readonly tickIntervalMs?: number;
  readonly snapshots?: SnapshotPolicy | false;
  readonly defaultTimeoutMs: number;
  /** How often the leader proposes session expiry, in ms. @default 10000 */
  readonly sessionExpiryIntervalMs?: number;
  readonly logger: Logger;
}

/** A node's RaftNode and KV store, not yet started. */
export interface KvReplica {
  readonly node: KvRaftNode;
  readonly store: KvStateMachine;
  /** SHA-256 of the store's snapshot and the index it has applied (the snapshot encoding is canonical, so equal states give equal digests). */
  stateHash(): { readonly hash: Uint8Array; readonly index: number };
  /** Starts the node and the leader's session expiry. */
  start(): void;
  /** Stops the session expiry and the node. */
  stop(): Promise<void>;
}

/**
 * The RaftNode with the KV state machine that a Synod server runs, with its
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
  const node: KvRaftNode = new RaftNode<KvResult, KvQuery, KvQueryResult>({
    raft: { ...options.raft, id: options.nodeId, voters: [...options.voters].sort() },
    clusterId: options.clusterId,
    transport: options.transport,
    storage: options.storage,
    stateMachine: store,
    ...(options.tickIntervalMs === undefined ? {} : { tickIntervalMs: options.tickIntervalMs }),
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
    ...(options.failureDetector === undefined ? {} : { failureDetector: options.failureDetector }),
    ...(options.toleratedLeaderPauseMs === undefined ? {} : { toleratedLeaderPauseMs: options.toleratedLeaderPauseMs }),
    defaultTimeoutMs: options.defaultTimeoutMs,
  });
  node.on('error', ({ error }) => logger.error({ err: error }, 'raft node error'));
  node.on('snapshot', ({ index, compactedTo, bytes }) => logger.info({ index, compactedTo, bytes }, 'snapshot taken'));
  node.on('membership', ({ index, confState }) => logger.info({ index, voters: confState.voters.join(',') }, 'configuration in effect'));
  node.on('leader', ({ leader, term }) => logger.info({ leader: leader ?? 'unknown', term }, 'leader changed'));
  let stopExpiry: (() => void) | undefined;
  return {
    node,
    store,
    stateHash: () => ({ hash: createHash('sha256').update(store.snapshot()).digest(), index: store.appliedIndex }),
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
