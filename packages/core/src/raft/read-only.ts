import { internalTestMutations as mutations } from '../internal/test-mutations.js';
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
  /** Orders the requests: the number in `key`. */
  readonly seq: number;
  /** Voters that acknowledged a heartbeat round carrying this key. */
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
 *
 * At most one round is in flight, as etcd's server keeps one read-index
 * request outstanding: a request that arrives while a round is on its way
 * cannot use it (its heartbeats left before the request arrived), so it
 * waits for the next round, which {@link ReadOnly.startRound} sends for every
 * request queued by then once the round in flight is confirmed. Under load
 * that is one round per round trip, however many reads arrive, rather than
 * one per request.
 */
export class ReadOnly {
  readonly #queue: PendingRead[] = [];
  #seq = 0;
  /** The sequence number of the newest key a heartbeat round carried. */
  #sentThrough = 0;
  readonly #prefix: string;

  /** @param prefix - makes keys unique across terms, so a late echo from an old term cannot match. */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Queues a request and returns its heartbeat key. */
  add(context: string, from: NodeId, index: number): string {
    const seq = ++this.#seq;
    const key = `${this.#prefix}.${seq}`;
    this.#queue.push({ context, from, index, key, seq, acks: new Set() });
    return key;
  }

  /** Records that `id` echoed `key`; returns the acks of that request, or undefined for an unknown key. */
  recordAck(id: NodeId, key: string): ReadonlySet<NodeId> | undefined {
    const request = this.#find(key);
    if (request === undefined) return undefined;
    request.acks.add(id);
    return request.acks;
  }

  /** Removes and returns the request with `key` and every request queued before it. */
  release(key: string): PendingRead[] {
    const request = this.#find(key);
    if (request === undefined) return [];
    // Test-only mutation (see internal/test-mutations.ts): requests that arrived after the round left are answered by it too.
    const through = mutations.readJoinsRoundInFlight ? this.#queue.length : this.#queue.indexOf(request) + 1;
    return this.#queue.splice(0, through);
  }

  /**
   * Whether a pending request waits for a round that has not been sent,
   * while no round that could confirm an earlier request is on its way:
   * then the caller should send one now (with {@link ReadOnly.startRound}).
   */
  wantsRound(): boolean {
    const queue = this.#queue;
    return queue.length > 0 && queue[0]!.seq > this.#sentThrough;
  }

  /**
   * The key of the newest pending request, for a heartbeat round about to
   * leave (a read round, or a regular heartbeat, so that lost rounds retry);
   * every request queued so far counts as having a round in flight. Empty
   * when nothing is pending.
   */
  startRound(): string {
    const queue = this.#queue;
    if (queue.length === 0) return '';
    const newest = queue[queue.length - 1]!;
    this.#sentThrough = newest.seq;
    return newest.key;
  }

  /** Removes and returns every pending request (leadership lost). */
  drain(): PendingRead[] {
    return this.#queue.splice(0, this.#queue.length);
  }

  get size(): number {
    return this.#queue.length;
  }

  /** The pending request with `key`. Keys of this term are `prefix.seq`, so the number finds it without a scan of the keys. */
  #find(key: string): PendingRead | undefined {
    const queue = this.#queue;
    if (queue.length === 0 || !key.startsWith(this.#prefix) || key.charCodeAt(this.#prefix.length) !== 0x2e /* '.' */) return undefined;
    const seq = Number(key.slice(this.#prefix.length + 1));
    // Sequence numbers are consecutive among the pending requests (release removes a prefix).
    const request = queue[seq - queue[0]!.seq];
    return request !== undefined && request.key === key ? request : undefined;
  }
}
