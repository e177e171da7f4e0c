import type { Clock, NodeId, TimerHandle } from '@synod/core';

/**
 * Messages above the server's `max_payload` travel as chunks: consecutive
 * NATS messages on the same subject, each with the header
 * `Synod-Chunk: <message id> <index> <count>` and a slice of the batch as
 * payload. One publisher's messages on one subject reach a subscriber in the
 * order they were published, so the chunks of a message arrive one after the
 * other unless some are lost (a reconnect, a slow consumer); the receiver
 * then drops the whole message, never delivers part of it.
 */
export const CHUNK_HEADER = 'Synod-Chunk';

/**
 * Bytes of `max_payload` left for the chunk header (NATS counts headers in
 * `max_payload`): `NATS/1.0\r\nSynod-Chunk: <id> <index> <count>\r\n\r\n` is
 * at most 74 bytes with ids and counts below 2^53.
 */
export const CHUNK_HEADER_RESERVE = 128;

/** The header of one chunk. */
export interface ChunkHeader {
  readonly messageId: number;
  readonly index: number;
  readonly count: number;
}

export function formatChunkHeader(header: ChunkHeader): string {
  return `${header.messageId} ${header.index} ${header.count}`;
}

/** Reads a chunk header; undefined when it is not one. */
export function parseChunkHeader(value: string): ChunkHeader | undefined {
  const match = /^([0-9]{1,15}) ([0-9]{1,15}) ([0-9]{1,15})$/.exec(value);
  if (match === null) return undefined;
  const [messageId, index, count] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (count < 1 || index >= count) return undefined;
  return { messageId, index, count };
}

/** Slices `bytes` into pieces of at most `chunkBytes` (views, not copies). */
export function splitIntoChunks(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) chunks.push(bytes.subarray(at, Math.min(at + chunkBytes, bytes.byteLength)));
  return chunks;
}

/** Why a partly received message was dropped. */
export type ChunkDropReason = 'missing-chunk' | 'too-large' | 'timeout' | 'sender-removed' | 'closed';

interface Partial {
  readonly messageId: number;
  readonly count: number;
  readonly parts: Uint8Array[];
  bytes: number;
  readonly timer: TimerHandle;
}

/**
 * Puts chunked messages back together, at most one per sender at a time
 * (a sender's chunks arrive in order). A message completes only when every
 * chunk arrived, in order; a gap, a message larger than `maxBytes`, or
 * `timeoutMs` without completing drops it, and `onDrop` says so. A chunk that
 * belongs to no message in progress is dropped the same way.
 *
 * @example
 * ```ts
 * const reassembler = new Reassembler(4 << 20, 5_000, clock, (from, reason) => log(from, reason));
 * const whole = reassembler.add('n2', { messageId: 7, index: 0, count: 3 }, data); // undefined until the last chunk
 * ```
 */
export class Reassembler {
  readonly #partials = new Map<NodeId, Partial>();
  /** Per sender, the id of the last message dropped for a gap: its later chunks are ignored quietly, not counted again. */
  readonly #abandoned = new Map<NodeId, number>();
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #onDrop: (from: NodeId, reason: ChunkDropReason) => void;

  constructor(maxBytes: number, timeoutMs: number, clock: Clock, onDrop: (from: NodeId, reason: ChunkDropReason) => void) {
    this.#maxBytes = maxBytes;
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#onDrop = onDrop;
  }

  /** Senders with a message in progress. */
  get inProgress(): number {
    return this.#partials.size;
  }

  /** Adds one chunk from `from`; returns the whole message when this chunk completed it. */
  add(from: NodeId, header: ChunkHeader, data: Uint8Array): Uint8Array | undefined {
    if (header.index === 0) {
      // A first chunk always starts afresh: whatever was in progress lost its tail.
      if (this.#partials.has(from)) this.drop(from, 'missing-chunk');
      this.#abandoned.delete(from);
      if (header.count > this.#maxBytes || data.byteLength > this.#maxBytes) {
        this.#onDrop(from, 'too-large');
        return undefined;
      }
      if (header.count === 1) return data;
      const timer = this.#clock.setTimeout(() => this.drop(from, 'timeout'), this.#timeoutMs);
      // Copied: the client may reuse the buffer the view points into.
      this.#partials.set(from, { messageId: header.messageId, count: header.count, parts: [data.slice()], bytes: data.byteLength, timer });
      return undefined;
    }
    const partial = this.#partials.get(from);
    if (partial === undefined || partial.messageId !== header.messageId || partial.count !== header.count || partial.parts.length !== header.index) {
      if (partial !== undefined) this.drop(from, 'missing-chunk');
      else if (this.#abandoned.get(from) !== header.messageId) this.#onDrop(from, 'missing-chunk');
      this.#abandoned.set(from, header.messageId);
      return undefined;
    }
    partial.bytes += data.byteLength;
    if (partial.bytes > this.#maxBytes) {
      this.drop(from, 'too-large');
      return undefined;
    }
    partial.parts.push(data.slice());
    if (partial.parts.length < partial.count) return undefined;
    this.#clock.clearTimeout(partial.timer);
    this.#partials.delete(from);
    return Buffer.concat(partial.parts, partial.bytes);
  }

  /** Drops the message in progress from `from`, if any. */
  drop(from: NodeId, reason: ChunkDropReason): void {
    const partial = this.#partials.get(from);
    if (partial === undefined) return;
    this.#clock.clearTimeout(partial.timer);
    this.#partials.delete(from);
    this.#abandoned.set(from, partial.messageId);
    this.#onDrop(from, reason);
  }

  /** Forgets `from` altogether (it left the membership). */
  forget(from: NodeId): void {
    this.drop(from, 'sender-removed');
    this.#abandoned.delete(from);
  }

  /** Drops every message in progress. */
  clear(reason: ChunkDropReason): void {
    for (const from of [...this.#partials.keys()]) this.drop(from, reason);
  }
}
