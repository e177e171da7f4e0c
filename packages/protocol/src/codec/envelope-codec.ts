import { CorruptionError, InvalidArgumentError, type Envelope, type ProtocolName } from '@synod/core';
import { Envelope as WireEnvelope } from '../gen/synod/peer/v1/envelope.js';
import { decodePaxosMessage, encodePaxosMessage } from './paxos-codec.js';
import { decodeRaftMessage, encodeRaftMessage } from './raft-codec.js';
import { decodeSwimMessage, encodeSwimMessage } from './swim-codec.js';

/** Encodes and decodes one protocol's payloads. */
export interface PayloadCodec<Payload = unknown> {
  encode(payload: Payload): Uint8Array;
  decode(bytes: Uint8Array): Payload;
}

/** Turns whole envelopes into `synod.peer.v1.Envelope` bytes and back. */
export interface EnvelopeCodec {
  encode(envelope: Envelope): Uint8Array;
  decode(bytes: Uint8Array): Envelope;
}

/** The payload codec for protocol `raft`. */
export const raftPayloadCodec: PayloadCodec = {
  encode: (payload) => encodeRaftMessage(payload as Parameters<typeof encodeRaftMessage>[0]),
  decode: decodeRaftMessage,
};

/** The payload codec for protocol `paxos` (Multi-Paxos). */
export const paxosPayloadCodec: PayloadCodec = {
  encode: (payload) => encodePaxosMessage(payload as Parameters<typeof encodePaxosMessage>[0]),
  decode: decodePaxosMessage,
};

/** The payload codec for protocol `swim` (SWIM membership and failure detection). */
export const swimPayloadCodec: PayloadCodec = {
  encode: (payload) => encodeSwimMessage(payload as Parameters<typeof encodeSwimMessage>[0]),
  decode: decodeSwimMessage,
};

export interface EnvelopeCodecOptions {
  /**
   * Payload codecs by protocol name. Protocols without one must carry
   * `Uint8Array` payloads, which travel as they are.
   * @default { raft: raftPayloadCodec, paxos: paxosPayloadCodec, swim: swimPayloadCodec }
   */
  readonly payloadCodecs?: Readonly<Partial<Record<ProtocolName, PayloadCodec>>>;
}

/**
 * Builds the envelope codec that network transports (and the memory
 * transport's round-trip mode) use.
 *
 * @example
 * ```ts
 * const codec = createEnvelopeCodec({ payloadCodecs: { raft: raftPayloadCodec, swim: swimPayloadCodec } });
 * const bytes = codec.encode(envelope);
 * const copy = codec.decode(bytes);
 * ```
 */
export function createEnvelopeCodec(options: EnvelopeCodecOptions = {}): EnvelopeCodec {
  // A Map of the caller's own entries: a lookup on the plain object would
  // find Object.prototype members for names like `__proto__` or `toString`.
  const codecs = new Map<string, PayloadCodec>();
  for (const [name, codec] of Object.entries(options.payloadCodecs ?? { raft: raftPayloadCodec, paxos: paxosPayloadCodec, swim: swimPayloadCodec })) {
    if (codec !== undefined) codecs.set(name, codec);
  }
  return {
    encode(envelope) {
      const codec = codecs.get(envelope.protocol);
      let payload: Uint8Array;
      if (codec !== undefined) payload = codec.encode(envelope.payload);
      else if (envelope.payload instanceof Uint8Array) payload = envelope.payload;
      else throw new InvalidArgumentError(`no payload codec for protocol '${envelope.protocol}'`);
      return WireEnvelope.encode({
        clusterId: envelope.clusterId,
        from: envelope.from,
        to: envelope.to,
        protocol: envelope.protocol,
        payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      }).finish();
    },
    decode(bytes) {
      let wire: WireEnvelope;
      try {
        wire = WireEnvelope.decode(bytes);
      } catch (cause) {
        throw new CorruptionError('malformed envelope', { cause });
      }
      const codec = codecs.get(wire.protocol);
      const raw = new Uint8Array(wire.payload);
      return {
        clusterId: wire.clusterId,
        from: wire.from,
        to: wire.to,
        protocol: wire.protocol,
        payload: codec !== undefined ? codec.decode(raw) : raw,
      };
    },
  };
}
