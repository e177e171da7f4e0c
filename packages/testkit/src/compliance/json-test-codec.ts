import type { Envelope } from '@synod/core';

/** An envelope codec: the shape `MemoryNetwork` accepts as `codec`. */
export interface TestEnvelopeCodec {
  encode(envelope: Envelope): Uint8Array;
  decode(bytes: Uint8Array): Envelope;
}

// Tags for values JSON cannot carry. A plain object that happens to have
// exactly these keys would be misread; test payloads do not, and the codec is
// for tests only.
const BYTES_TAG = '$synod.bytes';
const BIGINT_TAG = '$synod.bigint';

function replacer(this: unknown, key: string, value: unknown): unknown {
  // Read the holder, not `value`: a Buffer's toJSON has already turned
  // `value` into { type: 'Buffer', data: [...] } by the time we see it.
  const original = (this as Record<string, unknown>)[key];
  if (original instanceof Uint8Array) {
    return { [BYTES_TAG]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
  }
  if (typeof value === 'bigint') return { [BIGINT_TAG]: value.toString() };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const record = value as Record<string, unknown>;
  const bytes = record[BYTES_TAG];
  if (typeof bytes === 'string') {
    // Copy into a fresh Uint8Array: a Buffer may be a view into Node's shared
    // pool, and tests compare plain Uint8Array instances.
    return new Uint8Array(Buffer.from(bytes, 'base64'));
  }
  const bigint = record[BIGINT_TAG];
  if (typeof bigint === 'string') return BigInt(bigint);
  return value;
}

/**
 * A JSON envelope codec for tests: a real encode/decode round trip (so every
 * delivered payload is a fresh object graph) that keeps `Uint8Array` and
 * `bigint` values intact. Not a wire format; the production codec lives in
 * `@synod/protocol`.
 *
 * @example
 * ```ts
 * const network = new MemoryNetwork({ clock, random, codec: jsonTestCodec });
 * ```
 */
export const jsonTestCodec: TestEnvelopeCodec = {
  encode(envelope) {
    return new TextEncoder().encode(JSON.stringify(envelope, replacer));
  },
  decode(bytes) {
    return JSON.parse(new TextDecoder().decode(bytes), reviver) as Envelope;
  },
};
