import {
  InvalidArgumentError,
  silentLogger,
  type KvStateMachine,
  type KvStateMachineOptions,
  type Logger,
  type NodeId,
  type RaftConfig,
  type SnapshotPolicy,
  type Storage,
} from '@synod/core';
import {
  createClusterHandlers,
  createKvHandlers,
  createKvReplica,
  KvWatchRegistry,
  MemberDirectory,
  type DetectionViewEntry,
  type FaultHooks,
  type ConsensusAlgorithm,
  type KvRaftNode,
  type KvReplicaOptions,
  type LeaderView,
} from '@synod/protocol';
import { serveApi, type ApiService } from '../api/api-service.js';
import { createWatchService, type WatchService } from '../api/watch-service.js';
import { NatsConnectError, NatsTransport } from '../nats-transport.js';
import { peerIds, type NatsPeers, type NatsTransportOptions } from '../options.js';
import { assertSubjectToken } from '../subjects.js';

/** Options of {@link createSynodNatsServer}. */
export interface SynodNatsServerOptions {
  /** This node's id; a subject token (letters, digits, `_`, `-`). */
  readonly nodeId: NodeId;
  /** The cluster id; a subject token, equal on every node. */
  readonly clusterId: string;
  /** The other voters (ids; the voters of a new cluster are this node plus these). */
  readonly peers: NatsPeers;
  /**
   * Join an existing cluster instead of founding one: start with no
   * configuration and wait until a member adds this node
   * (Cluster/AddMember); it then catches up from the leader's snapshot and
   * log. Ignored once the node has a configuration in `storage`. @default false
   */
  readonly join?: boolean;
  /** NATS server URLs. */
  readonly servers: string | readonly string[];
  /** Credentials, TLS, reconnection and the rest of the transport's options (see NatsTransportOptions). */
  readonly transport?: Partial<Omit<NatsTransportOptions, 'localId' | 'clusterId' | 'peers' | 'servers' | 'connection' | 'logger'>>;
  /** Where the Raft log and snapshots go; usually `await FileStorage.open(dir)`. The caller closes it after `stop()`. */
  readonly storage: Storage;
  /** Options of the KV state machine. Must be equal on every node. */
  readonly kv?: KvStateMachineOptions;
  readonly raft?: Omit<RaftConfig, 'id' | 'voters'>;
  /** Raft (default) or Multi-Paxos (`'paxos'`), equal on every node; see createKvReplica. @default 'raft' */
  readonly algorithm?: ConsensusAlgorithm;
  /** Multi-Paxos settings other than the id and voters, with `algorithm: 'paxos'`. */
  readonly paxos?: KvReplicaOptions['paxos'];
  /** Milliseconds per Raft tick. @default 100 */
  readonly tickIntervalMs?: number;
  /** Longest a client call waits for consensus, in ms (less when the request says so). @default 5000 */
  readonly defaultTimeoutMs?: number;
  readonly snapshots?: SnapshotPolicy | false;
  /** How often the leader proposes session expiry, in ms. @default 10000 */
  readonly sessionExpiryIntervalMs?: number;
  /** Bytes of events a slow watcher may leave unsent before its watch ends with WATCH_TOO_SLOW. @default 16777216 */
  readonly maxWatchBufferBytes?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Detector-assisted elections (the node's `failureDetector`), as in the gRPC server; one instance per node. @default none */
  readonly failureDetector?: KvReplicaOptions['failureDetector'];
  /** RaftNode's `toleratedLeaderPauseMs` (Raft only), for detector-assisted elections. @default half the minimum election timeout */
  readonly toleratedLeaderPauseMs?: number;
  /** This node's failure-detector view for Cluster/Status (`swim_members`), as in the gRPC server. @default none */
  readonly detectionView?: () => readonly DetectionViewEntry[];
  /**
   * For demos and fault-injection tests only: wrap the peer transport in
   * these hooks and serve Cluster/SetLinkFaults with them, as in the gRPC
   * server. @default none (SetLinkFaults fails with FAILED_PRECONDITION)
   */
  readonly faultHooks?: FaultHooks;
}

/** One Synod node over NATS; see {@link createSynodNatsServer}. */
export interface SynodNatsServer {
  readonly nodeId: NodeId;
  readonly node: KvRaftNode;
  readonly store: KvStateMachine;
  readonly transport: NatsTransport;
  /** Watches this node serves now. */
  readonly watchCount: number;
  /** Connects, subscribes (peer and API subjects) and starts the node. @throws NatsConnectError */
  start(): Promise<void>;
  /**
   * Stops serving clients, stops the node and closes the connection.
   * Idempotent. The storage stays open. `graceMs` is accepted so that code
   * written for `SynodServer.stop(graceMs)` works unchanged; here the
   * transport's `closeTimeoutMs` bounds how long queued messages may take to
   * reach the server.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Creates one Synod node that talks through NATS: its peers over
 * {@link NatsTransport}, and clients over request/reply on the same
 * connection. Requests to `synod-api.<cluster>.<Service>.<Method>` go to one
 * node of the cluster's queue group; writes and linearizable reads on a
 * follower are forwarded to the leader by Raft. The messages are those of
 * the gRPC API (`synod.kv.v1`, `synod.cluster.v1`); `SynodNatsClient` is
 * the matching client. Watches stream on `synod-watch.<cluster>.<id>` with
 * flow control and heartbeats (see the README's Watch section).
 *
 * @example
 * ```ts
 * import { FileStorage } from '@synod/core';
 * import { createSynodNatsServer } from '@synod/transport-nats';
 *
 * const storage = await FileStorage.open('./data/n1');
 * const server = createSynodNatsServer({
 *   nodeId: 'n1', clusterId: 'prod', peers: ['n2', 'n3'],
 *   servers: 'nats://127.0.0.1:4222', storage,
 * });
 * await server.start();
 * // … on SIGTERM:
 * await server.stop();
 * await storage.close();
 * ```
 */
export function createSynodNatsServer(options: SynodNatsServerOptions): SynodNatsServer {
  const logger = options.logger ?? silentLogger;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 5_000;
  if (!Number.isSafeInteger(defaultTimeoutMs) || defaultTimeoutMs <= 0) {
    throw new InvalidArgumentError(`defaultTimeoutMs must be a positive integer, got ${defaultTimeoutMs}`);
  }
  const peers = peerIds(options.peers, options.nodeId);
  const transport = new NatsTransport({
    ...options.transport,
    localId: options.nodeId,
    clusterId: options.clusterId,
    peers,
    servers: options.servers,
    logger,
  } as NatsTransportOptions);
  const replica = createKvReplica({
    nodeId: options.nodeId,
    clusterId: options.clusterId,
    voters: options.join === true ? [] : [options.nodeId, ...peers],
    transport: options.faultHooks?.wrap(transport) ?? transport,
    storage: options.storage,
    ...(options.kv === undefined ? {} : { kv: options.kv }),
    ...(options.raft === undefined ? {} : { raft: options.raft }),
    ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
    ...(options.paxos === undefined ? {} : { paxos: options.paxos }),
    ...(options.tickIntervalMs === undefined ? {} : { tickIntervalMs: options.tickIntervalMs }),
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
    ...(options.sessionExpiryIntervalMs === undefined ? {} : { sessionExpiryIntervalMs: options.sessionExpiryIntervalMs }),
    ...(options.failureDetector === undefined ? {} : { failureDetector: options.failureDetector }),
    ...(options.toleratedLeaderPauseMs === undefined ? {} : { toleratedLeaderPauseMs: options.toleratedLeaderPauseMs }),
    defaultTimeoutMs,
    logger,
  });
  const { node, store } = replica;
  const leaderView = (): LeaderView => ({ leaderId: node.status().leader, leaderEndpoint: undefined });
  const kv = createKvHandlers(node, store);
  // Over NATS a member's id is its route: members added later become peers as their change applies.
  const directory = new MemberDirectory({
    node,
    configured: new Map([...peers].map((id) => [id, ''])),
    logger,
    onPeers: (next) => transport.setPeers([...next.keys()]),
  });
  const cluster = createClusterHandlers({
    node,
    defaultTimeoutMs,
    addressOf: (id) => directory.addressOf(id),
    // Nodes reach each other by id; an address, if given, is replicated for Status only.
    memberAddress: ({ id, address }) => {
      assertSubjectToken('member.id', id);
      return address;
    },
    stateHash: replica.stateHash,
    snapshotIndex: replica.snapshotIndex,
    faultHooks: options.faultHooks,
    ...(options.detectionView === undefined ? {} : { detectionView: options.detectionView }),
  });

  const registry = new KvWatchRegistry();
  let watches: WatchService | undefined;
  let api: ApiService | undefined;
  let started: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  return {
    nodeId: options.nodeId,
    node,
    store,
    transport,
    get watchCount() {
      return watches?.size ?? 0;
    },
    start() {
      started ??= (async () => {
        await transport.start();
        const connection = transport.connection!;
        watches = createWatchService(connection, {
          clusterId: options.clusterId,
          nodeId: options.nodeId,
          store,
          registry,
          header: kv.header,
          maxWatchBufferBytes: options.maxWatchBufferBytes ?? 16 * 1024 * 1024,
          logger,
          leaderView,
        });
        api = serveApi(connection, { clusterId: options.clusterId, nodeId: options.nodeId, kv, cluster, watches, defaultTimeoutMs, logger, leaderView });
        try {
          await api.ready();
        } catch (error) {
          api.stop();
          await transport.close();
          throw new NatsConnectError(error instanceof Error ? error.message : String(error), [connection.getServer()], { cause: error });
        }
        replica.start();
        directory.start();
        logger.info({ node: options.nodeId, server: connection.getServer() }, 'synod server started');
      })();
      return started;
    },
    stop(_graceMs?: number) {
      stopping ??= (async () => {
        await started?.catch(() => undefined);
        // Watchers hear STOPPED and resume on another member.
        registry.closeAll();
        watches?.stop();
        api?.stop();
        directory.stop();
        await replica.stop();
        await transport.close();
        logger.info({ node: options.nodeId }, 'synod server stopped');
      })();
      return stopping;
    },
  };
}
