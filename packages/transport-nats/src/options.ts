import { readFileSync } from 'node:fs';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { InvalidArgumentError, silentLogger, systemClock, type Clock, type Logger, type NodeId, type ProtocolName } from '@synod/core';
import { raftPayloadCodec, type PayloadCodec } from '@synod/protocol';
import { CHUNK_HEADER_RESERVE } from './chunks.js';
import { assertSubjectToken } from './subjects.js';

/**
 * The members this node talks to, by id: an array or set of ids, or an
 * object or map keyed by id (its values are ignored, so the peer map of
 * `GrpcTransport` works too). Only members may send to this node.
 */
export type NatsPeers = readonly NodeId[] | ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown> | Readonly<Record<NodeId, unknown>>;

/**
 * How the node proves who it is to the NATS server. The server's
 * authorization (its users and their permissions) is what binds a node id to
 * the subjects it may use; see the package README.
 */
export type NatsAuth =
  /** A token the server's `authorization { token: ... }` expects. */
  | { readonly token: string }
  /** A user and password of the server's `authorization { users: [...] }`. */
  | { readonly user: string; readonly pass: string }
  /** The seed of an NKey user (`SU...`), as text or bytes; the server knows its public key. */
  | { readonly nkeySeed: string | Uint8Array }
  /** A credentials file (`.creds`: user JWT and NKey seed), for operator/JWT set-ups; read at every (re)connect. */
  | { readonly credentialsFile: string };

/** TLS to the NATS server. PEM text or files; with none of them, TLS with the system's CAs. */
export interface NatsTlsOptions {
  /** CA certificate(s) that sign the server's certificate (PEM). */
  readonly ca?: string;
  readonly caFile?: string;
  /** Client certificate and key (PEM), for servers that verify clients (`verify: true`). */
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: string;
  readonly keyFile?: string;
  /** Start TLS before the server's INFO (the server must set `handshake_first`). @default false */
  readonly handshakeFirst?: boolean;
  /** Check the server's certificate. Leave it on outside tests. @default true */
  readonly rejectUnauthorized?: boolean;
}

/** Reconnection to the NATS server; attempts never stop. */
export interface NatsReconnectOptions {
  /** Wait between attempts to one server, in ms. @default 500 */
  readonly timeWaitMs?: number;
  /** Upper bound of a random delay added to each wait, in ms, so restarted servers are not hit by every node at once. @default 500 */
  readonly jitterMs?: number;
  /** The same over TLS (whose handshakes cost the server more). @default 1000 */
  readonly jitterTlsMs?: number;
}

/** Options of {@link NatsTransport}. */
export interface NatsTransportOptions {
  /** This node's id; a subject token (letters, digits, `_`, `-`). */
  readonly localId: NodeId;
  /** The cluster id; a subject token. Every envelope must carry it. */
  readonly clusterId: string;
  /** The members this node talks to (see {@link NatsPeers}). Change it with `setPeers`. */
  readonly peers: NatsPeers;
  /**
   * NATS server URLs (`nats://host:4222`, `tls://host:4222` or `host:port`).
   * The transport opens and owns its own connection. Exactly one of
   * `servers` and `connection` is required.
   */
  readonly servers?: string | readonly string[];
  /**
   * A connection to share (for example with the client API on the same
   * node). The caller connects and closes it; the transport only subscribes
   * on it and publishes, and `close()` unsubscribes. Its reconnection policy
   * is the caller's: give it `maxReconnectAttempts: -1`.
   */
  readonly connection?: NatsConnection;
  /** Credentials, with `servers`. @default none */
  readonly auth?: NatsAuth;
  /** TLS, with `servers`. @default none (TLS only when the URL says `tls://` or the server requires it) */
  readonly tls?: NatsTlsOptions;
  /** Reconnection, with `servers`. */
  readonly reconnect?: NatsReconnectOptions;
  /** The connection's name in the server's monitoring. @default `synod-<clusterId>-<localId>` */
  readonly name?: string;
  /**
   * Client pings to the server, in ms; after 2 unanswered the connection is
   * declared stale and re-established. @default 10000
   */
  readonly pingIntervalMs?: number;
  /** How long `start` waits for the first connection, in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /**
   * The largest encoded envelope, in bytes, either way. Messages above the
   * server's `max_payload` go in chunks. @default 4194304 (4 MiB)
   */
  readonly maxMessageBytes?: number;
  /** Envelopes queued per peer (while disconnected, or within one turn of the event loop) before the oldest is dropped. @default 1024 */
  readonly sendQueueLength?: number;
  /** Bytes queued per peer before the oldest envelope is dropped; at least `maxMessageBytes`. @default max(16 MiB, maxMessageBytes) */
  readonly sendQueueBytes?: number;
  /**
   * A probe (a message sent with a reply subject) not answered within this
   * reports its peer unreachable, in ms. @default 2000
   */
  readonly ackTimeoutMs?: number;
  /** A chunked message not complete within this is dropped, in ms. @default 10000 */
  readonly reassemblyTimeoutMs?: number;
  /** The shortest interval between two unreachable reports about one peer, in ms. @default 1000 */
  readonly unreachableReportIntervalMs?: number;
  /** How long `close` waits for queued messages to reach the server, in ms. @default 1000 */
  readonly closeTimeoutMs?: number;
  /**
   * The protocols carried, each with its payload codec. Envelopes of other
   * protocols are refused by `send` and dropped on receipt.
   * @default { raft: raftPayloadCodec }
   */
  readonly payloadCodecs?: Readonly<Partial<Record<ProtocolName, PayloadCodec>>>;
  /** Timers of probes, reassembly and report intervals. @default systemClock */
  readonly clock?: Clock;
  /** Where refusals, permission errors and connection changes go. @default silentLogger */
  readonly logger?: Logger;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly maxMessageBytes: number;
  readonly sendQueueLength: number;
  readonly sendQueueBytes: number;
  readonly ackTimeoutMs: number;
  readonly reassemblyTimeoutMs: number;
  readonly unreachableReportIntervalMs: number;
  readonly closeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly payloadCodecs: ReadonlyMap<ProtocolName, PayloadCodec>;
  readonly clock: Clock;
  readonly logger: Logger;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RECONNECT: Required<NatsReconnectOptions> = Object.freeze({ timeWaitMs: 500, jitterMs: 500, jitterTlsMs: 1_000 });

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw new InvalidArgumentError(`${name} must be a positive integer, got ${resolved}`);
  return resolved;
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${resolved}`);
  return resolved;
}

/** Checks `options` and fills in the defaults. @throws InvalidArgumentError */
export function resolveOptions(options: NatsTransportOptions): ResolvedOptions {
  assertSubjectToken('localId', options.localId);
  assertSubjectToken('clusterId', options.clusterId);
  if ((options.servers === undefined) === (options.connection === undefined)) {
    throw new InvalidArgumentError('give exactly one of servers (the transport connects) and connection (a NatsConnection to share)');
  }
  if (options.connection !== undefined && (options.auth !== undefined || options.tls !== undefined || options.reconnect !== undefined)) {
    throw new InvalidArgumentError('auth, tls and reconnect configure a connection of the transport\'s own; with connection, set them where it is made');
  }
  const maxMessageBytes = positiveInteger('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES);
  if (maxMessageBytes > 0x7fffffff) throw new InvalidArgumentError(`maxMessageBytes must be below 2 GiB, got ${maxMessageBytes}`);
  const sendQueueBytes = positiveInteger('sendQueueBytes', options.sendQueueBytes, Math.max(16 * 1024 * 1024, maxMessageBytes));
  if (sendQueueBytes < maxMessageBytes) {
    throw new InvalidArgumentError(`sendQueueBytes (${sendQueueBytes}) must be at least maxMessageBytes (${maxMessageBytes})`);
  }
  const codecs = options.payloadCodecs ?? { raft: raftPayloadCodec };
  return {
    localId: options.localId,
    clusterId: options.clusterId,
    maxMessageBytes,
    sendQueueLength: positiveInteger('sendQueueLength', options.sendQueueLength, 1024),
    sendQueueBytes,
    ackTimeoutMs: positiveInteger('ackTimeoutMs', options.ackTimeoutMs, 2_000),
    reassemblyTimeoutMs: positiveInteger('reassemblyTimeoutMs', options.reassemblyTimeoutMs, 10_000),
    unreachableReportIntervalMs: positiveInteger('unreachableReportIntervalMs', options.unreachableReportIntervalMs, 1_000),
    closeTimeoutMs: positiveInteger('closeTimeoutMs', options.closeTimeoutMs, 1_000),
    connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5_000),
    payloadCodecs: new Map(Object.entries(codecs).filter((entry): entry is [string, PayloadCodec] => entry[1] !== undefined)),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
  };
}

/** The member ids of `peers`, without this node, each checked to be a subject token. */
export function peerIds(peers: NatsPeers, localId: NodeId): Set<NodeId> {
  let ids: Iterable<NodeId>;
  if (Array.isArray(peers) || peers instanceof Set) ids = peers as Iterable<NodeId>;
  else if (peers instanceof Map) ids = (peers as ReadonlyMap<NodeId, unknown>).keys();
  else ids = Object.keys(peers);
  const set = new Set<NodeId>();
  for (const id of ids) {
    assertSubjectToken('peer id', id);
    if (id !== localId) set.add(id);
  }
  return set;
}

/** The nats.js authenticator of `auth`. @throws InvalidArgumentError for an unknown shape */
export function authenticator(auth: NatsAuth): Authenticator {
  if ('token' in auth) return tokenAuthenticator(auth.token);
  if ('user' in auth) return usernamePasswordAuthenticator(auth.user, auth.pass);
  if ('nkeySeed' in auth) {
    const seed = typeof auth.nkeySeed === 'string' ? new TextEncoder().encode(auth.nkeySeed.trim()) : auth.nkeySeed;
    return nkeyAuthenticator(seed);
  }
  if ('credentialsFile' in auth) {
    const path = auth.credentialsFile;
    // Read at every (re)connect, so a rotated file is picked up without a restart.
    return credsAuthenticator(() => readFileSync(path));
  }
  throw new InvalidArgumentError('auth must be one of { token }, { user, pass }, { nkeySeed } or { credentialsFile }');
}

/** The nats.js options of the transport's own connection. */
export function connectionOptions(options: NatsTransportOptions, resolved: ResolvedOptions): NodeConnectionOptions {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...(options.servers ?? [])];
  if (servers.length === 0 || servers.some((server) => typeof server !== 'string' || server === '')) {
    throw new InvalidArgumentError('servers must name at least one NATS server URL');
  }
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  const connection: NodeConnectionOptions = {
    servers,
    name: options.name ?? `synod-${resolved.clusterId}-${resolved.localId}`,
    // Long-lived nodes never give up on the server; consensus retries what is lost meanwhile.
    maxReconnectAttempts: -1,
    reconnectTimeWait: nonNegativeInteger('reconnect.timeWaitMs', reconnect.timeWaitMs, DEFAULT_RECONNECT.timeWaitMs),
    reconnectJitter: nonNegativeInteger('reconnect.jitterMs', reconnect.jitterMs, DEFAULT_RECONNECT.jitterMs),
    reconnectJitterTLS: nonNegativeInteger('reconnect.jitterTlsMs', reconnect.jitterTlsMs, DEFAULT_RECONNECT.jitterTlsMs),
    pingInterval: positiveInteger('pingIntervalMs', options.pingIntervalMs, 10_000),
    maxPingOut: 2,
    timeout: resolved.connectTimeoutMs,
    // A node's own messages never come back to it.
    noEcho: true,
  };
  if (options.auth !== undefined) connection.authenticator = authenticator(options.auth);
  if (options.tls !== undefined) connection.tls = { ...options.tls };
  return connection;
}

/** The most payload one chunk carries under a server's `max_payload`. */
export function chunkBytes(maxPayload: number): number {
  return Math.max(1, maxPayload - CHUNK_HEADER_RESERVE);
}
