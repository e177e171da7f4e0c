import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  InvalidArgumentError,
  silentLogger,
  type KvStateMachine,
  type KvStateMachineOptions,
  type FailureDetector,
  type Logger,
  type NodeId,
  type RaftConfig,
  type SnapshotPolicy,
  type Storage,
} from '@synod/core';
import {
  clusterV1,
  createKvReplica,
  kvV1,
  MemberDirectory,
  type ConsensusAlgorithm,
  type DetectionViewEntry,
  type FaultHooks,
  type KvRaftNode,
  type KvReplicaOptions,
  type LeaderView,
} from '@synod/protocol';
import { HealthImplementation } from 'grpc-health-check';
import { GrpcTransport } from '../grpc-transport.js';
import { createPeerServerOptions, peerMap, type GrpcTransportOptions, type PeerAddresses } from '../options.js';
import { createServerCredentials, type GrpcSecurity } from '../security.js';
import { createClusterService } from './cluster-service.js';
import { createKvService } from './kv-service.js';
import { loadServedDefinitions } from './proto-files.js';
import { tolerantService } from './tolerant-service.js';

/** The health service names a Synod server reports. */
export const HEALTH_SERVICES = {
  /** The server as a whole: SERVING from start until stop. */
  server: '',
  /** KV: SERVING while this node knows a leader (so writes can be served), NOT_SERVING otherwise. */
  kv: 'synod.kv.v1.KV',
  /** Cluster: SERVING from start until stop. */
  cluster: 'synod.cluster.v1.Cluster',
} as const;

/** Options of {@link createSynodServer}. */
export interface SynodServerOptions {
  /** This node's id. With TLS it must be the node id in `security.tls.cert`. */
  readonly nodeId: NodeId;
  /** The cluster id: every peer and every envelope must carry it. */
  readonly clusterId: string;
  /** `host:port` the one port of this node binds (peers and clients alike). Port 0 picks a free one. */
  readonly listen: string;
  /**
   * The other voters by id, each with its `host:port`. The voters of a new
   * cluster are this node plus these; the address is also what followers
   * hand clients as the leader's endpoint.
   */
  readonly peers: PeerAddresses;
  /**
   * Join an existing cluster instead of founding one: start with no
   * configuration (`peers` only say where members are) and wait until a
   * member adds this node (Cluster/AddMember); it then catches up from the
   * leader's snapshot and log. Ignored once the node has a configuration of
   * its own in `storage`. @default false
   */
  readonly join?: boolean;
  /** Mutual TLS (`{ tls: { cert, key, ca } }`) or plaintext spelled out (`{ insecure: true }`). */
  readonly security: GrpcSecurity;
  /** Where the Raft log and snapshots go; usually `await FileStorage.open(dir)`. The caller closes it after `stop()`. */
  readonly storage: Storage;
  /** Options of the KV state machine (limits, session TTL, watch history). Must be equal on every node. */
  readonly kv?: KvStateMachineOptions;
  /** Raft settings other than the id and voters. */
  readonly raft?: Omit<RaftConfig, 'id' | 'voters'>;
  /** Raft (default) or Multi-Paxos (`'paxos'`), equal on every node; see createKvReplica. @default 'raft' */
  readonly algorithm?: ConsensusAlgorithm;
  /** Multi-Paxos settings other than the id and voters, with `algorithm: 'paxos'`. */
  readonly paxos?: KvReplicaOptions['paxos'];
  /**
   * Detector-assisted elections: followers feed this detector with the
   * leader's heartbeats and campaign early once it suspects the leader (see
   * RaftNode's `failureDetector`). One instance per node. @default none
   */
  readonly failureDetector?: FailureDetector;
  /** RaftNode's `toleratedLeaderPauseMs`, for detector-assisted elections. @default half the minimum election timeout */
  readonly toleratedLeaderPauseMs?: number;
  /** Milliseconds per Raft tick. @default 100 */
  readonly tickIntervalMs?: number;
  /** Longest a client call waits for consensus when its own deadline is later or unset, in ms. @default 5000 */
  readonly defaultTimeoutMs?: number;
  /** Automatic snapshots; see RaftNode. @default RaftNode's */
  readonly snapshots?: SnapshotPolicy | false;
  /** How often the leader proposes session expiry, in ms. @default 10000 */
  readonly sessionExpiryIntervalMs?: number;
  /** Bytes of events a slow watcher may leave unsent before its stream ends with RESOURCE_EXHAUSTED. @default 16777216 */
  readonly maxWatchBufferBytes?: number;
  /** Largest message either way, for peers and clients, in bytes. @default 4194304 */
  readonly maxMessageBytes?: number;
  /** Options passed through to the peer transport (backoff, keepalive, timeouts, payload codecs). */
  readonly transport?: Partial<Omit<GrpcTransportOptions, 'localId' | 'clusterId' | 'peers' | 'security' | 'server' | 'listen' | 'logger' | 'maxMessageBytes'>>;
  /** Where the server, the transport and failed calls log. @default silentLogger */
  readonly logger?: Logger;
  /**
   * This node's failure-detector view for Cluster/Status (`swim_members`):
   * every member with its SWIM state, incarnation and phi, read on each
   * Status call. `synod serve` passes its SWIM's view. @default none
   */
  readonly detectionView?: () => readonly DetectionViewEntry[];
  /**
   * For demos and fault-injection tests only: wrap the peer transport in
   * these hooks (the node gets `faultHooks.wrap(transport)`) and serve
   * Cluster/SetLinkFaults with them. Without them that call fails with
   * FAILED_PRECONDITION. @default none
   */
  readonly faultHooks?: FaultHooks;
}

/** One Synod node on one gRPC port; see {@link createSynodServer}. */
export interface SynodServer {
  readonly nodeId: NodeId;
  /** The Raft node (for its status and events). */
  readonly node: KvRaftNode;
  /** The node's replica of the KV store. */
  readonly store: KvStateMachine;
  readonly transport: GrpcTransport;
  /** `host:port` the server is bound to (the real port after `listen` asked for 0); set by `start`. */
  readonly boundAddress: string | undefined;
  /** Binds the port and starts the node. */
  start(): Promise<void>;
  /** Updates peer addresses (the same ids; say, after they were bound to port 0). */
  setPeers(peers: PeerAddresses): void;
  /**
   * Stops cleanly: health turns NOT_SERVING, watches end with UNAVAILABLE so
   * their clients resume elsewhere, the node stops, the transport drains, and
   * the server lets running calls finish for up to `graceMs`. Idempotent. The
   * storage stays open; it belongs to the caller.
   */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Creates one Synod node serving, on one port: the peer stream of
 * {@link GrpcTransport}, `synod.kv.v1.KV`, `synod.cluster.v1.Cluster`,
 * `grpc.health.v1.Health` and server reflection (v1 and v1alpha).
 *
 * Any node answers clients. Writes and linearizable reads on a follower are
 * forwarded to the leader by Raft itself; when no leader is known the call
 * fails with UNAVAILABLE, the leader hint in the `synod-leader-id` and
 * `synod-leader-endpoint` trailers and in a `google.rpc.ErrorInfo` detail.
 *
 * @example
 * ```ts
 * import { FileStorage } from '@synod/core';
 * import { createSynodServer } from '@synod/transport-grpc';
 *
 * const storage = await FileStorage.open('./data/n1');
 * const server = createSynodServer({
 *   nodeId: 'n1', clusterId: 'prod', listen: '127.0.0.1:7001',
 *   peers: { n2: '127.0.0.1:7002', n3: '127.0.0.1:7003' },
 *   security: { insecure: true }, storage,
 * });
 * await server.start();
 * // … on SIGTERM:
 * await server.stop();
 * await storage.close();
 * ```
 */
export function createSynodServer(options: SynodServerOptions): SynodServer {
  const logger = options.logger ?? silentLogger;
  const maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const peers = peerMap(options.peers, options.nodeId);
  if (typeof options.listen !== 'string' || !/:\d+$/.test(options.listen)) {
    throw new InvalidArgumentError(`listen must be host:port, got '${String(options.listen)}'`);
  }
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 5_000;
  // The peer server options turn channelz off too: grpc-js would otherwise
  // keep per-call statistics (a tracker with four closures and clock reads)
  // for every KV call.
  const server = new grpc.Server(
    createPeerServerOptions({ maxMessageBytes, ...(options.transport?.keepalive ? { keepalive: options.transport.keepalive } : {}) }),
  );
  const transport = new GrpcTransport({
    ...options.transport,
    localId: options.nodeId,
    clusterId: options.clusterId,
    peers,
    security: options.security,
    server,
    maxMessageBytes,
    logger,
  });
  const replica = createKvReplica({
    nodeId: options.nodeId,
    clusterId: options.clusterId,
    voters: options.join === true ? [] : [options.nodeId, ...peers.keys()],
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

  let boundAddress: string | undefined;
  // Members added later are reached at the address replicated with their change.
  const directory = new MemberDirectory({
    node,
    configured: peers,
    logger,
    onPeers: (next) => transport.setPeers(Object.fromEntries([...next].filter(([, address]) => address !== ''))),
  });
  const addressOf = (id: NodeId): string | undefined => (id === options.nodeId ? (boundAddress ?? options.listen) : directory.addressOf(id));
  const leaderView = (): LeaderView => {
    const leaderId = node.status().leader;
    return { leaderId, leaderEndpoint: leaderId === undefined ? undefined : addressOf(leaderId) };
  };

  const kv = createKvService({
    node,
    store,
    logger,
    defaultTimeoutMs,
    maxWatchBufferBytes: options.maxWatchBufferBytes ?? 16 * 1024 * 1024,
    leaderView,
  });
  server.addService(tolerantService(kvV1.KVService), kv.service);
  server.addService(tolerantService(clusterV1.ClusterService), createClusterService({
      node,
      logger,
      defaultTimeoutMs,
      addressOf,
      memberAddress: ({ id, address }) => {
        if (!/^[^\s]+:\d{1,5}$/.test(address)) throw new InvalidArgumentError(`member.address of ${id} must be host:port (where the new member listens), got '${address}'`);
        return address;
      },
      leaderView,
      stateHash: replica.stateHash,
      snapshotIndex: replica.snapshotIndex,
      faultHooks: options.faultHooks,
      ...(options.detectionView === undefined ? {} : { detectionView: options.detectionView }),
    }));
  const health = new HealthImplementation({
    [HEALTH_SERVICES.server]: 'NOT_SERVING',
    [HEALTH_SERVICES.kv]: 'NOT_SERVING',
    [HEALTH_SERVICES.cluster]: 'NOT_SERVING',
  });
  health.addToServer(server);
  new ReflectionService(loadServedDefinitions()).addToServer(server);

  let started = false;
  let stopping: Promise<void> | undefined;
  node.on('leader', ({ leader }) => {
    if (started && stopping === undefined) health.setStatus(HEALTH_SERVICES.kv, leader === undefined ? 'NOT_SERVING' : 'SERVING');
  });

  return {
    nodeId: options.nodeId,
    node,
    store,
    transport,
    get boundAddress() {
      return boundAddress;
    },
    async start() {
      if (started) return;
      started = true;
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(options.listen, createServerCredentials(options.security), (error, bound) => (error ? reject(error) : resolve(bound)));
      });
      boundAddress = `${options.listen.slice(0, options.listen.lastIndexOf(':'))}:${port}`;
      await transport.start();
      replica.start();
      directory.start();
      health.setStatus(HEALTH_SERVICES.server, 'SERVING');
      health.setStatus(HEALTH_SERVICES.cluster, 'SERVING');
      health.setStatus(HEALTH_SERVICES.kv, node.status().leader === undefined ? 'NOT_SERVING' : 'SERVING');
      logger.info({ node: options.nodeId, address: boundAddress }, 'synod server started');
    },
    setPeers(next) {
      const map = peerMap(next, options.nodeId);
      for (const [id, address] of map) peers.set(id, address);
      directory.setConfigured(peers);
    },
    stop(graceMs = 2_000) {
      stopping ??= (async () => {
        for (const name of Object.values(HEALTH_SERVICES)) health.setStatus(name, 'NOT_SERVING');
        kv.closeWatches();
        directory.stop();
        await replica.stop();
        await transport.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, graceMs);
          force.unref();
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        logger.info({ node: options.nodeId }, 'synod server stopped');
      })();
      return stopping;
    },
  };
}
