import type { Envelope, EnvelopeHandler, NodeId, Transport, UnreachableListener } from '@synod/core';

/**
 * What a {@link MemoryTransport} needs from its network. The network owns all
 * per-node state (handler, listeners, crashed or not) so that crash and
 * restart can change it without reaching into the endpoint.
 *
 * @internal
 */
export interface EndpointHost {
  send(from: MemoryTransport, to: NodeId, envelope: Envelope): void;
  setHandler(endpoint: MemoryTransport, handler: EnvelopeHandler): void;
  addUnreachableListener(endpoint: MemoryTransport, listener: UnreachableListener): () => void;
  close(endpoint: MemoryTransport): void;
  isClosed(endpoint: MemoryTransport): boolean;
}

/**
 * One node's endpoint on a {@link MemoryNetwork}; get it from
 * {@link MemoryNetwork.endpoint}. Implements the core `Transport` contract:
 * sends are fire-and-forget and delivered later through the network's clock,
 * never inside `send`.
 *
 * @example
 * ```ts
 * const a = network.endpoint('a');
 * a.setHandler((envelope) => console.log('a got', envelope.protocol));
 * a.onUnreachable((peer) => console.log('a cannot reach', peer));
 * a.send('b', { clusterId: 'demo', from: 'a', to: 'b', protocol: 'probe', payload: new Uint8Array([1]) });
 * ```
 */
export class MemoryTransport implements Transport {
  readonly localId: NodeId;
  readonly maxMessageBytes: number;
  readonly #host: EndpointHost;

  /** @internal Created by {@link MemoryNetwork.endpoint}. */
  constructor(host: EndpointHost, localId: NodeId, maxMessageBytes: number) {
    this.#host = host;
    this.localId = localId;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** True once {@link MemoryTransport.close} has been called. */
  get closed(): boolean {
    return this.#host.isClosed(this);
  }

  /**
   * Sends `envelope` to `to`. Returns before anything is delivered.
   *
   * @throws TransportClosedError after {@link MemoryTransport.close}
   * @throws MessageTooLargeError when the (encoded or estimated) size exceeds {@link MemoryTransport.maxMessageBytes}
   * @throws InvalidArgumentError when `envelope.to` is not `to` or `envelope.from` is not this node
   */
  send(to: NodeId, envelope: Envelope): void {
    this.#host.send(this, to, envelope);
  }

  /** Sets the one handler for incoming envelopes, replacing any earlier one. */
  setHandler(handler: EnvelopeHandler): void {
    this.#host.setHandler(this, handler);
  }

  /** Subscribes to reports of peers this node could not reach. Returns an unsubscribe function. */
  onUnreachable(listener: UnreachableListener): () => void {
    return this.#host.addUnreachableListener(this, listener);
  }

  /**
   * Detaches this endpoint from the network: its handler and listeners are
   * dropped, messages still in flight to it are lost, and later sends throw.
   * Idempotent. A later {@link MemoryNetwork.endpoint} call for the same id
   * creates a fresh endpoint.
   */
  close(): Promise<void> {
    this.#host.close(this);
    return Promise.resolve();
  }
}
