import { status } from '@grpc/grpc-js';
import type { Envelope, NodeId, ProtocolName } from '@synod/core';
import type { EnvelopeCodec } from '@synod/protocol';
import { quote, reject, type Rejection } from './rejection.js';

/** What the receiving node knows when it checks envelopes from one stream. */
export interface InboundContext {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly codec: EnvelopeCodec;
  readonly protocols: ReadonlySet<ProtocolName>;
}

/**
 * Decodes and checks every envelope of one batch frame from `peerId` (the
 * node the stream's handshake, and certificate, established). The batch is
 * accepted whole or not at all: a bad envelope rejects the frame before any
 * of its envelopes is delivered.
 */
export function decodeBatch(entries: readonly Uint8Array[], peerId: NodeId, ctx: InboundContext): Envelope[] | Rejection {
  const envelopes: Envelope[] = [];
  for (const bytes of entries) {
    let envelope: Envelope;
    try {
      envelope = ctx.codec.decode(bytes);
    } catch (err) {
      return reject(status.INVALID_ARGUMENT, `malformed envelope: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Checked against a Set, never by indexing an object: '__proto__' and
    // 'constructor' are unknown protocols like any other.
    if (!ctx.protocols.has(envelope.protocol)) {
      return reject(status.INVALID_ARGUMENT, `unknown protocol ${quote(envelope.protocol)}`);
    }
    if (envelope.clusterId !== ctx.clusterId) {
      return reject(status.PERMISSION_DENIED, `envelope of cluster ${quote(envelope.clusterId)}, not ${quote(ctx.clusterId)}`);
    }
    if (envelope.from !== peerId) {
      return reject(status.PERMISSION_DENIED, `envelope from ${quote(envelope.from)} on node ${quote(peerId)}'s stream`);
    }
    if (envelope.to !== ctx.localId) {
      return reject(status.INVALID_ARGUMENT, `envelope addressed to ${quote(envelope.to)}, not to this node ${quote(ctx.localId)}`);
    }
    envelopes.push(envelope);
  }
  return envelopes;
}
