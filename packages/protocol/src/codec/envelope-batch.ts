import { CorruptionError } from '@synod/core';

/**
 * `synod.peer.v1.EnvelopeBatch` (`repeated Envelope envelopes = 1`), framed
 * by hand around envelopes that were encoded once, at `send`: re-encoding
 * them through generated message objects would copy every payload a second
 * time. Decoding returns views into the received buffer for the same reason.
 * The gRPC and NATS transports both carry their envelopes this way.
 *
 * @example
 * ```ts
 * const entriesBytes = envelopes.reduce((sum, e) => sum + batchEntrySize(e.byteLength), 0);
 * const batch = encodeEnvelopeBatch(envelopes, entriesBytes);
 * const views = decodeEnvelopeBatch(batch); // the same envelopes, still encoded
 * ```
 */

/** The tag of `EnvelopeBatch.envelopes` (field 1, length-delimited). */
const ENVELOPE_TAG = (1 << 3) | 2;

/** The most a batch of one envelope exceeds the envelope: a tag and a length of at most 5 bytes. */
export const BATCH_OVERHEAD_BYTES = 6;

/** Bytes a varint takes for `value` (a non-negative integer below 2^53). */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` as a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** Bytes an envelope of `envelopeBytes` adds to a batch. */
export function batchEntrySize(envelopeBytes: number): number {
  return 1 + varintSize(envelopeBytes) + envelopeBytes;
}

/**
 * Writes the entries of a batch of `envelopes` at `at` of `out`, which must
 * have room for the sum of {@link batchEntrySize} over them; returns the
 * offset after the last.
 */
export function writeEnvelopeBatch(out: Uint8Array, at: number, envelopes: readonly Uint8Array[]): number {
  for (const envelope of envelopes) {
    out[at++] = ENVELOPE_TAG;
    at = writeVarint(out, at, envelope.byteLength);
    out.set(envelope, at);
    at += envelope.byteLength;
  }
  return at;
}

/**
 * Encodes `envelopes` (each already a `synod.peer.v1.Envelope`) as one
 * `EnvelopeBatch`. `entriesBytes` must be the sum of {@link batchEntrySize}
 * over them.
 */
export function encodeEnvelopeBatch(envelopes: readonly Uint8Array[], entriesBytes: number): Buffer {
  const out = Buffer.allocUnsafe(entriesBytes);
  writeEnvelopeBatch(out, 0, envelopes);
  return out;
}

/**
 * Splits the `EnvelopeBatch` in `bytes[start, end)` into its envelopes, still
 * encoded (views into `bytes`). Fields of other numbers are skipped, as
 * protobuf allows.
 *
 * @throws CorruptionError when the bytes are not a well-formed batch
 */
export function decodeEnvelopeBatch(bytes: Uint8Array, start = 0, end = bytes.byteLength): Uint8Array[] {
  const reader = new ProtobufFieldReader(bytes, start, end);
  const envelopes: Uint8Array[] = [];
  while (!reader.done) {
    const tag = reader.tag();
    if (tag === ENVELOPE_TAG) {
      const field = reader.delimited();
      envelopes.push(bytes.subarray(field.start, field.end));
    } else {
      reader.skip(tag & 7);
    }
  }
  return envelopes;
}

/**
 * Reads the fields of one protobuf message strictly: any overrun, a varint
 * too long, field number 0 or an unknown wire type is corruption. For
 * transports that frame envelopes by hand (see {@link decodeEnvelopeBatch}).
 */
export class ProtobufFieldReader {
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

  /** A field's tag; field number 0 is corruption. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new CorruptionError('field number 0');
    return tag;
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
