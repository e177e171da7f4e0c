import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';

/**
 * A Multi-Paxos membership change is a `conf-change` value holding the
 * complete new list of voters: `[count u16]` then per voter
 * `[length u8][id utf8]`. Whole lists rather than deltas make every
 * replica's configuration a function of one chosen value, with nothing to
 * replay.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @throws InvalidArgumentError for an empty list, duplicates or ids longer than 255 bytes. */
export function encodeVoters(voters: readonly NodeId[]): Uint8Array {
  if (voters.length === 0) throw new InvalidArgumentError('a configuration needs at least one voter');
  if (new Set(voters).size !== voters.length) throw new InvalidArgumentError('duplicate voter in configuration');
  const ids = voters.map((v) => encoder.encode(v));
  const out = new Uint8Array(2 + ids.reduce((n, id) => n + 1 + id.length, 0));
  out[0] = voters.length >>> 8;
  out[1] = voters.length & 0xff;
  let at = 2;
  for (const id of ids) {
    if (id.length > 255 || id.length === 0) throw new InvalidArgumentError('voter ids must be 1 to 255 bytes');
    out[at] = id.length;
    out.set(id, at + 1);
    at += 1 + id.length;
  }
  return out;
}

/** @throws CorruptionError for malformed bytes. */
export function decodeVoters(data: Uint8Array): NodeId[] {
  if (data.length < 2) throw new CorruptionError('truncated configuration');
  const count = (data[0]! << 8) | data[1]!;
  const voters: NodeId[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = data[at];
    if (length === undefined || length === 0 || at + 1 + length > data.length) throw new CorruptionError('truncated configuration');
    voters.push(decoder.decode(data.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  if (at !== data.length || voters.length === 0 || new Set(voters).size !== voters.length) {
    throw new CorruptionError('malformed configuration');
  }
  return voters;
}
