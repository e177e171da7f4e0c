import { CorruptionError } from '@synod/core';

/**
 * The payload of every NATS message between nodes is one
 * `synod.peer.v1.EnvelopeBatch` (`repeated Envelope envelopes = 1`), or a
 * chunk of one. Batches are framed by hand around envelopes that were encoded
 * once, at `send`, so a payload is copied once on the way out; decoding
 * returns views into the received buffer for the same reason.
 */

const ENVELOPE_TAG = (1 << 3) | 2;

/** Bytes a varint takes for `value` (a non-negative integer below 2^53). */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes an envelope of `envelopeBytes` adds to a batch. */
export function batchEntrySize(envelopeBytes: number): number {
  return 1 + varintSize(envelopeBytes) + envelopeBytes;
}

/** The most a batch of one envelope exceeds the envelope: a tag and a length of at most 5 bytes. */
export const BATCH_OVERHEAD_BYTES = 6;

/**
 * Encodes `envelopes` (each already a `synod.peer.v1.Envelope`) as one
 * `EnvelopeBatch`. `entriesBytes` must be the sum of {@link batchEntrySize}
 * over them.
 */
export function encodeBatch(envelopes: readonly Uint8Array[], entriesBytes: number): Uint8Array {
  const out = Buffer.allocUnsafe(entriesBytes);
  let at = 0;
  for (const envelope of envelopes) {
    out[at++] = ENVELOPE_TAG;
    let length = envelope.byteLength;
    while (length >= 0x80) {
      out[at++] = (length & 0x7f) | 0x80;
      length = Math.floor(length / 128);
    }
    out[at++] = length;
    out.set(envelope, at);
    at += envelope.byteLength;
  }
  return out;
}

/**
 * Splits an `EnvelopeBatch` into its envelopes, still encoded (views into
 * `bytes`). Unknown fields are skipped, as protobuf allows.
 *
 * @throws CorruptionError when the bytes are not a well-formed batch
 */
export function decodeBatch(bytes: Uint8Array): Uint8Array[] {
  const envelopes: Uint8Array[] = [];
  let pos = 0;
  const end = bytes.byteLength;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (pos >= end) throw new CorruptionError('truncated varint');
      const byte = bytes[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new CorruptionError('varint too long');
  };
  const advance = (n: number): void => {
    if (n > end - pos) throw new CorruptionError(`a field of ${n} bytes overruns the batch`);
    pos += n;
  };
  while (pos < end) {
    const tag = varint();
    if (tag >>> 3 === 0 || tag > 0xffffffff) throw new CorruptionError('bad field tag');
    const wireType = tag & 7;
    if (tag === ENVELOPE_TAG) {
      const length = varint();
      const start = pos;
      advance(length);
      envelopes.push(bytes.subarray(start, pos));
    } else if (wireType === 0) {
      varint();
    } else if (wireType === 1) {
      advance(8);
    } else if (wireType === 2) {
      advance(varint());
    } else if (wireType === 5) {
      advance(4);
    } else {
      throw new CorruptionError(`unsupported wire type ${wireType}`);
    }
  }
  return envelopes;
}
