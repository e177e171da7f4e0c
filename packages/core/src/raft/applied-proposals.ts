import { CorruptionError } from '../errors/errors.js';
import { sameOriginAt } from './proposal-frame.js';

/** What is remembered about one proposer run (one origin). */
interface OriginRecord {
  readonly origin: Uint8Array;
  /** The highest sequence of this origin that was applied. */
  highest: number;
  /** The log index of that entry, to find the origin that has been quiet longest. */
  lastIndex: number;
}

/** Origins remembered by default; see {@link AppliedProposals}. */
export const DEFAULT_MAX_ORIGINS = 1024;

/**
 * Keeps a proposal from applying twice. The transport contract allows a
 * message to be duplicated, so a proposal that a follower forwards can reach
 * the leader twice and be appended twice; without this, both copies would
 * apply (a put replayed after a later delete brings the key back).
 *
 * Each node run (origin) numbers its proposals in the order it makes them,
 * so an entry applies only if its sequence is higher than every sequence of
 * the same origin applied before it. A copy applied earlier is skipped, and
 * so is a forwarded proposal that the network delivered after a later one
 * from the same node: it is skipped on every replica, so its proposer can
 * fail it with certainty that it never applied.
 *
 * This is replicated state: every replica makes the same decisions from the
 * same log, and the table travels in snapshots. It remembers the
 * {@link DEFAULT_MAX_ORIGINS} origins that applied most recently; a copy from
 * an origin forgotten since (one that has been quiet while a thousand other
 * node runs proposed) would apply again, which needs a message to be delayed
 * for far longer than any real network holds one.
 */
export class AppliedProposals {
  readonly #byOrigin = new Map<string, OriginRecord>();
  /** The record used last: consecutive entries nearly always share a proposer. */
  #recent: OriginRecord | undefined;

  constructor(private readonly maxOrigins = DEFAULT_MAX_ORIGINS) {}

  /**
   * Decides whether the proposal `sequence` of `origin`, committed at
   * `index`, applies, and records it if so. Every replica must call this for
   * the same entries in log order.
   */
  admit(origin: Uint8Array, sequence: number, index: number): boolean {
    return this.admitAt(origin, 0, origin.length, sequence, index);
  }

  /**
   * {@link admit} for the origin `data[start, end)`, read in place: applying
   * an entry then needs no view of its origin bytes.
   */
  admitAt(data: Uint8Array, start: number, end: number, sequence: number, index: number): boolean {
    const recent = this.#recent;
    let record = recent !== undefined && sameOriginAt(data, start, end, recent.origin) ? recent : undefined;
    if (record === undefined) {
      const key = originKey(data, start, end);
      record = this.#byOrigin.get(key);
      if (record === undefined) {
        record = { origin: data.slice(start, end), highest: -1, lastIndex: index };
        this.#byOrigin.set(key, record);
        this.#evictBeyondLimit();
      }
      this.#recent = record;
    }
    if (sequence <= record.highest) return false;
    record.highest = sequence;
    record.lastIndex = index;
    return true;
  }

  /** Number of origins remembered. */
  get size(): number {
    return this.#byOrigin.size;
  }

  /** The table as bytes: `[count u32]` then per origin `[length u16][origin][highest u64][lastIndex u64]`. */
  encode(): Uint8Array {
    let size = 4;
    for (const record of this.#byOrigin.values()) size += 2 + record.origin.length + 16;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.#byOrigin.size);
    let at = 4;
    for (const record of this.#byOrigin.values()) {
      view.setUint16(at, record.origin.length);
      out.set(record.origin, at + 2);
      at += 2 + record.origin.length;
      writeUint64(view, at, record.highest);
      writeUint64(view, at + 8, record.lastIndex);
      at += 16;
    }
    return out;
  }

  /**
   * Replaces the table with one from {@link encode}.
   *
   * @throws CorruptionError when the bytes are not a table.
   */
  restore(bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (at: number, n: number): void => {
      if (at + n > bytes.length) throw new CorruptionError('truncated applied-proposals table in snapshot');
    };
    need(0, 4);
    const count = view.getUint32(0);
    const records: OriginRecord[] = [];
    let at = 4;
    for (let i = 0; i < count; i++) {
      need(at, 2);
      const length = view.getUint16(at);
      need(at + 2, length + 16);
      const origin = bytes.slice(at + 2, at + 2 + length);
      at += 2 + length;
      records.push({ origin, highest: readUint64(view, at), lastIndex: readUint64(view, at + 8) });
      at += 16;
    }
    if (at !== bytes.length) throw new CorruptionError('trailing bytes after applied-proposals table in snapshot');
    this.#byOrigin.clear();
    this.#recent = undefined;
    for (const record of records) this.#byOrigin.set(originKey(record.origin), record);
  }

  /** Forgets the origin that has been quiet longest (deterministic: ties go to map order). */
  #evictBeyondLimit(): void {
    if (this.#byOrigin.size <= this.maxOrigins) return;
    let oldestKey: string | undefined;
    let oldestIndex = Infinity;
    for (const [key, record] of this.#byOrigin) {
      if (record.lastIndex < oldestIndex) {
        oldestIndex = record.lastIndex;
        oldestKey = key;
      }
    }
    if (oldestKey !== undefined) this.#byOrigin.delete(oldestKey);
  }
}

/** A Map key for origin bytes (origins are short). */
function originKey(origin: Uint8Array, start = 0, end = origin.length): string {
  let key = '';
  for (let i = start; i < end; i++) key += String.fromCharCode(origin[i]!);
  return key;
}

function writeUint64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 2 ** 32));
  view.setUint32(at + 4, value >>> 0);
}

function readUint64(view: DataView, at: number): number {
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
}
