import { status } from '@grpc/grpc-js';
import { CorruptionError } from '@synod/core';
import { peerServiceV1 } from '@synod/protocol';
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
const ENVELOPE_TAG = (1 << 3) | 2;

export type Hello = peerServiceV1.Hello;

/** A decoded frame: the handshake, or envelopes still in their wire form. */
export type Frame =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'batch'; readonly envelopes: readonly Uint8Array[] };

/** Bytes a varint takes for `value` (a non-negative integer below 2^53). */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes an envelope of `envelopeBytes` adds to a batch frame. */
export function batchEntrySize(envelopeBytes: number): number {
  return 1 + varintSize(envelopeBytes) + envelopeBytes;
}

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

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** Encodes a Hello frame. */
export function encodeHelloFrame(hello: Hello): Uint8Array {
  return peerServiceV1.ConnectRequest.encode({ frame: { $case: 'hello', value: hello } }).finish();
}

/**
 * Encodes `envelopes` (each already a `synod.peer.v1.Envelope`) as one batch
 * frame. `entriesBytes` must be the sum of {@link batchEntrySize} over them.
 */
export function encodeBatchFrame(envelopes: readonly Uint8Array[], entriesBytes: number): Buffer {
  const out = Buffer.allocUnsafe(batchFrameSize(entriesBytes));
  out[0] = BATCH_TAG;
  let at = writeVarint(out, 1, entriesBytes);
  for (const envelope of envelopes) {
    out[at++] = ENVELOPE_TAG;
    at = writeVarint(out, at, envelope.byteLength);
    out.set(envelope, at);
    at += envelope.byteLength;
  }
  return out;
}

/** Reads protobuf fields of one message, strictly: any overrun is corruption. */
class FieldReader {
  pos: number;
  readonly #bytes: Uint8Array;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.byteLength) {
    this.#bytes = bytes;
    this.pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.pos >= this.#end;
  }

  /** A varint of at most 32 bits (tags and lengths). */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.#end) throw new CorruptionError('truncated varint');
      const byte = this.#bytes[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (value > 0xffffffff) throw new CorruptionError('varint out of range');
        return value;
      }
    }
    throw new CorruptionError('varint too long');
  }

  /** The bounds of a length-delimited field's body. */
  delimited(): { readonly start: number; readonly end: number } {
    const length = this.uint32();
    const start = this.pos;
    if (length > this.#end - start) throw new CorruptionError(`field of ${length} bytes overruns its message`);
    this.pos = start + length;
    return { start, end: this.pos };
  }

  /** Skips a field of an unknown number (protobuf's forward compatibility). */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        for (let i = 0; ; i++) {
          if (i >= 10 || this.pos >= this.#end) throw new CorruptionError('bad varint');
          if (this.#bytes[this.pos++]! < 0x80) return;
        }
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.delimited();
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new CorruptionError(`unsupported wire type ${wireType}`);
    }
  }

  #advance(n: number): void {
    if (n > this.#end - this.pos) throw new CorruptionError('truncated field');
    this.pos += n;
  }
}

/**
 * Decodes one frame of either direction. Envelopes come back as views into
 * `bytes`, not yet decoded.
 *
 * @throws CorruptionError when the bytes are not a well-formed frame with
 * exactly one of hello and batch
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  const reader = new FieldReader(bytes);
  let frame: Frame | undefined;
  while (!reader.done) {
    const tag = reader.uint32();
    if (tag === HELLO_TAG || tag === BATCH_TAG) {
      if (frame !== undefined) throw new CorruptionError('a frame carries more than one of hello and batch');
      const { start, end } = reader.delimited();
      frame = tag === HELLO_TAG ? { kind: 'hello', hello: decodeHello(bytes.subarray(start, end)) } : { kind: 'batch', envelopes: batchEntries(bytes, start, end) };
    } else {
      if (tag >>> 3 === 0) throw new CorruptionError('field number 0');
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

function batchEntries(bytes: Uint8Array, start: number, end: number): Uint8Array[] {
  const reader = new FieldReader(bytes, start, end);
  const envelopes: Uint8Array[] = [];
  while (!reader.done) {
    const tag = reader.uint32();
    if (tag === ENVELOPE_TAG) {
      const field = reader.delimited();
      envelopes.push(bytes.subarray(field.start, field.end));
    } else {
      if (tag >>> 3 === 0) throw new CorruptionError('field number 0');
      reader.skip(tag & 7);
    }
  }
  return envelopes;
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
