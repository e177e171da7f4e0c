/** The identifier of a node, unique within a cluster. */
export type NodeId = string;

/**
 * The protocol an envelope belongs to. One transport carries every protocol a
 * node runs, and the receiver dispatches on this field.
 */
export type ProtocolName = 'raft' | 'paxos' | 'swim' | 'probe' | (string & {});

/**
 * What crosses between nodes. Transports that leave the process encode the
 * payload with the wire codec of `@synod/protocol`; the in-memory transport
 * may pass it as an object (or round-trip it through the codec when asked).
 */
export interface Envelope<Payload = unknown> {
  readonly clusterId: string;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly protocol: ProtocolName;
  readonly payload: Payload;
}

/** Receives every envelope delivered to an endpoint. */
export type EnvelopeHandler = (envelope: Envelope) => void;

/** Told when a peer could not be reached (connection refused, closed, no route). */
export type UnreachableListener = (peer: NodeId, cause?: Error) => void;

/**
 * One node's endpoint on a network.
 *
 * Delivery is best effort: a message may be lost, delayed, duplicated or
 * reordered, and protocols must cope with all of it.
 *
 * @example
 * ```ts
 * transport.setHandler((env) => { if (env.protocol === 'raft') raft.step(env.payload); });
 * transport.send('n2', { clusterId: 'c1', from: 'n1', to: 'n2', protocol: 'raft', payload: msg });
 * ```
 */
export interface Transport {
  /** The id of the node this endpoint belongs to. */
  readonly localId: NodeId;
  /** The largest encoded envelope this transport will carry, in bytes. */
  readonly maxMessageBytes: number;
  /**
   * Sends an envelope; fire-and-forget. Never throws for delivery problems
   * (those are reported through {@link Transport.onUnreachable}); throws
   * `TransportClosedError` after close and `MessageTooLargeError` for oversize messages.
   */
  send(to: NodeId, envelope: Envelope): void;
  /** Sets the single handler for incoming envelopes, replacing any earlier one. */
  setHandler(handler: EnvelopeHandler): void;
  /** Subscribes to unreachable-peer reports. Returns an unsubscribe function. */
  onUnreachable(listener: UnreachableListener): () => void;
  /** Closes the endpoint. Idempotent; pending sends may be dropped. */
  close(): Promise<void>;
}
