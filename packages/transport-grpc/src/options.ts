import type * as grpc from '@grpc/grpc-js';
import {
  InvalidArgumentError,
  silentLogger,
  systemClock,
  systemRandom,
  type Clock,
  type Logger,
  type NodeId,
  type ProtocolName,
  type Random,
} from '@synod/core';
import { raftPayloadCodec, type PayloadCodec } from '@synod/protocol';
import type { BackoffOptions } from './backoff.js';
import { FRAME_OVERHEAD_BYTES } from './frames.js';
import { assertIdentitySegment } from './identity.js';
import { validateSecurity, type GrpcSecurity } from './security.js';

/** Peers by node id, each with the `host:port` its peer service listens on. */
export type PeerAddresses = Readonly<Record<NodeId, string>> | ReadonlyMap<NodeId, string>;

/**
 * HTTP/2 keepalive of peer connections. The defaults suit a cluster whose
 * nodes are all Synod (grpc-js servers do not police pings). A gRPC server
 * of another implementation in front of the peer service must allow pings
 * this often while a stream is open: grpc-go
 * `keepalive.EnforcementPolicy{MinTime: ≤ timeMs}`, grpc-java
 * `permitKeepAliveTime(≤ timeMs)`, gRPC core
 * `grpc.http2.min_ping_interval_without_data_ms ≤ timeMs`; if it does not,
 * it answers GOAWAY `too_many_pings` and grpc-js doubles the interval, as
 * gRFC A8 asks.
 */
export interface KeepaliveOptions {
  /**
   * Ping a connection after this long without reading anything, in ms.
   * Never below 10 000, the floor grpc-go's client enforces.
   * @default 30000
   */
  readonly timeMs?: number;
  /** Close the connection when a ping is not answered within this, in ms. @default 10000 */
  readonly timeoutMs?: number;
}

/** Options of {@link GrpcTransport}. */
export interface GrpcTransportOptions {
  /** This node's id. With TLS it must match the node id in `security.tls.cert`. */
  readonly localId: NodeId;
  /** The cluster every envelope and handshake must carry. */
  readonly clusterId: string;
  /**
   * The members this node may talk to, by id, with the `host:port` of each
   * one's peer service. Only they may connect; an entry for `localId` is
   * ignored. Change it with {@link GrpcTransport.setPeers}.
   */
  readonly peers: PeerAddresses;
  /** Mutual TLS, or plaintext with `{ insecure: true }`. Required. */
  readonly security: GrpcSecurity;
  /**
   * A grpc-js server to host the peer service on, next to other services.
   * The transport only registers the service; the caller binds it (with
   * {@link createServerCredentials} of the same `security`, and
   * {@link createPeerServerOptions} for its options) and starts it.
   * Exactly one of `server` and `listen` is required.
   */
  readonly server?: grpc.Server;
  /**
   * `host:port` for a server of the transport's own, bound and started by
   * {@link GrpcTransport.start}. Port 0 picks a free port; read it from
   * {@link GrpcTransport.boundAddress}.
   */
  readonly listen?: string;
  /** The largest encoded envelope, in bytes, either way. @default 4194304 (4 MiB, gRPC's default) */
  readonly maxMessageBytes?: number;
  /** Envelopes queued per peer before the oldest is dropped. @default 1024 */
  readonly sendQueueLength?: number;
  /** Bytes queued per peer before the oldest envelope is dropped; at least `maxMessageBytes`. @default 16777216 (16 MiB) */
  readonly sendQueueBytes?: number;
  /** Reconnect delays (capped exponential, full jitter). @default { initialMs: 100, maxMs: 5000, multiplier: 2 } */
  readonly backoff?: BackoffOptions;
  /** HTTP/2 keepalive. @default { timeMs: 30000, timeoutMs: 10000 } */
  readonly keepalive?: KeepaliveOptions;
  /** Time allowed for a dial and handshake (or an accepted stream's Hello), in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** How long {@link GrpcTransport.close} lets queued envelopes drain before it cancels, in ms. @default 1000 */
  readonly closeTimeoutMs?: number;
  /**
   * The shortest interval between two unreachable reports about one peer, in
   * ms; a peer with no open stream for longer than `connectTimeoutMs` is
   * reported when sent to, at most this often.
   * @default 1000
   */
  readonly unreachableReportIntervalMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Jitter of the reconnect backoff. @default systemRandom */
  readonly random?: Random;
  /** Where refusals, reconnects and the plaintext warning go. @default silentLogger */
  readonly logger?: Logger;
  /**
   * The protocols this transport carries, each with the codec of its
   * payloads. Envelopes of any other protocol are refused at `send` and, from
   * the wire, end the stream with INVALID_ARGUMENT. `bytesPayloadCodec`
   * carries `Uint8Array` payloads as they are.
   * @default { raft: raftPayloadCodec }
   */
  readonly payloadCodecs?: Readonly<Partial<Record<ProtocolName, PayloadCodec>>>;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly security: GrpcSecurity;
  readonly maxMessageBytes: number;
  readonly sendQueueLength: number;
  readonly sendQueueBytes: number;
  readonly backoff: BackoffOptions;
  readonly keepalive: Required<KeepaliveOptions>;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly unreachableReportIntervalMs: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly payloadCodecs: ReadonlyMap<ProtocolName, PayloadCodec>;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_KEEPALIVE: Required<KeepaliveOptions> = Object.freeze({ timeMs: 30_000, timeoutMs: 10_000 });
/** grpc-go's client refuses keepalive times below this; staying above keeps one setting valid everywhere. */
const MIN_KEEPALIVE_TIME_MS = 10_000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got ${resolved}`);
  return resolved;
}

function resolveKeepalive(keepalive: KeepaliveOptions | undefined): Required<KeepaliveOptions> {
  const timeMs = positiveInteger('keepalive.timeMs', keepalive?.timeMs, DEFAULT_KEEPALIVE.timeMs);
  const timeoutMs = positiveInteger('keepalive.timeoutMs', keepalive?.timeoutMs, DEFAULT_KEEPALIVE.timeoutMs);
  if (timeMs < MIN_KEEPALIVE_TIME_MS) throw new InvalidArgumentError(`keepalive.timeMs must be at least ${MIN_KEEPALIVE_TIME_MS}, got ${timeMs}`);
  return { timeMs, timeoutMs };
}

/** Checks `options` and fills in the defaults. @throws InvalidArgumentError */
export function resolveOptions(options: GrpcTransportOptions): ResolvedOptions {
  if (typeof options.localId !== 'string' || options.localId === '') throw new InvalidArgumentError('localId must be a non-empty string');
  if (typeof options.clusterId !== 'string' || options.clusterId === '') throw new InvalidArgumentError('clusterId must be a non-empty string');
  const security = validateSecurity(options.security);
  if ('tls' in security) {
    assertIdentitySegment('cluster id', options.clusterId);
    assertIdentitySegment('node id', options.localId);
  }
  if ((options.server === undefined) === (options.listen === undefined)) {
    throw new InvalidArgumentError('give exactly one of server (a grpc.Server to share) and listen (host:port for a server of its own)');
  }
  const maxMessageBytes = positiveInteger('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  // Frames must fit in a protobuf length and in gRPC's 32-bit message size.
  if (maxMessageBytes > 0x7fffffff - FRAME_OVERHEAD_BYTES) throw new InvalidArgumentError(`maxMessageBytes must be below 2 GiB, got ${maxMessageBytes}`);
  const sendQueueBytes = positiveInteger('sendQueueBytes', options.sendQueueBytes, Math.max(16 * 1024 * 1024, maxMessageBytes));
  if (sendQueueBytes < maxMessageBytes) {
    throw new InvalidArgumentError(`sendQueueBytes (${sendQueueBytes}) must be at least maxMessageBytes (${maxMessageBytes})`);
  }
  const codecs = options.payloadCodecs ?? { raft: raftPayloadCodec };
  return {
    localId: options.localId,
    clusterId: options.clusterId,
    security,
    maxMessageBytes,
    sendQueueLength: positiveInteger('sendQueueLength', options.sendQueueLength, 1024),
    sendQueueBytes,
    backoff: options.backoff ?? {},
    keepalive: resolveKeepalive(options.keepalive),
    connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5_000),
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, 1_000),
    unreachableReportIntervalMs: positiveInteger('unreachableReportIntervalMs', options.unreachableReportIntervalMs, 1_000),
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    logger: options.logger ?? silentLogger,
    payloadCodecs: new Map(Object.entries(codecs).filter((entry): entry is [string, PayloadCodec] => entry[1] !== undefined)),
  };
}

/** The largest frame a peer may send: one envelope of `maxMessageBytes` plus framing. */
export function frameLimit(maxMessageBytes: number): number {
  return maxMessageBytes + FRAME_OVERHEAD_BYTES;
}

/**
 * The receive limit handed to gRPC: twice the frame limit. The transport
 * checks frames against the frame limit itself, so that a frame a little too
 * large ends the stream with RESOURCE_EXHAUSTED and a log line of its own;
 * gRPC's limit stays as the hard cap on what is buffered, against frames far
 * too large (grpc-js then sends RESOURCE_EXHAUSTED itself).
 */
export function grpcReceiveLimit(maxMessageBytes: number): number {
  return Math.min(2 * frameLimit(maxMessageBytes), 0x7fffffff);
}

/** Options of {@link createPeerServerOptions}. */
export interface PeerServerOptionsInput {
  /** The transport's `maxMessageBytes`. @default 4194304 */
  readonly maxMessageBytes?: number;
  /** The transport's `keepalive`. */
  readonly keepalive?: KeepaliveOptions;
}

/**
 * The grpc-js server options a server hosting the peer service needs: the
 * message size limits of the transport's frames (an envelope plus framing)
 * and the keepalive. Pass them to `new grpc.Server(...)` when you give the
 * transport a `server`, merged with your own.
 *
 * @example
 * ```ts
 * const server = new grpc.Server({ ...createPeerServerOptions({ maxMessageBytes }), 'grpc.max_concurrent_streams': 1000 });
 * ```
 */
export function createPeerServerOptions(input: PeerServerOptionsInput = {}): grpc.ServerOptions {
  const maxMessageBytes = positiveInteger('maxMessageBytes', input.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  const keepalive = resolveKeepalive(input.keepalive);
  return {
    'grpc.max_receive_message_length': grpcReceiveLimit(maxMessageBytes),
    'grpc.max_send_message_length': frameLimit(maxMessageBytes),
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    // Channelz (grpc-js's introspection service) is never served here, but
    // while enabled grpc-js keeps statistics anyway: counters and a clock
    // read for every message of the peer stream and every call.
    'grpc.enable_channelz': 0,
  };
}

/** The channel options of a dialed peer connection. */
export function peerChannelOptions(options: ResolvedOptions): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': grpcReceiveLimit(options.maxMessageBytes),
    'grpc.max_send_message_length': frameLimit(options.maxMessageBytes),
    'grpc.keepalive_time_ms': options.keepalive.timeMs,
    'grpc.keepalive_timeout_ms': options.keepalive.timeoutMs,
    // The stream is always open while connected, so pings are never needed
    // without a call; 0 also matches the servers' default of refusing them.
    'grpc.keepalive_permit_without_calls': 0,
    // Each dial gets a fresh channel of its own: the transport's backoff,
    // not grpc-js's shared subchannel pool, decides when to reconnect.
    'grpc.use_local_subchannel_pool': 1,
    // A stream has no retry semantics; do not buffer its messages for one.
    'grpc.enable_retries': 0,
    // No channelz statistics (counters and a clock read) for every frame.
    'grpc.enable_channelz': 0,
    // Peers check the node id in the certificate, not the host name, so the
    // TLS server name need not be the dialled host; a fixed name also keeps
    // Node from sending an IP address as SNI, which RFC 6066 forbids.
    ...('tls' in options.security ? { 'grpc.ssl_target_name_override': 'synod-peer' } : {}),
  };
}

/** Peer addresses as a map, without this node's own entry. */
export function peerMap(peers: PeerAddresses, localId: NodeId): Map<NodeId, string> {
  const entries = peers instanceof Map ? [...(peers as ReadonlyMap<NodeId, string>).entries()] : Object.entries(peers as Readonly<Record<NodeId, string>>);
  const map = new Map<NodeId, string>();
  for (const [id, address] of entries) {
    if (typeof address !== 'string' || address === '') throw new InvalidArgumentError(`peer ${id} needs a host:port address`);
    if (id !== localId) map.set(id, address);
  }
  return map;
}
