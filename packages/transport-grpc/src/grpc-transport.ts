import * as grpc from '@grpc/grpc-js';
import {
  checkOutgoingEnvelope,
  MessageTooLargeError,
  TransportClosedError,
  type Envelope,
  type EnvelopeHandler,
  type NodeId,
  type ProtocolName,
  type Transport,
  type UnreachableListener,
} from '@synod/core';
import { createEnvelopeCodec, type EnvelopeCodec, type PayloadCodec } from '@synod/protocol';
import { Acceptor } from './acceptor.js';
import { PeerDialer } from './dialer.js';
import { decodeFrameOrReject, isRejection, STREAM_PROTOCOL_VERSION, type Hello } from './frames.js';
import { dialsTo, type HandshakeContext } from './handshake.js';
import { decodeBatch, type InboundContext } from './inbound.js';
import {
  createPeerServerOptions,
  frameLimit,
  peerChannelOptions,
  peerMap,
  resolveOptions,
  type GrpcTransportOptions,
  type PeerAddresses,
  type ResolvedOptions,
} from './options.js';
import { PeerLink, type LinkHost, type PeerLinkStats } from './peer-link.js';
import { rawPeerService } from './peer-service.js';
import { reject, type Rejection } from './rejection.js';
import { createChannelCredentials, createServerCredentials } from './security.js';
import type { StreamHost } from './stream-host.js';

/** Counters of a {@link GrpcTransport}, for tests, metrics and benchmarks. */
export interface GrpcTransportStats {
  /** Batch frames written; below `envelopesSent` when envelopes were batched. */
  readonly framesSent: number;
  readonly envelopesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly envelopesReceived: number;
  /** Envelopes dropped before they left: evicted from full queues, too large for a peer, or for a peer that left. */
  readonly dropped: number;
  /** Streams this node ended for bad input or a failed check (each logged once). */
  readonly refusedStreams: number;
  /** Per-peer state and counters. */
  readonly peers: ReadonlyMap<NodeId, PeerLinkStats>;
}

/** Keeps the unknown-peer report times from growing without bound under sends to many bad ids. */
const MAX_UNKNOWN_PEERS_TRACKED = 1024;

/**
 * A `Transport` over gRPC: one long-lived bidirectional `synod.peer.v1.Peer/Connect`
 * stream per pair of nodes, dialled by the node whose id sorts first, with
 * mutual TLS binding each node id to its certificate.
 *
 * Sends are queued per peer (bounded; the oldest is dropped and the peer
 * reported unreachable when full) and leave in batch frames. Lost streams
 * are redialled with capped exponential backoff and full jitter.
 *
 * Lifecycle: construct, then `await start()` (binds the own server when
 * `listen` is given, and dials). Sends before `start` are queued. `close()`
 * drains for up to `closeTimeoutMs`, then cancels; it is idempotent.
 *
 * @example
 * ```ts
 * const transport = new GrpcTransport({
 *   localId: 'n1',
 *   clusterId: 'prod',
 *   peers: { n2: '10.0.0.2:7001', n3: '10.0.0.3:7001' },
 *   listen: '0.0.0.0:7001',
 *   security: { tls: { cert: readFileSync('n1.crt'), key: readFileSync('n1.key'), ca: readFileSync('ca.crt') } },
 * });
 * await transport.start();
 * const node = new RaftNode({ transport, ... });
 * ```
 */
export class GrpcTransport implements Transport {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly maxMessageBytes: number;
  readonly #options: ResolvedOptions;
  readonly #codec: EnvelopeCodec;
  readonly #protocols: ReadonlySet<ProtocolName>;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #dialers = new Map<NodeId, PeerDialer>();
  readonly #listeners = new Set<UnreachableListener>();
  readonly #unknownReportedAt = new Map<NodeId, number>();
  readonly #acceptor: Acceptor;
  readonly #server: grpc.Server;
  readonly #ownsServer: boolean;
  readonly #listen: string | undefined;
  readonly #linkHost: LinkHost;
  readonly #streamHost: StreamHost;
  readonly #inbound: InboundContext;
  #peers: Map<NodeId, string>;
  #handler: EnvelopeHandler | undefined;
  #started = false;
  #closing: Promise<void> | undefined;
  #boundAddress: string | undefined;
  #framesSent = 0;
  #envelopesSent = 0;
  #bytesSent = 0;
  #framesReceived = 0;
  #envelopesReceived = 0;
  #droppedGone = 0;
  #refusedStreams = 0;

  constructor(options: GrpcTransportOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.localId = resolved.localId;
    this.clusterId = resolved.clusterId;
    this.maxMessageBytes = resolved.maxMessageBytes;
    this.#peers = peerMap(options.peers, resolved.localId);
    // A prototype-free object: the codec's lookup by protocol name can then
    // only find codecs that were configured, never Object.prototype members.
    const codecs: Record<ProtocolName, PayloadCodec> = Object.create(null) as Record<ProtocolName, PayloadCodec>;
    for (const [name, codec] of resolved.payloadCodecs) codecs[name] = codec;
    this.#codec = createEnvelopeCodec({ payloadCodecs: codecs });
    this.#protocols = new Set(resolved.payloadCodecs.keys());
    this.#inbound = { localId: this.localId, clusterId: this.clusterId, codec: this.#codec, protocols: this.#protocols };
    this.#linkHost = this.#createLinkHost();
    this.#streamHost = this.#createStreamHost();
    this.#acceptor = new Acceptor(this.#streamHost);
    if ('insecure' in resolved.security) {
      resolved.logger.warn(
        { localId: this.localId, clusterId: this.clusterId },
        'peer transport runs in plaintext (security: { insecure: true }): peers are not authenticated and traffic is not encrypted',
      );
    }
    this.#ownsServer = options.server === undefined;
    this.#listen = options.listen;
    this.#server = options.server ?? new grpc.Server(createPeerServerOptions({ maxMessageBytes: resolved.maxMessageBytes, keepalive: resolved.keepalive }));
    this.#server.addService(rawPeerService, { connect: this.#acceptor.handle });
    for (const peerId of this.#peers.keys()) this.#addLink(peerId);
  }

  /** True once {@link GrpcTransport.close} has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The address the own server listens on, with the actual port when
   * `listen` asked for port 0; undefined before {@link GrpcTransport.start}
   * and when the transport was given a `server`.
   */
  get boundAddress(): string | undefined {
    return this.#boundAddress;
  }

  /**
   * Binds and starts the own server (with `listen`), then dials the peers
   * this node dials. With a shared `server`, start it yourself (before or
   * after this). Calling it again does nothing.
   *
   * @throws TransportClosedError after close; the bind error when the address is taken
   */
  async start(): Promise<void> {
    if (this.#closing !== undefined) throw new TransportClosedError();
    if (this.#started) return;
    this.#started = true;
    if (this.#ownsServer && this.#listen !== undefined) {
      const listen = this.#listen;
      const port = await new Promise<number>((resolve, rejectBind) =>
        this.#server.bindAsync(listen, createServerCredentials(this.#options.security), (err, bound) => (err === null ? resolve(bound) : rejectBind(err))),
      );
      const host = listen.slice(0, listen.lastIndexOf(':'));
      this.#boundAddress = `${host}:${port}`;
    }
    for (const dialer of this.#dialers.values()) dialer.start();
  }

  /**
   * Replaces the membership: who may connect, and where each peer listens.
   * Streams of peers that left are ended and their queues dropped; new
   * peers are dialled (when this node dials them); a changed address is
   * redialled at once.
   */
  setPeers(peers: PeerAddresses): void {
    if (this.#closing !== undefined) return;
    const next = peerMap(peers, this.localId);
    for (const peerId of [...this.#links.keys()]) {
      if (!next.has(peerId)) this.#removeLink(peerId);
    }
    const previous = this.#peers;
    this.#peers = next;
    for (const [peerId, address] of next) {
      if (!previous.has(peerId)) {
        this.#addLink(peerId);
        if (this.#started) this.#dialers.get(peerId)?.start();
      } else if (previous.get(peerId) !== address) {
        this.#dialers.get(peerId)?.setAddress(address);
      }
    }
  }

  /** Same as {@link GrpcTransport.setPeers}. */
  updatePeers(peers: PeerAddresses): void {
    this.setPeers(peers);
  }

  /**
   * Queues `envelope` for `to`. Returns at once; delivery problems are
   * reported through {@link GrpcTransport.onUnreachable}.
   *
   * @throws TransportClosedError after close
   * @throws MessageTooLargeError when the encoded envelope exceeds `maxMessageBytes`
   * @throws InvalidArgumentError when the envelope does not match `to`, this node or its cluster, or its protocol is not configured
   */
  send(to: NodeId, envelope: Envelope): void {
    if (this.#closing !== undefined) throw new TransportClosedError();
    checkOutgoingEnvelope(to, envelope, this.#inbound);
    const bytes = this.#codec.encode(envelope);
    if (bytes.byteLength > this.maxMessageBytes) throw new MessageTooLargeError(bytes.byteLength, this.maxMessageBytes);
    const link = this.#links.get(to);
    if (link === undefined) {
      this.#droppedGone++;
      this.#reportUnknown(to);
      return;
    }
    link.enqueue(bytes);
  }

  setHandler(handler: EnvelopeHandler): void {
    this.#handler = handler;
  }

  onUnreachable(listener: UnreachableListener): () => void {
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once.
    const entry: UnreachableListener = (peer, cause) => listener(peer, cause);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Counters of the transport and of each peer link. */
  stats(): GrpcTransportStats {
    let dropped = this.#droppedGone;
    const peers = new Map<NodeId, PeerLinkStats>();
    for (const [peerId, link] of this.#links) {
      const linkStats = link.stats();
      dropped += linkStats.dropped;
      peers.set(peerId, linkStats);
    }
    return {
      framesSent: this.#framesSent,
      envelopesSent: this.#envelopesSent,
      bytesSent: this.#bytesSent,
      framesReceived: this.#framesReceived,
      envelopesReceived: this.#envelopesReceived,
      dropped,
      refusedStreams: this.#refusedStreams,
      peers,
    };
  }

  /**
   * Stops dialling, lets every open stream drain what is queued for up to
   * `closeTimeoutMs`, then cancels what is left and stops the own server
   * (a shared server only loses the peer service). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { clock, closeTimeoutMs } = this.#options;
    for (const link of this.#links.values()) link.flush();
    const drained = Promise.all([...[...this.#dialers.values()].map((dialer) => dialer.end()), this.#acceptor.endAll()]);
    let timer: ReturnType<typeof clock.setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = clock.setTimeout(() => resolve('timeout'), closeTimeoutMs)));
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
    if (timer !== undefined) clock.clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#options.logger.debug({ localId: this.localId, closeTimeoutMs }, 'peer streams did not drain in time; cancelling them');
    }
    for (const dialer of this.#dialers.values()) dialer.stop();
    this.#acceptor.abortAll('this node is shutting down');
    for (const link of this.#links.values()) link.clear();
    this.#listeners.clear();
    this.#handler = undefined;
    if (this.#ownsServer) await this.#shutdownServer();
    else this.#server.removeService(rawPeerService);
  }

  async #shutdownServer(): Promise<void> {
    const server = this.#server;
    const { clock, closeTimeoutMs } = this.#options;
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, closeTimeoutMs);
      server.tryShutdown(() => {
        clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  #addLink(peerId: NodeId): void {
    const { sendQueueLength, sendQueueBytes, backoff, random } = this.#options;
    const link = new PeerLink(peerId, this.#linkHost, sendQueueLength, sendQueueBytes);
    this.#links.set(peerId, link);
    if (dialsTo(this.localId, peerId)) {
      this.#dialers.set(peerId, new PeerDialer(link, this.#peers.get(peerId)!, this.#streamHost, backoff, random.fork()));
    }
  }

  #removeLink(peerId: NodeId): void {
    const link = this.#links.get(peerId)!;
    this.#links.delete(peerId);
    const dialer = this.#dialers.get(peerId);
    this.#dialers.delete(peerId);
    dialer?.stop();
    link.stream?.abort(grpc.status.PERMISSION_DENIED, `node ${peerId} is no longer a member`);
    this.#droppedGone += link.stats().dropped + link.stats().queuedEnvelopes;
    link.clear();
  }

  #report(peer: NodeId, cause: Error): void {
    // Never inside send: a listener that sends must not re-enter it.
    this.#options.clock.setTimeout(() => {
      for (const listener of [...this.#listeners]) {
        try {
          listener(peer, cause);
        } catch (err) {
          this.#options.logger.error({ peer, err }, 'an unreachable listener threw');
        }
      }
    }, 0);
  }

  #reportLink(link: PeerLink, cause: Error): void {
    const now = this.#options.clock.now();
    if (now - link.lastReportAt < this.#options.unreachableReportIntervalMs) return;
    link.lastReportAt = now;
    this.#report(link.peerId, cause);
  }

  #reportUnknown(peer: NodeId): void {
    const now = this.#options.clock.now();
    const last = this.#unknownReportedAt.get(peer);
    if (last !== undefined && now - last < this.#options.unreachableReportIntervalMs) return;
    if (this.#unknownReportedAt.size >= MAX_UNKNOWN_PEERS_TRACKED) this.#unknownReportedAt.clear();
    this.#unknownReportedAt.set(peer, now);
    this.#report(peer, new Error(`no address for node ${peer}: it is not among this transport's peers`));
  }

  #deliver(link: PeerLink, frame: Uint8Array): Rejection | undefined {
    const limit = frameLimit(this.maxMessageBytes);
    if (frame.byteLength > limit) {
      return reject(grpc.status.RESOURCE_EXHAUSTED, `a frame of ${frame.byteLength} bytes exceeds this node's limit of ${limit} bytes`);
    }
    const decoded = decodeFrameOrReject(frame);
    if (isRejection(decoded)) return decoded;
    if (decoded.kind !== 'batch') return reject(grpc.status.INVALID_ARGUMENT, 'a second hello on an open stream');
    const envelopes = decodeBatch(decoded.envelopes, link.peerId, this.#inbound);
    if (!Array.isArray(envelopes)) return envelopes;
    this.#framesReceived++;
    this.#envelopesReceived += envelopes.length;
    link.received(envelopes.length);
    for (const envelope of envelopes) {
      const handler = this.#handler;
      if (handler === undefined) return undefined;
      try {
        handler(envelope);
      } catch (err) {
        this.#options.logger.error({ peer: link.peerId, protocol: envelope.protocol, err }, 'the envelope handler threw');
      }
    }
    return undefined;
  }

  #createLinkHost(): LinkHost {
    const options = this.#options;
    return {
      maxMessageBytes: options.maxMessageBytes,
      now: () => options.clock.now(),
      unreachable: (link, cause) => this.#reportLink(link, cause),
      queuedWhileDown: (link) => {
        // Give a fresh link (or a redial in progress) the connect timeout before calling its peer unreachable.
        if (options.clock.now() - link.downSince >= options.connectTimeoutMs) {
          this.#reportLink(link, new Error(`no stream to ${link.peerId} for ${Math.round(options.clock.now() - link.downSince)} ms`));
        }
      },
      tooLargeForPeer: (link, bytes) => {
        options.logger.warn({ peer: link.peerId, bytes }, 'dropped an envelope larger than the peer accepts');
        this.#reportLink(link, new Error(`an envelope of ${bytes} bytes is larger than ${link.peerId} accepts`));
      },
      frameSent: (envelopes, bytes) => {
        this.#framesSent++;
        this.#envelopesSent += envelopes;
        this.#bytesSent += bytes;
      },
    };
  }

  #createStreamHost(): StreamHost {
    const options = this.#options;
    const handshake: HandshakeContext = {
      localId: this.localId,
      clusterId: this.clusterId,
      isMember: (id) => this.#links.has(id),
    };
    const channelOptions = peerChannelOptions(options);
    return {
      handshake,
      clock: options.clock,
      logger: options.logger,
      connectTimeoutMs: options.connectTimeoutMs,
      tls: 'tls' in options.security,
      isClosing: () => this.#closing !== undefined,
      hello: (peerId): Hello => ({
        version: STREAM_PROTOCOL_VERSION,
        clusterId: this.clusterId,
        nodeId: this.localId,
        peerId,
        maxMessageBytes: options.maxMessageBytes,
      }),
      link: (peerId) => this.#links.get(peerId),
      receive: (link, frame) => this.#deliver(link, frame),
      refused: (peer, rejection) => {
        this.#refusedStreams++;
        options.logger.warn({ peer, code: grpc.status[rejection.code], reason: rejection.reason }, 'refused a peer stream');
      },
      lost: (link, cause) => this.#reportLink(link, cause),
      dialSettings: (peerId) => ({
        credentials: createChannelCredentials(options.security, { expectNode: { clusterId: this.clusterId, nodeId: peerId } }),
        options: channelOptions,
      }),
    };
  }
}
