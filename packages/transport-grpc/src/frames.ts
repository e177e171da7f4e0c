import { status } from '@grpc/grpc-js';
import { CorruptionError } from '@synod/core';
import { ProtobufFieldReader, decodeEnvelopeBatch, peerServiceV1, varintSize, writeEnvelopeBatch, writeVarint } from '@synod/protocol';
import { reject, type Rejection } from './rejection.js';

/**
 * The frames of a `synod.peer.v1.Peer/Connect` stream. `ConnectRequest` and
 * `ConnectResponse` share one layout (field 1: `Hello`, field 2:
 * `EnvelopeBatch`), so one encoder and one decoder serve both directions.
 *
 * Batches are framed by hand from envelopes that were encoded once, at
 * `send`: re-encoding them through generated message objects would copy every
 * payload a second time. Decoding returns views into the received buffer for
 * the same reason.
 */

/** The version of the stream protocol in `peer.proto` that this code speaks. */
export const STREAM_PROTOCOL_VERSION = 1;

const HELLO_TAG = (1 << 3) | 2;
const BATCH_TAG = (2 << 3) | 2;

export type Hello = peerServiceV1.Hello;

/** A decoded frame: the handshake, or envelopes still in their wire form. */
export type Frame =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'batch'; readonly envelopes: readonly Uint8Array[] };

/** Bytes of a batch frame whose entries add up to `entriesBytes`. */
export function batchFrameSize(entriesBytes: number): number {
  return 1 + varintSize(entriesBytes) + entriesBytes;
}

/**
 * The most a frame can exceed the envelope it carries when it carries only
 * one: two tags and two length varints of at most 5 bytes each. Receive
 * limits are set to `maxMessageBytes` plus this, so any single envelope the
 * sender accepted fits.
 */
export const FRAME_OVERHEAD_BYTES = 12;

/** Encodes a Hello frame. */
export function encodeHelloFrame(hello: Hello): Uint8Array {
  return peerServiceV1.ConnectRequest.encode({ frame: { $case: 'hello', value: hello } }).finish();
}

/**
 * Encodes `envelopes` (each already a `synod.peer.v1.Envelope`) as one batch
 * frame. `entriesBytes` must be the sum of `batchEntrySize` (from
 * `@synod/protocol`) over them.
 */
export function encodeBatchFrame(envelopes: readonly Uint8Array[], entriesBytes: number): Buffer {
  const out = Buffer.allocUnsafe(batchFrameSize(entriesBytes));
  out[0] = BATCH_TAG;
  writeEnvelopeBatch(out, writeVarint(out, 1, entriesBytes), envelopes);
  return out;
}

/**
 * Decodes one frame of either direction. Envelopes come back as views into
 * `bytes`, not yet decoded.
 *
 * @throws CorruptionError when the bytes are not a well-formed frame with
 * exactly one of hello and batch
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  const reader = new ProtobufFieldReader(bytes);
  let frame: Frame | undefined;
  while (!reader.done) {
    const tag = reader.tag();
    if (tag === HELLO_TAG || tag === BATCH_TAG) {
      if (frame !== undefined) throw new CorruptionError('a frame carries more than one of hello and batch');
      const { start, end } = reader.delimited();
      frame = tag === HELLO_TAG ? { kind: 'hello', hello: decodeHello(bytes.subarray(start, end)) } : { kind: 'batch', envelopes: decodeEnvelopeBatch(bytes, start, end) };
    } else {
      reader.skip(tag & 7);
    }
  }
  if (frame === undefined) throw new CorruptionError('a frame carries neither hello nor batch');
  return frame;
}

function decodeHello(bytes: Uint8Array): Hello {
  try {
    return peerServiceV1.Hello.decode(bytes);
  } catch (cause) {
    throw new CorruptionError('malformed hello', { cause });
  }
}

/** {@link decodeFrame}, with a malformed frame turned into the INVALID_ARGUMENT that refuses its stream. */
export function decodeFrameOrReject(bytes: Uint8Array): Frame | Rejection {
  try {
    return decodeFrame(bytes);
  } catch (err) {
    return reject(status.INVALID_ARGUMENT, `malformed frame: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function isRejection(value: Frame | Rejection): value is Rejection {
  return 'code' in value;
}
