import { InvalidArgumentError } from '@synod/core';
import type { PayloadCodec } from '@synod/protocol';

/**
 * The payload codec of protocols whose payloads are already bytes: a
 * `Uint8Array` travels as it is.
 *
 * @example
 * ```ts
 * new NatsTransport({ ..., payloadCodecs: { raft: raftPayloadCodec, 'my-app': bytesPayloadCodec } });
 * ```
 */
export const bytesPayloadCodec: PayloadCodec<Uint8Array> = {
  encode(payload) {
    if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('this protocol carries Uint8Array payloads');
    return payload;
  },
  decode: (bytes) => bytes,
};
