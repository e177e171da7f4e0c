import { CorruptionError } from '../errors/errors.js';
import type { Entry } from '../raft/types.js';
import { sliceOfSharedBlock } from '../util/shared-blocks.js';
import { ZERO_BALLOT, type Ballot } from './ballot.js';
import type { AcceptedSlot } from './types.js';

/**
 * How an accepted slot is stored as a log entry of the Storage contract:
 * `index` = slot, `term` = the ballot's round, `type` as is, and
 * `data` = `[node id length u8][node id utf8][value]`. A slot with nothing
 * accepted (a gap below the last accepted slot; Storage logs are
 * contiguous) is an entry with term 0 and empty data.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encoded node ids: a log holds few distinct ballot owners, and encoding one per entry showed in profiles. */
const nodeBytes = new Map<string, Uint8Array>();

function encodeNode(node: string): Uint8Array {
  let bytes = nodeBytes.get(node);
  if (bytes === undefined) {
    bytes = encoder.encode(node);
    if (nodeBytes.size >= 1024) nodeBytes.clear();
    nodeBytes.set(node, bytes);
  }
  return bytes;
}


export function encodeSlotEntry(slot: AcceptedSlot): Entry {
  const node = encodeNode(slot.ballot.node);
  if (node.length > 255) throw new RangeError('node id longer than 255 bytes');
  const data = sliceOfSharedBlock(1 + node.length + slot.data.length);
  data[0] = node.length;
  data.set(node, 1);
  data.set(slot.data, 1 + node.length);
  return { index: slot.slot, term: slot.ballot.round, type: slot.type, data };
}

/** The placeholder for a slot below the last accepted one where nothing was accepted. */
export function gapEntry(slot: number): Entry {
  return { index: slot, term: 0, type: 'normal', data: new Uint8Array(0) };
}

/** Decodes a stored entry; undefined for a gap. @throws CorruptionError for malformed data. */
export function decodeSlotEntry(entry: Entry): AcceptedSlot | undefined {
  if (entry.term === 0) return undefined;
  const length = entry.data[0];
  if (length === undefined || 1 + length > entry.data.length) throw new CorruptionError(`malformed paxos log entry at ${entry.index}`);
  const ballot: Ballot = { round: entry.term, node: decoder.decode(entry.data.subarray(1, 1 + length)) };
  return { slot: entry.index, ballot: ballot.round === 0 ? ZERO_BALLOT : ballot, type: entry.type, data: entry.data.subarray(1 + length) };
}

/** The value as the state machine sees it: the slot's entry with the ballot prefix removed. */
export function chosenEntry(slot: AcceptedSlot): Entry {
  return { index: slot.slot, term: slot.ballot.round, type: slot.type, data: slot.data };
}
