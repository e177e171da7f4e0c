import type { NodeId } from '../transport/transport.js';
import type { Snapshot, SnapshotRequest } from './types.js';

/**
 * Chunked InstallSnapshot, both ends. A snapshot can be far larger than a
 * transport message, so the leader streams it in chunks of at most
 * `chunkBytes`, one chunk in flight per follower (stop-and-wait keeps the
 * follower's buffer and the leader's bookkeeping trivial; a snapshot is
 * rare and its chunks are large). Each chunk carries the metadata and its
 * byte offset, which lets a transfer resume where it stopped after a lost
 * message or a leader pause, and lets the follower ask for a restart when
 * it gets a chunk it cannot place (after its own restart, for example).
 */

/** Leader side: one outgoing snapshot stream per follower. */
export class SnapshotSender {
  readonly #streams = new Map<NodeId, { readonly snapshot: Snapshot; offset: number }>();
  readonly #chunkBytes: number;

  /** @param chunkBytes - most data bytes per chunk (at least 1). */
  constructor(chunkBytes: number) {
    this.#chunkBytes = Math.max(1, chunkBytes);
  }

  /**
   * The chunk to send `to` for `snapshot`: resumes the stream to `to` when it
   * is for the same snapshot, otherwise starts a new one at offset 0.
   */
  chunkFor(to: NodeId, snapshot: Snapshot): Omit<SnapshotRequest, 'from' | 'to' | 'term' | 'type'> {
    let stream = this.#streams.get(to);
    if (stream === undefined || stream.snapshot.metadata.index !== snapshot.metadata.index) {
      stream = { snapshot, offset: 0 };
      this.#streams.set(to, stream);
    }
    return this.#chunk(stream.snapshot, stream.offset);
  }

  /**
   * A follower acknowledged (or asked to resume from) `offset` of the
   * snapshot at `index`. Returns the next chunk to send, or undefined when
   * the answer is stale or the whole snapshot was sent (the follower then
   * answers with an append-response).
   */
  onResponse(
    from: NodeId,
    index: number,
    offset: number,
    reject: boolean,
  ): Omit<SnapshotRequest, 'from' | 'to' | 'term' | 'type'> | undefined {
    const stream = this.#streams.get(from);
    if (stream === undefined || stream.snapshot.metadata.index !== index) return undefined;
    const total = stream.snapshot.data.byteLength;
    if (offset > total) return undefined;
    if (!reject && offset < stream.offset) return undefined; // a duplicate of an older acknowledgement
    stream.offset = offset;
    if (offset === total && !reject) return undefined;
    return this.#chunk(stream.snapshot, offset);
  }

  /** Forgets every stream (leadership changed). */
  clear(): void {
    this.#streams.clear();
  }

  #chunk(snapshot: Snapshot, offset: number): Omit<SnapshotRequest, 'from' | 'to' | 'term' | 'type'> {
    const data = snapshot.data.subarray(offset, offset + this.#chunkBytes);
    return { snapshot: { metadata: snapshot.metadata, data }, offset, totalBytes: snapshot.data.byteLength };
  }
}

/** What a follower does with a chunk. */
export type ChunkOutcome =
  | { readonly kind: 'complete'; readonly snapshot: Snapshot }
  /** Acknowledge: the first `offset` bytes are here. */
  | { readonly kind: 'partial'; readonly offset: number }
  /** Unexpected chunk: ask the leader to resume from `offset`. */
  | { readonly kind: 'resend'; readonly offset: number };

/** Follower side: reassembles the one snapshot being received. */
export class SnapshotReceiver {
  #current:
    | { readonly key: string; readonly metadata: Snapshot['metadata']; readonly total: number; chunks: Uint8Array[]; received: number }
    | undefined;

  accept(m: SnapshotRequest): ChunkOutcome {
    const { metadata, data } = m.snapshot;
    const key = `${m.from}/${m.term}/${metadata.index}/${metadata.term}/${m.totalBytes}`;
    if (m.offset === 0) {
      this.#current = { key, metadata, total: m.totalBytes, chunks: [], received: 0 };
    }
    const current = this.#current;
    if (current === undefined || current.key !== key) return { kind: 'resend', offset: 0 };
    if (m.offset !== current.received) {
      // A duplicate of a chunk we hold is just acknowledged again; a gap asks for a resend.
      return m.offset < current.received ? { kind: 'partial', offset: current.received } : { kind: 'resend', offset: current.received };
    }
    // Copy: the chunk may alias a transport buffer.
    current.chunks.push(data.slice());
    current.received += data.byteLength;
    if (current.received < current.total) return { kind: 'partial', offset: current.received };
    this.#current = undefined;
    const whole = new Uint8Array(current.total);
    let at = 0;
    for (const chunk of current.chunks) {
      whole.set(chunk, at);
      at += chunk.byteLength;
    }
    return { kind: 'complete', snapshot: { metadata: current.metadata, data: whole } };
  }

  /** Drops a partial snapshot (for example when the term changes). */
  clear(): void {
    this.#current = undefined;
  }
}
