import type { NodeId } from '../transport/transport.js';
import { Progress } from './progress.js';
import { jointValue, jointVoteResult, jointVoters } from './quorum.js';
import type { JointConfig, VoteResult } from './quorum.js';
import type { ConfState } from './types.js';

/** The membership a tracker works with, in the shape quorum.ts understands. */
export interface TrackerConfig {
  readonly voters: JointConfig;
  readonly learners: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

/** Builds a tracker config from a persisted `ConfState`. */
export function trackerConfigFromConfState(confState: ConfState): TrackerConfig {
  return {
    voters: { incoming: new Set(confState.voters), outgoing: new Set(confState.votersOutgoing) },
    learners: new Set(confState.learners),
    autoLeave: confState.autoLeave,
  };
}

/**
 * Per-peer progress and the votes of the current election, plus the quorum
 * questions the state machine asks about them. All quorum decisions go
 * through quorum.ts, so a joint configuration (thesis §4.3) is handled
 * wherever a decision is made.
 */
export class ProgressTracker {
  #config: TrackerConfig;
  readonly #progress = new Map<NodeId, Progress>();
  readonly #votes = new Map<NodeId, boolean>();
  readonly #maxInflight: number;
  readonly #maxInflightBytes: number;

  constructor(config: TrackerConfig, limits: { maxInflight: number; maxInflightBytes: number }) {
    this.#config = config;
    this.#maxInflight = limits.maxInflight;
    this.#maxInflightBytes = limits.maxInflightBytes;
  }

  get config(): TrackerConfig {
    return this.#config;
  }

  /** Replaces the membership (on restore from a snapshot); progress is rebuilt by the next {@link resetProgress}. */
  setConfig(config: TrackerConfig): void {
    this.#config = config;
  }

  /**
   * Switches to a new membership when a conf-change is applied. Members that
   * stay keep their progress (only their learner flag may flip); new members
   * start as a new leader would see them, but count as recently active so
   * that CheckQuorum gives them a round to answer; removed members are
   * forgotten, votes included.
   */
  reconfigure(config: TrackerConfig, lastIndex: number): void {
    this.#config = config;
    const voters = new Set(this.voterIds());
    for (const id of [...this.#progress.keys()]) {
      if (!voters.has(id) && !config.learners.has(id)) this.#progress.delete(id);
    }
    for (const id of [...this.#votes.keys()]) if (!voters.has(id)) this.#votes.delete(id);
    const ensure = (id: NodeId, isLearner: boolean): void => {
      const existing = this.#progress.get(id);
      if (existing !== undefined) {
        existing.isLearner = isLearner;
        return;
      }
      const pr = new Progress({
        next: lastIndex + 1,
        maxInflight: this.#maxInflight,
        maxInflightBytes: this.#maxInflightBytes,
        isLearner,
      });
      pr.recentActive = true;
      this.#progress.set(id, pr);
    };
    // A demoted voter is also listed as learner while joint: it votes until the joint config is left.
    for (const id of voters) ensure(id, false);
    for (const id of config.learners) if (!voters.has(id)) ensure(id, true);
  }

  /** The membership as a `ConfState`. */
  confState(): ConfState {
    return {
      voters: [...this.#config.voters.incoming],
      votersOutgoing: [...this.#config.voters.outgoing],
      learners: [...this.#config.learners],
      autoLeave: this.#config.autoLeave,
    };
  }

  isVoter(id: NodeId): boolean {
    return this.#config.voters.incoming.has(id) || this.#config.voters.outgoing.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.isVoter(id) || this.#config.learners.has(id);
  }

  /** All voters, in configuration order. */
  voterIds(): NodeId[] {
    return jointVoters(this.#config.voters);
  }

  /** True when `id` is the one and only voter (a single-node cluster needs no round trips). */
  isSingleton(id: NodeId): boolean {
    const voters = this.voterIds();
    return voters.length === 1 && voters[0] === id;
  }

  /** Every member's progress (voters first, then learners). */
  progress(): ReadonlyMap<NodeId, Progress> {
    return this.#progress;
  }

  get(id: NodeId): Progress | undefined {
    return this.#progress.get(id);
  }

  /**
   * Rebuilds progress for every member as a new leader (or a restarted
   * follower) sees it: nothing is known to match, and the next index to try
   * is just past the leader's log (§5.3: nextIndex starts at lastLogIndex+1).
   */
  resetProgress(lastIndex: number, selfId: NodeId, selfMatch: number): void {
    this.#progress.clear();
    const add = (id: NodeId, isLearner: boolean): void => {
      if (this.#progress.has(id)) return;
      const pr = new Progress({
        next: lastIndex + 1,
        match: id === selfId ? selfMatch : 0,
        maxInflight: this.#maxInflight,
        maxInflightBytes: this.#maxInflightBytes,
        isLearner,
      });
      this.#progress.set(id, pr);
    };
    for (const id of this.voterIds()) add(id, false);
    for (const id of this.#config.learners) add(id, true);
  }

  /**
   * The highest index replicated on a quorum of voters (on each half of a
   * joint config). Learners do not count. Callers still apply the
   * current-term rule of §5.4.2 before committing.
   */
  committed(): number {
    return jointValue(this.#config.voters, (id) => this.#progress.get(id)?.match);
  }

  /** The latest lease time at which a quorum of voters had confirmed the leader, counting the leader at `now`. */
  quorumContactAt(selfId: NodeId, now: number): number {
    const value = jointValue(this.#config.voters, (id) =>
      id === selfId ? now : (this.#progress.get(id)?.lastContactAt ?? -Infinity),
    );
    return value;
  }

  /**
   * True when a quorum of voters was recently active (the leader itself
   * always is). Used by CheckQuorum (thesis §6.2).
   */
  quorumActive(selfId: NodeId): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.#progress) {
      if (!pr.isLearner) votes.set(id, id === selfId || pr.recentActive);
    }
    return jointVoteResult(this.#config.voters, votes) === 'won';
  }

  resetVotes(): void {
    this.#votes.clear();
  }

  /** Records a vote; only the first answer from each voter counts. Non-voters are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.isVoter(id)) return;
    if (!this.#votes.has(id)) this.#votes.set(id, granted);
  }

  voteResult(): VoteResult {
    return jointVoteResult(this.#config.voters, this.#votes);
  }

  /** Whether a set of acknowledgements (e.g. read-index heartbeat acks) forms a quorum. */
  ackResult(acks: ReadonlySet<NodeId>): VoteResult {
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    return jointVoteResult(this.#config.voters, votes);
  }
}
