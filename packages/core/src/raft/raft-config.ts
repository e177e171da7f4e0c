import { InvalidArgumentError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';

/**
 * Configuration of a {@link RaftCore}. Times are in ticks: the driver calls
 * `tick()` at a fixed interval and everything here is a multiple of it.
 */
export interface RaftConfig {
  /** This node's id; never empty. */
  readonly id: NodeId;
  /**
   * Voters of a brand-new cluster, used only when storage holds no
   * configuration yet (its ConfState has no voters). Storage wins otherwise.
   */
  readonly voters?: readonly NodeId[];
  /** Learners of a brand-new cluster (see {@link RaftConfig.voters}). */
  readonly learners?: readonly NodeId[];
  /**
   * Base election timeout. A follower that hears no leader for a randomized
   * timeout in [electionTicks, 2*electionTicks) starts an election (§5.2).
   * @default 10
   */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats; must be below electionTicks. @default 1 */
  readonly heartbeatTicks?: number;
  /** Run a PreVote round before a real election (thesis §9.6). @default true */
  readonly preVote?: boolean;
  /** The leader steps down when a quorum was silent for an election timeout (thesis §6.2). @default true */
  readonly checkQuorum?: boolean;
  /** Followers forward proposals to the leader; when false, propose() on a follower throws NotLeaderError. @default true */
  readonly forwardProposals?: boolean;
  /** Most entry data bytes per append message (one entry is always allowed). @default 1048576 */
  readonly maxMessageBytes?: number;
  /** Most append messages in flight per follower in the replicate state. @default 256 */
  readonly maxInflightMessages?: number;
  /** Most entry bytes in flight per follower; 0 = unlimited. @default 0 */
  readonly maxInflightBytes?: number;
  /** Most bytes of uncommitted entry data on the leader; 0 = unlimited. Past it proposals are dropped. @default 0 */
  readonly maxUncommittedBytes?: number;
  /**
   * Most bytes of committed entry data handed out for applying in one Ready
   * (one entry always is); the rest follows in the next Readies. Bounds the
   * memory and the event-loop turn a long unapplied tail costs, for example
   * after a restart (etcd's MaxCommittedSizePerReady, which defaults to its
   * message size limit the same way). A positive integer.
   * @default `maxMessageBytes`, or 1048576 (1 MiB) when that is 0
   */
  readonly maxCommittedBytesPerReady?: number;
  /**
   * Allow `lease` read-index requests to be answered without a heartbeat
   * round while the leader lease holds (thesis §6.4.1). Requires
   * `checkQuorum`, which is what makes followers refuse to vote while they
   * recently heard from the leader. Every voter must use the same setting.
   *
   * With it a voter that heard from a leader within the election timeout
   * neither votes nor campaigns (`campaign()` and detector suspicions are
   * no-ops), and a restarted voter (stored term above 0) does neither for an
   * election timeout after it starts. The leader times its lease on the
   * driver's clock (see `LeaseClock`) and voids it for the rest of the term
   * once it has sent TimeoutNow. @default false
   */
  readonly leaseReads?: boolean;
  /**
   * Safety margin for lease reads. The lease lasts
   * `min(floor(electionTicks * (1 - maxClockDriftRatio)), electionTicks - 1)`
   * ticks from the send tick of the newest heartbeat that a quorum
   * acknowledged. Each follower refuses votes for electionTicks after it
   * received that heartbeat (which is after it was sent), so the lease ends
   * first as long as the nodes' tick rates differ by less than this ratio.
   * In [0, 1). @default 0.1
   */
  readonly maxClockDriftRatio?: number;
  /** Last applied index when restarting, so already-applied entries are not handed out again. @default 0 */
  readonly applied?: number;
  /**
   * How the leader tells followers that entries committed. `broadcast`
   * sends every follower an append at once, with no entries if it has none
   * to send (as etcd does): followers apply as early as possible, at the
   * cost of one more message and acknowledgement per follower and commit.
   * `piggyback` lets the commit index ride on the next append or heartbeat
   * (at most `heartbeatTicks` later): under a steady stream of writes the
   * next append carries it anyway, so a write costs the leader half the
   * messages, and only followers' own reads (serializable reads, watches on
   * a follower) see writes later. Acknowledgements, commits and leader
   * reads are the same either way. @default 'broadcast'
   */
  readonly commitNotice?: CommitNotice;
}

/** See {@link RaftConfig.commitNotice}. */
export type CommitNotice = 'broadcast' | 'piggyback';

/** A {@link RaftConfig} with every default filled in. */
export interface ResolvedRaftConfig {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly forwardProposals: boolean;
  readonly maxMessageBytes: number;
  readonly maxInflightMessages: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedBytes: number;
  readonly maxCommittedBytesPerReady: number;
  readonly leaseReads: boolean;
  readonly maxClockDriftRatio: number;
  readonly applied: number;
  readonly commitNotice: CommitNotice;
  /** Derived: how many ticks a lease lasts. */
  readonly leaseTicks: number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Fills in defaults and checks every value.
 *
 * @throws InvalidArgumentError for an empty id, non-positive timeouts,
 * `heartbeatTicks >= electionTicks`, overlapping voters and learners,
 * `leaseReads` without `checkQuorum`, a drift ratio outside [0, 1), or an
 * unknown `commitNotice`.
 */
export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  if (typeof config.id !== 'string' || config.id.length === 0) {
    throw new InvalidArgumentError('id must be a non-empty string');
  }
  const electionTicks = positiveInteger('electionTicks', config.electionTicks ?? 10);
  const heartbeatTicks = positiveInteger('heartbeatTicks', config.heartbeatTicks ?? 1);
  if (heartbeatTicks >= electionTicks) {
    throw new InvalidArgumentError(
      `heartbeatTicks (${heartbeatTicks}) must be less than electionTicks (${electionTicks})`,
    );
  }
  const voters = [...new Set(config.voters ?? [])];
  const learners = [...new Set(config.learners ?? [])];
  for (const id of learners) {
    if (voters.includes(id)) throw new InvalidArgumentError(`${id} cannot be both a voter and a learner`);
  }
  const checkQuorum = config.checkQuorum ?? true;
  const leaseReads = config.leaseReads ?? false;
  if (leaseReads && !checkQuorum) {
    throw new InvalidArgumentError('leaseReads requires checkQuorum: without it followers do not honour the lease');
  }
  const maxClockDriftRatio = config.maxClockDriftRatio ?? 0.1;
  if (!(maxClockDriftRatio >= 0 && maxClockDriftRatio < 1)) {
    throw new InvalidArgumentError(`maxClockDriftRatio must be in [0, 1), got ${maxClockDriftRatio}`);
  }
  const maxMessageBytes = nonNegativeInteger('maxMessageBytes', config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  const commitNotice = config.commitNotice ?? 'broadcast';
  if (commitNotice !== 'broadcast' && commitNotice !== 'piggyback') {
    throw new InvalidArgumentError(`commitNotice must be 'broadcast' or 'piggyback', got ${String(commitNotice)}`);
  }
  return {
    id: config.id,
    voters,
    learners,
    electionTicks,
    heartbeatTicks,
    preVote: config.preVote ?? true,
    checkQuorum,
    forwardProposals: config.forwardProposals ?? true,
    maxMessageBytes,
    maxInflightMessages: positiveInteger('maxInflightMessages', config.maxInflightMessages ?? 256),
    maxInflightBytes: nonNegativeInteger('maxInflightBytes', config.maxInflightBytes ?? 0),
    maxUncommittedBytes: nonNegativeInteger('maxUncommittedBytes', config.maxUncommittedBytes ?? 0),
    maxCommittedBytesPerReady: positiveInteger(
      'maxCommittedBytesPerReady',
      config.maxCommittedBytesPerReady ?? (maxMessageBytes > 0 ? maxMessageBytes : DEFAULT_MAX_MESSAGE_BYTES),
    ),
    leaseReads,
    maxClockDriftRatio,
    applied: nonNegativeInteger('applied', config.applied ?? 0),
    commitNotice,
    // One tick less than the followers' protection at most: a follower's
    // electionElapsed may reach electionTicks up to a tick early, depending
    // on where in its tick interval the heartbeat arrived.
    leaseTicks: Math.min(Math.floor(electionTicks * (1 - maxClockDriftRatio)), electionTicks - 1),
  };
}
