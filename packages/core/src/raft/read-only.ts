import type { NodeId } from '../transport/transport.js';

/** A read-index request waiting for its heartbeat round (thesis §6.4). */
export interface PendingRead {
  /** The caller's context, returned unchanged in the ReadState. */
  readonly context: string;
  /** Who asked: the leader itself, or the follower that forwarded it. */
  readonly from: NodeId;
  /** The leader's commit index when the request arrived: the read index. */
  readonly index: number;
  /** The key carried by the heartbeat round that confirms this request. */
  readonly key: string;
  /** Voters that acknowledged a heartbeat round carrying this key (or a later one). */
  readonly acks: Set<NodeId>;
}

/**
 * Bookkeeping for ReadIndex (thesis §6.4). The leader records its commit
 * index for each request, then sends a heartbeat round tagged with a key of
 * its own making; once a quorum echoes the key, the leader knows it was
 * still the leader when the request arrived, so the recorded index is safe.
 *
 * Keys are generated here rather than taken from the caller's context, so
 * two requests with the same context (from two followers, say) never
 * collide. Requests are released in arrival order: a quorum for a later key
 * also confirms every earlier request, since its heartbeats were sent later.
 */
export class ReadOnly {
  readonly #queue: PendingRead[] = [];
  #seq = 0;
  readonly #prefix: string;

  /** @param prefix - makes keys unique across terms, so a late echo from an old term cannot match. */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Queues a request and returns its heartbeat key. */
  add(context: string, from: NodeId, index: number): string {
    const key = `${this.#prefix}.${++this.#seq}`;
    this.#queue.push({ context, from, index, key, acks: new Set() });
    return key;
  }

  /** Records that `id` echoed `key`; returns the acks of that request, or undefined for an unknown key. */
  recordAck(id: NodeId, key: string): ReadonlySet<NodeId> | undefined {
    const request = this.#queue.find((r) => r.key === key);
    if (request === undefined) return undefined;
    request.acks.add(id);
    return request.acks;
  }

  /** Removes and returns the request with `key` and every request queued before it. */
  release(key: string): PendingRead[] {
    const position = this.#queue.findIndex((r) => r.key === key);
    if (position < 0) return [];
    return this.#queue.splice(0, position + 1);
  }

  /** The key of the newest pending request, to piggyback on regular heartbeats (so lost rounds retry). */
  lastPendingKey(): string {
    return this.#queue.length === 0 ? '' : this.#queue[this.#queue.length - 1]!.key;
  }

  /** Removes and returns every pending request (leadership lost). */
  drain(): PendingRead[] {
    return this.#queue.splice(0, this.#queue.length);
  }

  get size(): number {
    return this.#queue.length;
  }
}
