import { CorruptionError } from '../errors/errors.js';
import type { Entry, EntryType } from '../raft/types.js';
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

/** Encoded node ids (utf8): a log holds few distinct ballot owners, and encoding one per entry showed in profiles. */
const nodeBytes = new Map<string, Uint8Array>();

export function encodeNode(node: string): Uint8Array {
  let bytes = nodeBytes.get(node);
  if (bytes === undefined) {
    bytes = encoder.encode(node);
    if (nodeBytes.size >= 1024) nodeBytes.clear();
    nodeBytes.set(node, bytes);
  }
  return bytes;
}

/**
 * Bytes in front of a value that its storage form needs for a ballot owned
 * by `node` (`[node id length][node id]`), or undefined when the id is too
 * long to store.
 */
export function storagePrefixBytes(node: string): number | undefined {
  const length = encodeNode(node).length;
  return length > 255 ? undefined : 1 + length;
}

/**
 * Writes the storage prefix for a ballot owned by `node` into the first
 * {@link storagePrefixBytes} bytes of `buffer`, whose rest is the value:
 * `buffer` is then the storage form's data as it stands.
 */
export function writeStoragePrefix(buffer: Uint8Array, node: string): void {
  const bytes = encodeNode(node);
  buffer[0] = bytes.length;
  // Byte by byte: an id is a few bytes, and TypedArray.set costs more than the copy for so few (once per proposal).
  for (let i = 0; i < bytes.length; i++) buffer[1 + i] = bytes[i]!;
}

/** The storage form of `slot`: `[node id length][node id][value]` after the ballot's round as the term. */
function encodeStored(slot: AcceptedSlot): Entry {
  const node = encodeNode(slot.ballot.node);
  if (node.length > 255) throw new RangeError('node id longer than 255 bytes');
  const data = sliceOfSharedBlock(1 + node.length + slot.data.length);
  data[0] = node.length;
  data.set(node, 1);
  data.set(slot.data, 1 + node.length);
  return { index: slot.slot, term: slot.ballot.round, type: slot.type, data };
}

/**
 * An accepted value as the core keeps it: both an {@link AcceptedSlot} and,
 * as it is once chosen, the {@link Entry} the state machine applies
 * (`index` = slot, `term` = the ballot's round), with its storage form
 * encoded at most once.
 *
 * Why: a slot used to cost an accepted-value object, a storage entry with a
 * copy of the value and a chosen-entry object on every node, and garbage
 * collection of those was the largest single cost of a busy cluster. The
 * object never changes once built (the storage form is derived from it), so
 * an acceptor that receives one in an accept for the same ballot keeps the
 * same object (over an in-process transport: no copy at all).
 *
 * @example
 * const value = new StoredSlot(7, { round: 2, node: 'n1' }, 'normal', bytes);
 * storage.append([value.stored()]); // encoded once, then cached
 */
export class StoredSlot implements AcceptedSlot, Entry {
  readonly slot: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
  readonly #ballot: Ballot;
  #stored: Entry | undefined;

  constructor(slot: number, ballot: Ballot, type: EntryType, data: Uint8Array, stored?: Entry) {
    this.slot = slot;
    this.#ballot = ballot;
    this.type = type;
    this.data = data;
    this.#stored = stored;
  }

  /**
   * The ballot the value was accepted in. A getter, not an own field: the
   * leader sends its StoredSlots as the entries of an accept, which carries
   * one ballot for the message and none per entry (`SlotValue`), so what
   * walks a message's fields (the in-memory transport's size estimate, for
   * every accept to every acceptor) sees an accept entry as the wire
   * carries it. Messages whose entries carry ballots (promise, learn) get
   * plain copies (see {@link acceptedSlot}).
   */
  get ballot(): Ballot {
    return this.#ballot;
  }

  /**
   * Entry's `index`: the slot. Getters rather than copies in fields of their
   * own keep the object (held for every slot until compaction) smaller and
   * the in-memory transport's size estimate of accepts shorter.
   */
  get index(): number {
    return this.slot;
  }

  /** Entry's `term`: the ballot's round. */
  get term(): number {
    return this.ballot.round;
  }

  /** The storage form (see {@link encodeSlotEntry}), encoded on first use. */
  stored(): Entry {
    return (this.#stored ??= encodeStored(this));
  }

  /** `value` as a StoredSlot: itself when it is one already. */
  static of(value: AcceptedSlot): StoredSlot {
    return value instanceof StoredSlot ? value : new StoredSlot(value.slot, value.ballot, value.type, value.data);
  }
}

export function encodeSlotEntry(slot: AcceptedSlot): Entry {
  return slot instanceof StoredSlot ? slot.stored() : encodeStored(slot);
}

/** The placeholder for a slot below the last accepted one where nothing was accepted. */
export function gapEntry(slot: number): Entry {
  return { index: slot, term: 0, type: 'normal', data: new Uint8Array(0) };
}

/** Decodes a stored entry; undefined for a gap. @throws CorruptionError for malformed data. */
export function decodeSlotEntry(entry: Entry): StoredSlot | undefined {
  if (entry.term === 0) return undefined;
  const length = entry.data[0];
  if (length === undefined || 1 + length > entry.data.length) throw new CorruptionError(`malformed paxos log entry at ${entry.index}`);
  const ballot: Ballot = { round: entry.term, node: decoder.decode(entry.data.subarray(1, 1 + length)) };
  return new StoredSlot(entry.index, ballot.round === 0 ? ZERO_BALLOT : ballot, entry.type, entry.data.subarray(1 + length), entry);
}

/** `value` as a plain AcceptedSlot whose ballot is an own field, for messages that carry each entry's ballot. */
export function acceptedSlot(value: AcceptedSlot): AcceptedSlot {
  return { slot: value.slot, ballot: value.ballot, type: value.type, data: value.data };
}

/** The value as the state machine sees it: the slot's entry with the ballot prefix removed. */
export function chosenEntry(slot: AcceptedSlot): Entry {
  return slot instanceof StoredSlot ? slot : { index: slot.slot, term: slot.ballot.round, type: slot.type, data: slot.data };
}
