import {
  connect,
  errors,
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
  type Subscription,
} from '@nats-io/transport-node';
import {
  checkOutgoingEnvelope,
  InvalidArgumentError,
  MessageTooLargeError,
  SynodError,
  TransportClosedError,
  type Envelope,
  type EnvelopeHandler,
  type EnvelopeSender,
  type NodeId,
  type ProtocolName,
  type TimerHandle,
  type Transport,
  type UnreachableListener,
} from '@synod/core';
import {
  BATCH_OVERHEAD_BYTES,
  batchEntrySize,
  createEnvelopeCodec,
  decodeEnvelopeBatch,
  encodeEnvelopeBatch,
  type EnvelopeCodec,
  type PayloadCodec,
} from '@synod/protocol';
import { CHUNK_HEADER, formatChunkHeader, parseChunkHeader, Reassembler, splitIntoChunks, type ChunkDropReason } from './chunks.js';
import { chunkBytes, connectionOptions, peerIds, resolveOptions, type NatsPeers, type NatsTransportOptions, type ResolvedOptions } from './options.js';
import { PeerLink, type NatsPeerStats } from './peer-link.js';
import { ackSubject, isAckSubjectFor, ownPrefix, ownSubjects, parseOwnSubject, peerSubject } from './subjects.js';

/** Thrown by `start` when the NATS server cannot be reached, refuses the credentials, or refuses the node's subscription. */
export class NatsConnectError extends SynodError {
  readonly code = 'NATS_CONNECT';
  /** The servers that were tried. */
  readonly servers: readonly string[];
  constructor(message: string, servers: readonly string[], options?: { cause?: unknown }) {
    super(message, options);
    this.servers = servers;
  }
}

/** The state of the transport's NATS connection. */
export type NatsConnectionState = 'idle' | 'connected' | 'reconnecting' | 'closed';

/** Counters of a {@link NatsTransport}, for tests, metrics and benchmarks. */
export interface NatsTransportStats {
  readonly connection: NatsConnectionState;
  /** The server connected to, `host:port`. */
  readonly server: string | undefined;
  /** That server's `max_payload`: larger messages go in chunks. */
  readonly maxPayload: number | undefined;
  /** Batches published; below `envelopesSent` when envelopes were batched. A chunked batch counts once. */
  readonly messagesSent: number;
  /** Chunks published (each a NATS message of its own). */
  readonly chunksSent: number;
  readonly envelopesSent: number;
  /** Payload bytes published, chunks included. */
  readonly bytesSent: number;
  /** Batches received whole (a chunked one once it is reassembled). */
  readonly messagesReceived: number;
  readonly chunksReceived: number;
  readonly envelopesReceived: number;
  /** Envelopes dropped before they left: evicted from full queues, refused by the client, or for a non-member. */
  readonly dropped: number;
  /** Messages refused whole on receipt: malformed, from a non-member, or with a `from`, `to`, cluster or protocol that does not fit. */
  readonly rejectedMessages: number;
  /** Chunked messages dropped because a chunk was lost, too late, or too large. */
  readonly droppedChunkedMessages: number;
  /** Publishes the server refused for lack of permission. */
  readonly permissionViolations: number;
  readonly peers: ReadonlyMap<NodeId, NatsPeerStats>;
}

/** Keeps the unknown-peer report times from growing without bound under sends to many bad ids. */
const MAX_UNKNOWN_PEERS_TRACKED = 1024;
/** nats.js's own default, used until the server's INFO says otherwise. */
const FALLBACK_MAX_PAYLOAD = 1024 * 1024;

/**
 * A peer-to-peer message that cannot be used: why, for the log and counters.
 */
class Refusal {
  constructor(readonly reason: string) {}
}

/** A peer-supplied string as it may appear in a log line: quoted, escaped, cut at 64 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}

/**
 * A `Transport` over NATS core subjects. Node `N` of cluster `C` subscribes
 * to `synod.C.N.>`; a batch from `S` to `N` is published on `synod.C.N.S`,
 * with the protobuf `EnvelopeBatch` of `@synod/protocol` as payload. With the
 * NATS server's permissions letting each node publish only on subjects that
 * end in its own id, the subject tells the receiver who sent a message, and
 * the receiver refuses envelopes whose `from` or cluster does not match it.
 *
 * Sends are queued per peer and leave at the end of the current turn of the
 * event loop as one batch message (or as many as `max_payload` demands). A
 * batch above the server's `max_payload` goes in chunks, reassembled on
 * receipt or dropped whole. Some batches carry a reply subject (at most one
 * in flight per peer): the receiver acknowledges them, and the server answers
 * 503 when nobody subscribes to the peer's subject; both, a missing answer
 * and a lost connection, are reported through `onUnreachable`.
 *
 * @example
 * ```ts
 * const transport = new NatsTransport({
 *   localId: 'n1',
 *   clusterId: 'prod',
 *   peers: ['n2', 'n3'],
 *   servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'],
 *   auth: { credentialsFile: '/etc/synod/n1.creds' },
 * });
 * await transport.start();
 * const node = new RaftNode({ transport, ... });
 * ```
 */
export class NatsTransport implements Transport {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly maxMessageBytes: number;
  readonly #options: ResolvedOptions;
  readonly #userOptions: NatsTransportOptions;
  readonly #codec: EnvelopeCodec;
  readonly #protocols: ReadonlySet<ProtocolName>;
  readonly #sender: EnvelopeSender;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #dirty = new Set<PeerLink>();
  readonly #listeners = new Set<UnreachableListener>();
  readonly #unknownReportedAt = new Map<NodeId, number>();
  readonly #reassembler: Reassembler;
  readonly #prefix: string;
  readonly #ownsConnection: boolean;
  readonly #connectOptions: NodeConnectionOptions | undefined;
  #nc: NatsConnection | undefined;
  #subscription: Subscription | undefined;
  #statusIterator: { stop?: () => void } | undefined;
  #state: NatsConnectionState = 'idle';
  #handler: EnvelopeHandler | undefined;
  #started = false;
  #closing: Promise<void> | undefined;
  #flushTimer: TimerHandle | undefined;
  #nextProbe = 1;
  #nextMessageId = 1;
  #lastStrangerWarningAt = Number.NEGATIVE_INFINITY;
  readonly #warnedSubjects = new Set<string>();
  #messagesSent = 0;
  #chunksSent = 0;
  #envelopesSent = 0;
  #bytesSent = 0;
  #messagesReceived = 0;
  #chunksReceived = 0;
  #envelopesReceived = 0;
  #droppedGone = 0;
  #rejectedFromStrangers = 0;
  #droppedChunkedMessages = 0;
  #permissionViolations = 0;

  constructor(options: NatsTransportOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.#userOptions = options;
    this.localId = resolved.localId;
    this.clusterId = resolved.clusterId;
    this.maxMessageBytes = resolved.maxMessageBytes;
    // A prototype-free object: the codec's lookup by protocol name can then
    // only find codecs that were configured, never Object.prototype members.
    const codecs: Record<ProtocolName, PayloadCodec> = Object.create(null) as Record<ProtocolName, PayloadCodec>;
    for (const [name, codec] of resolved.payloadCodecs) codecs[name] = codec;
    this.#codec = createEnvelopeCodec({ payloadCodecs: codecs });
    this.#protocols = new Set(resolved.payloadCodecs.keys());
    this.#sender = { localId: this.localId, clusterId: this.clusterId, protocols: this.#protocols };
    this.#prefix = ownPrefix(this.clusterId, this.localId);
    // A chunked batch holds one envelope: at most maxMessageBytes plus its entry's framing.
    this.#reassembler = new Reassembler(this.maxMessageBytes + BATCH_OVERHEAD_BYTES, resolved.reassemblyTimeoutMs, resolved.clock, (from, reason) =>
      this.#chunkedMessageDropped(from, reason),
    );
    this.#ownsConnection = options.connection === undefined;
    // Built now so that bad connection options fail at construction, not at start.
    this.#connectOptions = this.#ownsConnection ? connectionOptions(options, resolved) : undefined;
    for (const peerId of peerIds(options.peers, this.localId)) this.#addLink(peerId);
  }

  /** True once {@link NatsTransport.close} has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The NATS connection (after {@link NatsTransport.start}), for example to share with the client API. */
  get connection(): NatsConnection | undefined {
    return this.#nc;
  }

  /**
   * Connects (unless given a `connection`), subscribes to this node's
   * subjects and waits until the server has the subscription, then sends
   * what was queued. Calling it again does nothing.
   *
   * @throws NatsConnectError when the server cannot be reached, refuses the credentials, or refuses the subscription
   * @throws TransportClosedError after close
   */
  async start(): Promise<void> {
    if (this.#closing !== undefined) throw new TransportClosedError();
    if (this.#started) return;
    this.#started = true;
    const servers = this.#serverList();
    let nc: NatsConnection;
    if (this.#userOptions.connection !== undefined) {
      nc = this.#userOptions.connection;
    } else {
      try {
        nc = await connect(this.#connectOptions);
      } catch (err) {
        this.#started = false;
        if (err instanceof InvalidArgumentError) throw err;
        throw new NatsConnectError(
          `node ${this.localId} of cluster ${this.clusterId} could not connect to NATS at ${servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
          servers,
          { cause: err },
        );
      }
    }
    if (this.#closing !== undefined) {
      if (this.#ownsConnection) await nc.close();
      throw new TransportClosedError();
    }
    this.#nc = nc;
    const subject = ownSubjects(this.clusterId, this.localId);
    this.#subscription = nc.subscribe(subject, { callback: (err, msg) => this.#onMessage(err, msg) });
    this.#watch(nc);
    try {
      // The server has the subscription (or has refused it) once it answers a ping sent after it.
      await nc.flush();
    } catch (err) {
      await this.#abandon(nc);
      throw new NatsConnectError(`node ${this.localId} lost its NATS connection while subscribing to ${subject}`, servers, { cause: err });
    }
    // close() was called while the subscription was being confirmed: it has already let go of the connection.
    if (this.#closing !== undefined) throw new TransportClosedError();
    if (this.#subscription.isClosed()) {
      const cause = await this.#subscription.closed;
      await this.#abandon(nc);
      throw new NatsConnectError(
        `the NATS server at ${nc.getServer()} refused node ${this.localId} the subscription to ${subject}` +
          ` (${cause instanceof Error ? cause.message : 'closed'}); the node's user needs subscribe permission on it`,
        servers,
        { cause },
      );
    }
    this.#state = 'connected';
    this.#options.logger.info({ localId: this.localId, server: nc.getServer(), maxPayload: nc.info?.max_payload }, 'connected to NATS');
    // A connection of its own is encrypted when the tls option asked for it or the server requires it; a
    // shared one is its owner's business.
    if (this.#ownsConnection && this.#userOptions.tls === undefined && nc.info?.tls_required !== true) {
      this.#options.logger.warn(
        { localId: this.localId, server: nc.getServer() },
        'the NATS connection is plaintext (no tls option, and the server does not require TLS): traffic and credentials to the server are not encrypted',
      );
    }
    for (const link of this.#links.values()) if (link.queue.length > 0) this.#dirty.add(link);
    this.#scheduleFlush();
  }

  /**
   * Replaces the membership. Peers that left have their queues and any
   * message half reassembled from them dropped, and are refused from then
   * on; new peers can be sent to and heard from at once.
   *
   * @throws InvalidArgumentError when an id cannot be a subject token
   */
  setPeers(peers: NatsPeers): void {
    if (this.#closing !== undefined) return;
    const next = peerIds(peers, this.localId);
    for (const peerId of [...this.#links.keys()]) if (!next.has(peerId)) this.#removeLink(peerId);
    for (const peerId of next) if (!this.#links.has(peerId)) this.#addLink(peerId);
  }

  /** Same as {@link NatsTransport.setPeers}. */
  updatePeers(peers: NatsPeers): void {
    this.setPeers(peers);
  }

  /**
   * Queues `envelope` for `to`. Returns at once; delivery problems are
   * reported through {@link NatsTransport.onUnreachable}.
   *
   * @throws TransportClosedError after close
   * @throws MessageTooLargeError when the encoded envelope exceeds `maxMessageBytes`
   * @throws InvalidArgumentError when the envelope does not match `to`, this node or its cluster, or its protocol is not configured
   */
  send(to: NodeId, envelope: Envelope): void {
    if (this.#closing !== undefined) throw new TransportClosedError();
    checkOutgoingEnvelope(to, envelope, this.#sender);
    const bytes = this.#codec.encode(envelope);
    if (bytes.byteLength > this.maxMessageBytes) throw new MessageTooLargeError(bytes.byteLength, this.maxMessageBytes);
    const link = this.#links.get(to);
    if (link === undefined) {
      this.#droppedGone++;
      this.#reportUnknown(to);
      return;
    }
    const evicted = link.queue.push(bytes);
    if (evicted > 0) {
      link.dropped += evicted;
      this.#reportLink(link, new Error(`send queue to ${to} is full; dropped the oldest ${evicted === 1 ? 'envelope' : `${evicted} envelopes`}`));
    }
    if (this.#state === 'connected') {
      this.#dirty.add(link);
      this.#scheduleFlush();
    } else if (this.#started) {
      this.#reportLink(link, new Error(this.#state === 'closed' ? 'the NATS connection is closed' : 'not connected to a NATS server; reconnecting'));
    }
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

  /** Counters of the transport and of each peer. */
  stats(): NatsTransportStats {
    let dropped = this.#droppedGone;
    let rejected = this.#rejectedFromStrangers;
    const peers = new Map<NodeId, NatsPeerStats>();
    for (const [peerId, link] of this.#links) {
      const linkStats = link.stats();
      dropped += linkStats.dropped;
      rejected += linkStats.rejectedMessages;
      peers.set(peerId, linkStats);
    }
    const nc = this.#nc;
    return {
      connection: this.#state,
      server: nc !== undefined && this.#state === 'connected' ? nc.getServer() : undefined,
      maxPayload: nc?.info?.max_payload,
      messagesSent: this.#messagesSent,
      chunksSent: this.#chunksSent,
      envelopesSent: this.#envelopesSent,
      bytesSent: this.#bytesSent,
      messagesReceived: this.#messagesReceived,
      chunksReceived: this.#chunksReceived,
      envelopesReceived: this.#envelopesReceived,
      dropped,
      rejectedMessages: rejected,
      droppedChunkedMessages: this.#droppedChunkedMessages,
      permissionViolations: this.#permissionViolations,
      peers,
    };
  }

  /**
   * Publishes what is queued, waits up to `closeTimeoutMs` for the server to
   * have it, then unsubscribes and closes the connection (a shared one is
   * left open). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const nc = this.#nc;
    if (nc !== undefined && this.#state === 'connected') {
      this.#flushAll();
      await this.#withTimeout(nc.flush().catch(() => undefined), this.#options.closeTimeoutMs);
    }
    if (this.#flushTimer !== undefined) this.#options.clock.clearTimeout(this.#flushTimer);
    this.#statusIterator?.stop?.();
    for (const link of this.#links.values()) {
      this.#clearProbe(link);
      link.queue.clear();
    }
    this.#dirty.clear();
    this.#reassembler.clear('closed');
    this.#listeners.clear();
    this.#handler = undefined;
    this.#state = 'closed';
    if (nc !== undefined) {
      if (this.#ownsConnection) await nc.close().catch(() => undefined);
      else if (!nc.isClosed()) {
        this.#subscription?.unsubscribe();
        // Resolve once the server has dropped the interest: from then on peers get "no responders".
        await this.#withTimeout(nc.flush().catch(() => undefined), this.#options.closeTimeoutMs);
      }
    }
  }

  async #withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<void>((resolve) => (timer = this.#options.clock.setTimeout(resolve, ms)));
    await Promise.race([promise, timeout]);
    if (timer !== undefined) this.#options.clock.clearTimeout(timer);
  }

  async #abandon(nc: NatsConnection): Promise<void> {
    this.#statusIterator?.stop?.();
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#nc = undefined;
    this.#started = false;
    if (this.#ownsConnection) await nc.close().catch(() => undefined);
  }

  #serverList(): string[] {
    const servers = this.#userOptions.servers;
    if (servers !== undefined) return typeof servers === 'string' ? [servers] : [...servers];
    const nc = this.#userOptions.connection;
    return nc === undefined ? [] : [nc.getServer()];
  }

  /** Follows the connection's status: disconnects, reconnects, permission errors, the end. */
  #watch(nc: NatsConnection): void {
    const iterator = nc.status();
    this.#statusIterator = iterator as { stop?: () => void };
    void (async () => {
      try {
        for await (const status of iterator) {
          if (this.#closing !== undefined) break;
          this.#onStatus(nc, status);
        }
      } catch (err) {
        this.#options.logger.error({ localId: this.localId, err }, 'reading the NATS connection status failed');
      }
    })();
    void nc.closed().then((err) => {
      if (this.#closing !== undefined || this.#nc !== nc) return;
      this.#state = 'closed';
      this.#options.logger.error(
        { localId: this.localId, err },
        'the NATS connection closed for good; this node can no longer reach its peers (restart it, or check its credentials)',
      );
      this.#allUnreachable(new Error(`the NATS connection closed${err instanceof Error ? `: ${err.message}` : ''}`));
    });
  }

  #onStatus(nc: NatsConnection, status: Status): void {
    const { logger } = this.#options;
    switch (status.type) {
      case 'disconnect':
        this.#state = 'reconnecting';
        logger.warn({ localId: this.localId, server: status.server }, 'lost the NATS connection; reconnecting');
        // Messages in flight are lost with the connection; consensus resends what matters.
        this.#allUnreachable(new Error(`lost the connection to the NATS server ${status.server}`));
        break;
      case 'reconnect':
        this.#state = 'connected';
        logger.info({ localId: this.localId, server: status.server, maxPayload: nc.info?.max_payload }, 'reconnected to NATS');
        for (const link of this.#links.values()) if (link.queue.length > 0) this.#dirty.add(link);
        this.#scheduleFlush();
        break;
      case 'error':
        this.#onServerError(status.error);
        break;
      case 'slowConsumer':
        logger.warn({ localId: this.localId, pending: status.pending }, 'NATS subscription is a slow consumer; messages may be dropped');
        break;
      case 'ldm':
        logger.info({ localId: this.localId, server: status.server }, 'NATS server entered lame duck mode; the client will move to another');
        break;
      default:
        break;
    }
  }

  #onServerError(error: Error): void {
    const { logger } = this.#options;
    if (error instanceof errors.PermissionViolationError) {
      if (error.operation === 'publish') {
        this.#permissionViolations++;
        const link = [...this.#links.values()].find((candidate) => candidate.subject === error.subject);
        if (link !== undefined) {
          this.#warnOnce(link.subject, { subject: error.subject, peer: link.peerId }, 'the NATS server refused a publish: this node lacks permission to publish on the subject, so its peer cannot hear from it');
          this.#clearProbe(link);
          this.#reportLink(link, new Error(`not permitted to publish to ${error.subject} (${error.message})`, { cause: error }));
        } else if (/\.ack\.[0-9]+$/.test(error.subject)) {
          // Each probe has a subject of its own: one warning for all of them.
          this.#warnOnce('ack', { subject: error.subject }, "the NATS server refused an acknowledgement: this node's user needs allow_responses, or its peers report it unreachable");
        } else {
          this.#warnOnce('other', { subject: error.subject }, 'the NATS server refused a publish');
        }
      } else {
        logger.error({ localId: this.localId, subject: error.subject, err: error }, 'the NATS server refused a subscription: this node cannot receive');
      }
      return;
    }
    logger.warn({ localId: this.localId, err: error }, 'the NATS server reported an error');
  }

  /** Logs a permission problem at warn the first time per key, at debug after (they repeat with every message). */
  #warnOnce(key: string, fields: Readonly<Record<string, unknown>>, message: string): void {
    const first = !this.#warnedSubjects.has(key);
    if (first) this.#warnedSubjects.add(key);
    this.#options.logger[first ? 'warn' : 'debug']({ localId: this.localId, ...fields }, message);
  }

  #addLink(peerId: NodeId): void {
    const { sendQueueLength, sendQueueBytes } = this.#options;
    this.#links.set(peerId, new PeerLink(peerId, peerSubject(this.clusterId, peerId, this.localId), sendQueueLength, sendQueueBytes));
  }

  #removeLink(peerId: NodeId): void {
    const link = this.#links.get(peerId)!;
    this.#links.delete(peerId);
    this.#dirty.delete(link);
    this.#clearProbe(link);
    this.#droppedGone += link.dropped + link.queue.clear();
    this.#reassembler.forget(peerId);
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#dirty.size === 0) return;
    // At the end of this turn of the event loop: what was sent in it leaves together.
    this.#flushTimer = this.#options.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushAll();
    }, 0);
  }

  #flushAll(): void {
    if (this.#state !== 'connected') return;
    const links = [...this.#dirty];
    this.#dirty.clear();
    for (const link of links) this.#flush(link);
  }

  /** Publishes everything queued for `link` in as few messages as `max_payload` allows. */
  #flush(link: PeerLink): void {
    const nc = this.#nc;
    if (nc === undefined) return;
    const maxPayload = nc.info?.max_payload ?? FALLBACK_MAX_PAYLOAD;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    while (link.queue.length > 0) {
      const next = link.queue.peek()!;
      const entry = batchEntrySize(next.byteLength);
      if (batch.length > 0 && batchBytes + entry > maxPayload) {
        if (!this.#publish(nc, link, batch, batchBytes, maxPayload)) return;
        batch = [];
        batchBytes = 0;
      }
      batch.push(link.queue.shift()!);
      batchBytes += entry;
    }
    if (batch.length > 0) this.#publish(nc, link, batch, batchBytes, maxPayload);
  }

  /** Publishes one batch (in chunks when above `max_payload`); false when the client refused it. */
  #publish(nc: NatsConnection, link: PeerLink, batch: Uint8Array[], batchBytes: number, maxPayload: number): boolean {
    const payload = encodeEnvelopeBatch(batch, batchBytes);
    const reply = link.probe === undefined ? this.#startProbe(link) : undefined;
    try {
      if (payload.byteLength <= maxPayload) {
        nc.publish(link.subject, payload, reply === undefined ? undefined : { reply });
      } else {
        const chunks = splitIntoChunks(payload, chunkBytes(maxPayload));
        const messageId = this.#nextMessageId++;
        chunks.forEach((chunk, index) => {
          const headers = natsHeaders();
          headers.set(CHUNK_HEADER, formatChunkHeader({ messageId, index, count: chunks.length }));
          // The probe rides on the last chunk: it is acknowledged only when the whole batch arrived.
          nc.publish(link.subject, chunk, index === chunks.length - 1 && reply !== undefined ? { headers, reply } : { headers });
        });
        this.#chunksSent += chunks.length;
      }
    } catch (err) {
      // Closed or draining connection, or a max_payload that shrank under us.
      link.dropped += batch.length;
      this.#clearProbe(link);
      this.#reportLink(link, new Error(`could not publish to ${link.subject}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      return false;
    }
    link.messagesSent++;
    link.envelopesSent += batch.length;
    link.bytesSent += payload.byteLength;
    this.#messagesSent++;
    this.#envelopesSent += batch.length;
    this.#bytesSent += payload.byteLength;
    return true;
  }

  #startProbe(link: PeerLink): string {
    const id = this.#nextProbe++;
    const timer = this.#options.clock.setTimeout(() => {
      if (link.probe?.id !== id) return;
      link.probe = undefined;
      link.reachability = 'unreachable';
      this.#reportLink(link, new Error(`node ${link.peerId} did not acknowledge within ${this.#options.ackTimeoutMs} ms`));
    }, this.#options.ackTimeoutMs);
    link.probe = { id, timer };
    return ackSubject(this.clusterId, this.localId, link.peerId, id);
  }

  #clearProbe(link: PeerLink): void {
    if (link.probe === undefined) return;
    this.#options.clock.clearTimeout(link.probe.timer);
    link.probe = undefined;
  }

  #onMessage(err: Error | null, msg: Msg): void {
    if (err !== null) {
      // The subscription itself failed (a permission error); #watch logs it too.
      if (this.#closing === undefined) this.#options.logger.error({ localId: this.localId, err }, 'the subscription to this node\'s subjects failed');
      return;
    }
    if (this.#closing !== undefined) return;
    const subject = parseOwnSubject(msg.subject, this.#prefix);
    if (subject.kind === 'batch') this.#onBatch(subject.from, msg);
    else if (subject.kind === 'ack') this.#onAck(subject.peer, subject.probe, msg);
  }

  #onAck(peerId: NodeId, probe: number, msg: Msg): void {
    const link = this.#links.get(peerId);
    if (link === undefined || link.probe?.id !== probe) return;
    this.#clearProbe(link);
    if (msg.headers?.code === 503) {
      link.reachability = 'unreachable';
      this.#reportLink(link, new Error(`no responders: nobody subscribes to ${link.subject} (node ${link.peerId} is down or not connected to NATS)`));
    } else {
      link.reachability = 'reachable';
    }
  }

  #onBatch(from: NodeId, msg: Msg): void {
    const link = this.#links.get(from);
    if (link === undefined) {
      this.#refuseStranger(from);
      return;
    }
    let payload: Uint8Array | undefined = msg.data;
    const chunkHeader = msg.headers?.get(CHUNK_HEADER);
    if (chunkHeader !== undefined && chunkHeader !== '') {
      this.#chunksReceived++;
      const header = parseChunkHeader(chunkHeader);
      if (header === undefined) {
        this.#refuse(link, new Refusal(`malformed ${CHUNK_HEADER} header ${quote(chunkHeader)}`));
        return;
      }
      payload = this.#reassembler.add(from, header, msg.data);
      if (payload === undefined) return;
    }
    const envelopes = this.#decode(from, payload);
    if (envelopes instanceof Refusal) {
      this.#refuse(link, envelopes);
      return;
    }
    this.#messagesReceived++;
    // Acknowledged only once the whole message was accepted: a peer whose messages are refused is not "reachable".
    if (msg.reply !== undefined && msg.reply !== '' && isAckSubjectFor(msg.reply, this.clusterId, from, this.localId)) {
      try {
        this.#nc?.publish(msg.reply);
      } catch {
        // The connection is going; the sender's probe times out.
      }
    }
    for (const envelope of envelopes) {
      link.envelopesReceived++;
      this.#envelopesReceived++;
      const handler = this.#handler;
      if (handler === undefined) continue;
      try {
        handler(envelope);
      } catch (err) {
        this.#options.logger.error({ localId: this.localId, peer: from, err }, 'the envelope handler threw');
      }
    }
  }

  /**
   * Decodes and checks every envelope of one message from `from` (the node
   * the subject names). The message is accepted whole or not at all.
   */
  #decode(from: NodeId, payload: Uint8Array): Envelope[] | Refusal {
    let entries: Uint8Array[];
    try {
      entries = decodeEnvelopeBatch(payload);
    } catch (err) {
      return new Refusal(`malformed batch: ${err instanceof Error ? err.message : String(err)}`);
    }
    const envelopes: Envelope[] = [];
    for (const bytes of entries) {
      if (bytes.byteLength > this.maxMessageBytes) return new Refusal(`an envelope of ${bytes.byteLength} bytes is above this node's limit of ${this.maxMessageBytes}`);
      let envelope: Envelope;
      try {
        envelope = this.#codec.decode(bytes);
      } catch (err) {
        return new Refusal(`malformed envelope: ${err instanceof Error ? err.message : String(err)}`);
      }
      // Checked against a Set, never by indexing an object: '__proto__' and
      // 'constructor' are unknown protocols like any other.
      if (!this.#protocols.has(envelope.protocol)) return new Refusal(`unknown protocol ${quote(envelope.protocol)}`);
      if (envelope.clusterId !== this.clusterId) return new Refusal(`envelope of cluster ${quote(envelope.clusterId)}, not ${quote(this.clusterId)}`);
      if (envelope.from !== from) return new Refusal(`envelope claims to be from ${quote(envelope.from)} but came on node ${quote(from)}'s subject`);
      if (envelope.to !== this.localId) return new Refusal(`envelope addressed to ${quote(envelope.to)}, not to this node`);
      envelopes.push(envelope);
    }
    return envelopes;
  }

  #refuse(link: PeerLink, refusal: Refusal): void {
    link.rejectedMessages++;
    const level = link.lastRejection === refusal.reason ? 'debug' : 'warn';
    link.lastRejection = refusal.reason;
    this.#options.logger[level]({ localId: this.localId, peer: link.peerId, reason: refusal.reason }, 'refused a message from a peer');
  }

  #refuseStranger(from: NodeId): void {
    this.#rejectedFromStrangers++;
    const now = this.#options.clock.now();
    const level = now - this.#lastStrangerWarningAt < this.#options.unreachableReportIntervalMs ? 'debug' : 'warn';
    if (level === 'warn') this.#lastStrangerWarningAt = now;
    this.#options.logger[level]({ localId: this.localId, from: quote(from) }, 'refused a message from a node that is not a member');
  }

  #chunkedMessageDropped(from: NodeId, reason: ChunkDropReason): void {
    if (reason === 'closed' || reason === 'sender-removed') return;
    this.#droppedChunkedMessages++;
    this.#options.logger.debug({ localId: this.localId, peer: from, reason }, 'dropped a chunked message');
  }

  #allUnreachable(cause: Error): void {
    for (const link of this.#links.values()) {
      this.#clearProbe(link);
      link.reachability = 'unreachable';
      this.#reportLink(link, cause);
    }
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
    this.#report(peer, new Error(`node ${peer} is not among this transport's peers`));
  }
}
