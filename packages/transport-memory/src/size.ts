import type { Envelope } from '@synod/core';

/**
 * Turns envelopes into bytes and back. The wire codec of `@synod/protocol`
 * has this shape; any object with these two methods will do.
 *
 * @example
 * ```ts
 * const network = new MemoryNetwork({ clock, random, codec: protocolCodec });
 * ```
 */
export interface EnvelopeCodec {
  encode(envelope: Envelope): Uint8Array;
  decode(bytes: Uint8Array): Envelope;
}

/** Estimates the encoded size of an envelope in bytes. */
export type EnvelopeSizer = (envelope: Envelope) => number;

// Rough per-field framing, close to protobuf's tag + length prefix for small
// fields. The estimate only has to be in the right range: its job is to make
// oversized messages fail in memory tests the way they would on a real wire.
const FIELD_OVERHEAD = 2;

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one code point of four bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * `ancestors` holds the objects on the path from the envelope down to
 * `value`: an object found among them closes a cycle. Payloads are shallow,
 * so a short array beats a Set here. `plainOwnOnly` says that for-in visits
 * only own fields of a plain object (see {@link estimateEnvelopeSize}).
 */
function valueSize(value: unknown, ancestors: object[], plainOwnOnly: boolean): number {
  switch (typeof value) {
    case 'string':
      return utf8Length(value) + FIELD_OVERHEAD;
    case 'number':
    case 'bigint':
      return 8 + 1;
    case 'boolean':
      return 1 + 1;
    case 'undefined':
    case 'function':
    case 'symbol':
      // Not carried by any wire format.
      return 0;
    case 'object':
      break;
  }
  if (value === null) return 1;
  const object = value as object;
  if (ArrayBuffer.isView(object)) return object.byteLength + FIELD_OVERHEAD;
  if (object instanceof ArrayBuffer) return object.byteLength + FIELD_OVERHEAD;
  // A cycle cannot be encoded; counting it once keeps the estimate finite.
  if (ancestors.includes(object)) return 0;
  ancestors.push(object);
  let total = FIELD_OVERHEAD;
  if (Array.isArray(object)) {
    for (const item of object) total += valueSize(item, ancestors, plainOwnOnly);
  } else if (object instanceof Map) {
    for (const [key, item] of object) {
      total += valueSize(key, ancestors, plainOwnOnly) + valueSize(item, ancestors, plainOwnOnly);
    }
  } else if (object instanceof Set) {
    for (const item of object) total += valueSize(item, ancestors, plainOwnOnly);
  } else if (object instanceof Date) {
    total += 8;
  } else {
    const record = object as Record<string, unknown>;
    // for-in rather than Object.values: no array per object. Only own
    // fields count, as with Object.values; a plain object has no others
    // (unless Object.prototype got enumerable fields), so it skips the
    // per-field check, which costs more than the rest of the walk.
    const ownOnly = plainOwnOnly && Object.getPrototypeOf(record) === Object.prototype;
    for (const key in record) {
      // Field names cost a tag on the wire, not their text; one byte is close.
      if (ownOnly || Object.hasOwn(record, key)) total += 1 + valueSize(record[key], ancestors, plainOwnOnly);
    }
  }
  ancestors.pop();
  return total;
}

/**
 * The default {@link EnvelopeSizer}: a structural estimate of the encoded
 * size. Byte arrays count their length, strings their UTF-8 length, numbers
 * eight bytes, plus a little framing per field. Used when no codec is given.
 *
 * @example
 * ```ts
 * estimateEnvelopeSize({ clusterId: 'c', from: 'a', to: 'b', protocol: 'raft', payload: new Uint8Array(100) }); // ≈ 115
 * ```
 */
export function estimateEnvelopeSize(envelope: Envelope): number {
  const ancestors: object[] = [];
  const plainOwnOnly = !hasEnumerableFields(Object.prototype);
  return (
    valueSize(envelope.clusterId, ancestors, plainOwnOnly) +
    valueSize(envelope.from, ancestors, plainOwnOnly) +
    valueSize(envelope.to, ancestors, plainOwnOnly) +
    valueSize(envelope.protocol, ancestors, plainOwnOnly) +
    valueSize(envelope.payload, ancestors, plainOwnOnly)
  );
}

/** Whether for-in finds anything on `object` (own or inherited enumerable fields). */
function hasEnumerableFields(object: object): boolean {
  for (const _ in object) return true;
  return false;
}
