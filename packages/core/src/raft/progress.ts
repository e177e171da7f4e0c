import { Inflights } from './inflights.js';

/**
 * How the leader replicates to one follower (the probe/replicate/snapshot
 * design of etcd's raft, following Raft thesis §3.5 and §10.2.1):
 *
 * - `probe`: the leader does not know where the follower's log matches its
 *   own. It sends one append at a time and waits for the answer (or the next
 *   heartbeat response) before sending another, walking `next` backwards on
 *   rejection.
 * - `replicate`: the logs are known to match up to `match`. The leader
 *   pipelines appends optimistically, advancing `next` as it sends, bounded
 *   by the in-flight window.
 * - `snapshot`: the follower needs entries the leader has compacted; a
 *   snapshot was sent and nothing else is sent until it is acknowledged.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one peer's log. */
export class Progress {
  /** Highest index known to be replicated on the peer. */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In the snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /**
   * True when the peer answered anything since the last CheckQuorum round
   * (§6.2 of the thesis: the leader steps down when a quorum is silent).
   */
  recentActive = false;
  /**
   * Lease time (see `LeaseClock`) at which the leader sent the newest
   * heartbeat the peer acknowledged: the peer heard from the leader no
   * earlier than this. Times the read lease.
   */
  lastContactAt = -Infinity;
  /** In the probe state: an append is outstanding, so wait before sending another. */
  probeSent = false;
  /** Highest commit index sent to the peer, to skip redundant empty appends. */
  sentCommit = 0;
  /** In the snapshot state: one CheckQuorum round passed without an acknowledgement. */
  snapshotStale = false;
  readonly inflights: Inflights;
  /** Learners receive the log but never vote and never count toward commit. */
  isLearner: boolean;

  constructor(options: { next: number; match?: number; maxInflight: number; maxInflightBytes: number; isLearner: boolean }) {
    this.next = options.next;
    this.match = options.match ?? 0;
    this.inflights = new Inflights(options.maxInflight, options.maxInflightBytes);
    this.isLearner = options.isLearner;
  }

  #resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotStale = false;
    this.inflights.reset();
  }

  /** Back to probing from just after the known match (or after a snapshot that was sent). */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState('probe');
      this.next = this.match + 1;
    }
  }

  /** The logs match up to `match`: start pipelining from there. */
  becomeReplicate(): void {
    this.#resetState('replicate');
    this.next = this.match + 1;
  }

  /** A snapshot at `snapshotIndex` was sent; pause until it is acknowledged. */
  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /**
   * Records that an append carrying `count` entries (`bytes` of data) was
   * sent. In replicate the leader assumes it will succeed and moves `next`
   * on (optimistic pipelining); in probe it waits for the answer instead.
   */
  sentEntries(count: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next += count;
        this.inflights.add(this.next - 1, bytes);
      }
    } else if (this.state === 'probe') {
      // Every append in probe is a probe, empty or not: wait for its answer
      // (or a heartbeat response) before sending another.
      this.probeSent = true;
    }
  }

  /** Records the commit index carried by a message sent to the peer. */
  recordSentCommit(commit: number): void {
    this.sentCommit = Math.max(this.sentCommit, commit);
  }

  /**
   * A successful append response for `index`. Returns false when it was
   * stale (nothing new learned).
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejected append for `rejected` (its prevLogIndex), with `matchHint`
   * the highest index that might still match. Returns false when the
   * rejection is stale (it concerns a message older than what we know).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Everything at or below match is known good; a rejection there is a
      // reordered old message.
      if (rejected <= this.match) return false;
      // The pipeline was wrong from match on: restart from there.
      this.next = this.match + 1;
      return true;
    }
    // In probe only the outstanding probe (at next-1) is meaningful.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** True when the leader must not send appends to this peer now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
