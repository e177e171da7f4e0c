import { InvalidArgumentError } from '../errors/index.js';
import type { Envelope, NodeId, ProtocolName } from './transport.js';

/** What a network transport knows about itself when it checks an envelope handed to `send`. */
export interface EnvelopeSender {
  readonly localId: NodeId;
  readonly clusterId: string;
  /** The protocols it has a payload codec for. */
  readonly protocols: ReadonlySet<ProtocolName>;
}

/**
 * Refuses an envelope that a transport's `send(to, envelope)` must not put on
 * the wire: addressed to another node than `to`, from another node than this
 * one, of another cluster, or of a protocol the transport cannot encode. The
 * network transports share it so that each refuses the same calls with the
 * same messages.
 *
 * @throws InvalidArgumentError naming the field that does not match
 *
 * @example
 * ```ts
 * checkOutgoingEnvelope('n2', envelope, { localId: 'n1', clusterId: 'c1', protocols: new Set(['raft']) });
 * ```
 */
export function checkOutgoingEnvelope(to: NodeId, envelope: Envelope, sender: EnvelopeSender): void {
  if (envelope.to !== to) throw new InvalidArgumentError(`envelope.to is ${envelope.to} but send was called for ${to}`);
  if (envelope.from !== sender.localId) {
    throw new InvalidArgumentError(`envelope.from is ${envelope.from} but this node is ${sender.localId}`);
  }
  if (envelope.clusterId !== sender.clusterId) {
    throw new InvalidArgumentError(`envelope of cluster ${envelope.clusterId}; this transport carries cluster ${sender.clusterId}`);
  }
  if (!sender.protocols.has(envelope.protocol)) {
    throw new InvalidArgumentError(`protocol '${envelope.protocol}' has no payload codec on this transport (see the payloadCodecs option)`);
  }
}
