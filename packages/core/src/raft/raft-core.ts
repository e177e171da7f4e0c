import {
  CorruptionError,
  InvalidArgumentError,
  NotLeaderError,
  NotVoterError,
  ProposalDroppedError,
} from '../errors/errors.js';
import type { LogReader } from '../storage/storage.js';
import type { Random } from '../time/random.js';
import type { NodeId } from '../transport/transport.js';
import { checkLearnersCaughtUp, planConfChange } from './confchange/changer.js';
import { encodeConfChange } from './confchange/conf-change-codec.js';
import { decodeConfChange } from './confchange/conf-change-codec.js';
import { ConfChangePendingError } from './confchange/conf-change-errors.js';
import { hasConfChangeIn, hasUnappliedConfChange, lastConfigIn } from './confchange/conf-change-log.js';
import type { ConfChangeRequest } from './confchange/conf-change.js';
import { internalTestMutations as mutations } from '../internal/test-mutations.js';
import { isWellFormedMessage } from './message-checks.js';
import type { ProgressState } from './progress.js';
import type { Progress } from './progress.js';
import { ProgressTracker, trackerConfigFromConfState } from './progress-tracker.js';
import { resolveRaftConfig } from './raft-config.js';
import type { RaftConfig, ResolvedRaftConfig } from './raft-config.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import { SnapshotReceiver, SnapshotSender } from './snapshot-transfer.js';
import type {
  AppendRequest,
  EntryType,
  AppendResponse,
  ConfState,
  Entry,
  HardState,
  HeartbeatRequest,
  HeartbeatResponse,
  RaftMessage,
  RaftRole,
  ReadIndexResponse,
  ReadMode,
  ReadState,
  Ready,
  Snapshot,
  SnapshotRequest,
  SnapshotResponse,
  SoftState,
  VoteRequest,
} from './types.js';

/** One follower's replication state as reported by {@link RaftCore.status}. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
}

/** A point-in-time view of a {@link RaftCore}. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | undefined;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly role: RaftRole;
  readonly leader: NodeId | undefined;
  readonly leadTransferee: NodeId | undefined;
  /** Every member's replication progress; only on the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | undefined;
  /** The membership in effect (that of the last applied conf-change). */
  readonly confState: ConfState;
}

/** Options of {@link RaftCore.proposeConfChange}. */
export interface ConfChangeProposalOptions {
  /**
   * Refuse (LearnerNotCaughtUpError) to make a learner a voter while its
   * replicated log lags the leader's last index by more than this many
   * entries. A new voter that is far behind would stall commits it counts for.
   * @default undefined (no check)
   */
  readonly maxLearnerLag?: number;
}

/** What {@link RaftCore.propose} did with a proposal. */
export type ProposeResult =
  | { readonly index: number; readonly term: number }
  | { readonly forwardedTo: NodeId };

interface QueuedRead {
  readonly from: NodeId;
  readonly context: string;
  readonly mode: ReadMode;
}

/**
 * The driver's monotonic clock, which times the leader's read lease. A
 * lease counted in ticks would stretch whenever the driver's event loop
 * stalls (a GC pause, a blocking call): the ticks that should have run
 * during the stall never do, while the followers' promise not to vote keeps
 * running out in real time.
 *
 * @example
 * ```ts
 * const raft = new RaftCore(config, storage, random, { now: () => performance.now(), tickIntervalMs: 100 });
 * ```
 */
export interface LeaseClock {
  /** Monotonic time in milliseconds (never goes backwards). */
  now(): number;
  /** Milliseconds between two {@link RaftCore.tick} calls, as the driver schedules them. */
  readonly tickIntervalMs: number;
}

/**
 * Heartbeat contexts are opaque to followers, which echo them. The leader
 * puts the lease time at which it sent the heartbeat after an `@`, behind
 * the key of the read round it confirms (if any), so an answer tells it when
 * the follower was at the latest reset to its lease (see #leaseValid).
 */
function heartbeatContext(readKey: string, sentAt: number): string {
  return `${readKey}@${sentAt}`;
}

function parseHeartbeatContext(context: string): { readKey: string; sentAt: number | undefined } {
  const at = context.lastIndexOf('@');
  if (at < 0) return { readKey: context, sentAt: undefined };
  const sentAt = Number(context.slice(at + 1));
  return { readKey: context.slice(0, at), sentAt: Number.isFinite(sentAt) ? sentAt : undefined };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function dataBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += e.data.byteLength;
  return total;
}

/**
 * The Raft consensus algorithm as a pure, deterministic state machine
 * (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and Ongaro's thesis). It does no I/O and reads no clock: time
 * advances through {@link tick}, peers speak through {@link step}, and
 * everything the node must do comes out of {@link ready}.
 *
 * The Ready contract, which the driver must follow in this order:
 * 1. persist `ready.snapshot`, `ready.entries` and `ready.hardState` and
 *    wait for them to be durable (`sync`). Messages may depend on them: a
 *    vote response depends on the persisted vote (§5.2, Figure 2 "Persistent
 *    state ... updated on stable storage before responding to RPCs"), an
 *    append response on the persisted entries.
 * 2. send `ready.messages`;
 * 3. apply `ready.committedEntries` (every one of them is already persisted
 *    locally) and serve `ready.readStates` once their index is applied;
 *    fail `ready.droppedReads`;
 * 4. call {@link advance} with the same Ready, before asking for the next.
 *
 * The leader counts itself toward a commit only for entries it has
 * persisted, that is after the `advance` of the Ready that carried them.
 * That is what lets a driver send a Ready's `append` messages before its
 * sync when the Ready changes no term, vote or snapshot (etcd's leader
 * writing in parallel with replication): until the leader's write is
 * durable, entries commit on follower acknowledgements alone.
 *
 * @example
 * ```ts
 * const storage = new MemoryStorage();
 * const raft = new RaftCore({ id: 'a', voters: ['a', 'b', 'c'] }, storage, new SeededRandom(1));
 * setInterval(() => raft.tick(), 100);
 * transport.setHandler((env) => raft.step(env.payload as RaftMessage));
 * // after every tick/step/propose:
 * while (raft.hasReady()) {
 *   const rd = raft.ready();
 *   if (rd.entries.length) storage.append(rd.entries);
 *   if (rd.hardState) storage.setHardState(rd.hardState);
 *   await storage.sync();
 *   for (const m of rd.messages) transport.send(m.to, envelopeOf(m));
 *   for (const e of rd.committedEntries) stateMachine.apply(e);
 *   raft.advance(rd);
 * }
 * ```
 */
export class RaftCore {
  /** This node's id. */
  readonly id: NodeId;
  readonly #cfg: ResolvedRaftConfig;
  readonly #random: Random;
  readonly #log: RaftLog;
  readonly #tracker: ProgressTracker;

  #term = 0;
  #vote: NodeId | undefined = undefined;
  #lead: NodeId | undefined = undefined;
  #role: RaftRole = 'follower';
  #leadTransferee: NodeId | undefined = undefined;

  /**
   * Ticks since the last valid leader contact (followers) or since the last
   * CheckQuorum round (leader). Compared with the fixed election timeout for
   * leases and with the randomized one for starting elections.
   */
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  /** Monotonic tick counter; the time base of the read lease when the driver gives no {@link LeaseClock}. */
  #ticks = 0;
  readonly #leaseClock: LeaseClock | undefined;
  /**
   * Ticks since this node last heard from a leader (an append, heartbeat or
   * snapshot), across terms. With lease reads a voter makes no vote and
   * starts no election until it reaches electionTicks: the leader's lease
   * counts on that promise (see #honoursLeaderLease).
   */
  #leaderContactElapsed = Number.POSITIVE_INFINITY;
  /**
   * Leader: this term's lease can no longer be trusted, because TimeoutNow
   * was sent (see #voidLeaseForRestOfTerm).
   */
  #leaseVoid = false;

  #msgs: RaftMessage[] = [];
  /**
   * Leader: proposals were appended since the last Ready. They are sent to
   * the followers when the driver asks for the Ready, so that every proposal
   * made in between travels in one append per follower, not one each.
   */
  #proposalsToSend = false;
  #readStates: ReadState[] = [];
  #droppedReads: string[] = [];
  #readOnly: ReadOnly;
  /** Read requests that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  #queuedReads: QueuedRead[] = [];
  /** Follower: read contexts forwarded to the leader, answered by read-index-response. */
  readonly #forwardedReads = new Map<string, NodeId>();
  /** Leader: bytes of entry data appended but not yet applied (maxUncommittedBytes). */
  #uncommittedBytes = 0;
  /**
   * Leader: index of the latest conf-change entry it may have appended (or
   * its last index when it took office). Another change is refused until
   * this index is applied (thesis §4.1: one change at a time).
   */
  #pendingConfIndex = 0;
  /** Leader: chunked InstallSnapshot streams to followers. */
  readonly #snapshotSender: SnapshotSender;
  /** Follower: the snapshot being received chunk by chunk. */
  readonly #snapshotReceiver = new SnapshotReceiver();

  #prevSoftState: SoftState;
  #prevHardState: HardState;

  /**
   * @param config - see {@link RaftConfig}; validated here.
   * @param storage - the persisted log and hard state; the driver writes to
   *   it, the core only reads.
   * @param random - randomizes election timeouts (§5.2); pass a seeded one
   *   for replayable runs.
   * @param leaseClock - the driver's monotonic clock, which times lease
   *   reads (see {@link LeaseClock}). Without one the lease is counted in
   *   ticks, which is only safe when ticks never run late (tests, simulations).
   * @throws InvalidArgumentError for an invalid config.
   * @throws CorruptionError when storage's commit index lies past its last entry.
   */
  constructor(config: RaftConfig, storage: LogReader, random: Random, leaseClock?: LeaseClock) {
    this.#cfg = resolveRaftConfig(config);
    this.id = this.#cfg.id;
    this.#random = random;
    if (leaseClock !== undefined && !(Number.isFinite(leaseClock.tickIntervalMs) && leaseClock.tickIntervalMs > 0)) {
      throw new InvalidArgumentError(`leaseClock.tickIntervalMs must be a positive number, got ${leaseClock.tickIntervalMs}`);
    }
    this.#leaseClock = leaseClock;
    this.#snapshotSender = new SnapshotSender(this.#cfg.maxMessageBytes > 0 ? this.#cfg.maxMessageBytes : 1024 * 1024);
    const { hardState, confState } = storage.initialState();
    const snapshotIndex = storage.snapshot().metadata.index;
    const membership =
      confState.voters.length === 0 && this.#cfg.voters.length > 0
        ? { voters: this.#cfg.voters, learners: this.#cfg.learners, votersOutgoing: [], autoLeave: false }
        : confState;
    this.#tracker = new ProgressTracker(trackerConfigFromConfState(membership), {
      maxInflight: this.#cfg.maxInflightMessages,
      maxInflightBytes: this.#cfg.maxInflightBytes,
    });
    this.#log = new RaftLog(storage);
    if (hardState.commit > this.#log.lastIndex()) {
      throw new CorruptionError(
        `hard state commit ${hardState.commit} is past the last log index ${this.#log.lastIndex()}`,
      );
    }
    // Everything up to the snapshot point is committed even if the hard
    // state was written before the snapshot was taken.
    this.#log.committed = Math.max(this.#log.committed, hardState.commit, snapshotIndex);
    if (this.#cfg.applied > this.#log.committed) {
      throw new InvalidArgumentError(`applied ${this.#cfg.applied} is past the commit index ${this.#log.committed}`);
    }
    this.#log.appliedTo(this.#cfg.applied);
    // Conf-changes the application already applied before the restart will
    // not be handed out again: bring their configuration back now.
    const replayed = lastConfigIn(this.#log, snapshotIndex + 1, this.#log.applied);
    if (replayed !== undefined) this.#tracker.setConfig(trackerConfigFromConfState(replayed));
    this.#readOnly = new ReadOnly(String(hardState.term));
    this.#becomeFollower(hardState.term, undefined);
    this.#vote = hardState.vote;
    // A restarted voter may have acknowledged a leader just before it went
    // down, and that leader may still be serving lease reads on the strength
    // of it. With lease reads it therefore acts as if it had just heard from
    // a leader: no vote and no campaign for an election timeout. A node that
    // never left term 0 never heard from any leader.
    if (this.#cfg.leaseReads && hardState.term > 0) this.#leaderContactElapsed = 0;
    this.#prevHardState = this.#hardState();
    this.#prevSoftState = this.#softState();
  }

  // ---------------------------------------------------------------------
  // Public API
  // ---------------------------------------------------------------------

  /** Advances logical time by one tick: election timeouts on followers, heartbeats and CheckQuorum on the leader. */
  tick(): void {
    this.#ticks++;
    this.#leaderContactElapsed++;
    if (this.#role === 'leader') this.#tickLeader();
    else this.#tickElection();
  }

  /**
   * Feeds a message from a peer. Malformed messages, messages for another
   * node and stale messages are ignored (never thrown on): peer input must
   * not be able to crash a node.
   *
   * @throws RaftInvariantError when the message would break a safety
   *   invariant (commit past our last index, truncate a committed entry):
   *   our log was corrupted, truncated or lost. The driver must stop the
   *   node; `RaftNode` does.
   */
  step(message: RaftMessage): void {
    if (!isWellFormedMessage(message)) return;
    if (message.to !== this.id || message.from === this.id) return;
    this.#step(message);
  }

  /**
   * Proposes a command. On the leader the entry is appended and its index
   * and term returned (it is committed once a Ready delivers it in
   * `committedEntries`; if a different entry shows up at that index, the
   * proposal was lost). On a follower that knows the leader, the proposal is
   * forwarded when `forwardProposals` is on.
   *
   * @throws NotLeaderError (with the leader hint) when no leader is known or forwarding is off.
   * @throws ProposalDroppedError during a leadership transfer or past `maxUncommittedBytes`.
   * @throws InvalidArgumentError when `data` is not a Uint8Array.
   */
  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('a proposal must be a Uint8Array');
    if (this.#role === 'leader') {
      const refusal = this.#proposalRefusal(data.byteLength);
      if (refusal !== undefined) throw new ProposalDroppedError(refusal);
      const entry = this.#appendProposal(data);
      return { index: entry.index, term: entry.term };
    }
    if (this.#lead === undefined || !this.#cfg.forwardProposals) throw new NotLeaderError(this.#lead);
    const entry: Entry = { term: 0, index: 0, type: 'normal', data };
    this.#send({ type: 'propose', from: this.id, to: this.#lead, term: 0, entries: [entry] });
    return { forwardedTo: this.#lead };
  }

  /**
   * Requests a read index (thesis §6.4). The answer arrives later as a
   * `ReadState` with the same `context` in a Ready (once that index is
   * applied, a read is linearizable), or the context shows up in
   * `droppedReads` when it can no longer be served. Contexts should be unique
   * per node. A follower forwards the request to the leader.
   *
   * `lease` mode answers at once while the leader lease holds (needs
   * `leaseReads`); otherwise it falls back to the `safe` heartbeat round.
   *
   * @throws NotLeaderError when no leader is known.
   */
  readIndex(context: string, mode: ReadMode = 'safe'): void {
    if (this.#role === 'leader') {
      this.#handleReadRequest({ from: this.id, context, mode });
      return;
    }
    if (this.#lead === undefined) throw new NotLeaderError(undefined);
    this.#forwardedReads.set(context, this.#lead);
    this.#send({ type: 'read-index', from: this.id, to: this.#lead, term: 0, context, mode });
  }

  /**
   * The caller no longer waits for read `context` (its deadline passed, or
   * it was aborted). A follower forgets the request it forwarded: if the
   * request or the answer was lost, nothing else would remove it while the
   * leader stays the same, and a node serving reads over a lossy network
   * would keep one entry per lost read. A late answer is then ignored.
   */
  forgetRead(context: string): void {
    this.#forwardedReads.delete(context);
  }

  /**
   * Hands leadership to `target` (thesis §3.10): replicate until its log is
   * caught up, then send TimeoutNow so it campaigns at once. Proposals are
   * refused meanwhile. Abandoned after an election timeout.
   *
   * @throws NotLeaderError on a non-leader.
   * @throws InvalidArgumentError when `target` is this node.
   * @throws NotVoterError when `target` is a learner or not a member.
   */
  transferLeadership(target: NodeId): void {
    if (this.#role !== 'leader') throw new NotLeaderError(this.#lead);
    if (target === this.id) throw new InvalidArgumentError('cannot transfer leadership to self');
    if (!this.#tracker.isVoter(target)) throw new NotVoterError(target);
    if (this.#leadTransferee === target) return;
    this.#abortLeaderTransfer();
    // The transfer gets one election timeout to finish (§3.10).
    this.#electionElapsed = 0;
    this.#leadTransferee = target;
    const pr = this.#tracker.get(target);
    if (pr === undefined) return;
    if (pr.match === this.#log.lastIndex()) this.#sendTimeoutNow(target);
    else this.#sendAppend(target, 'news');
  }

  /**
   * Gives up leadership: transfers it to the most up-to-date other voter
   * (highest match, then most recent contact), or, when there is none,
   * simply becomes a follower. No-op on non-leaders.
   */
  stepDown(): void {
    if (this.#role !== 'leader') return;
    let best: { id: NodeId; pr: Progress } | undefined;
    for (const [id, pr] of this.#tracker.progress()) {
      if (id === this.id || pr.isLearner) continue;
      if (
        best === undefined ||
        pr.match > best.pr.match ||
        (pr.match === best.pr.match && pr.lastContactAt > best.pr.lastContactAt)
      ) {
        best = { id, pr };
      }
    }
    if (best === undefined) this.#becomeFollower(this.#term, undefined);
    else this.transferLeadership(best.id);
  }

  /**
   * Starts an election now, as if the election timeout had elapsed (PreVote
   * first when enabled, so a detector's false suspicion cannot disrupt a
   * healthy leader). No-op on the leader and on learners, and, with
   * `leaseReads`, on a voter that heard from a leader within the election
   * timeout (or restarted less than one ago): the leader's lease counts on
   * that voter not to vote, for itself included, and it keeps its leader.
   */
  campaign(): void {
    if (this.#role === 'leader') return;
    this.#electionElapsed = 0;
    this.#hup(false);
  }

  /**
   * A follower stops believing in its leader (etcd's ForgetLeader), so that
   * it grants PreVotes to others at once instead of protecting a leader it
   * no longer hears; a message from the leader brings it back. Used by
   * detector-assisted elections once the leader has been silent for longer
   * than a tolerated pause. No-op on other roles, and with `leaseReads`
   * while this voter heard from the leader within the election timeout: the
   * leader's lease counts on it.
   */
  forgetLeader(): void {
    if (this.#role !== 'follower' || this.#lead === undefined || this.#honoursLeaderLease()) return;
    this.#lead = undefined;
  }

  /** The membership in effect: that of the last conf-change entry applied (or of the snapshot). */
  confState(): ConfState {
    return this.#tracker.confState();
  }

  /**
   * Proposes a membership change (Raft thesis ch. 4) on the leader. The
   * change is validated against the configuration in effect and appended as
   * a `conf-change` entry that carries the resulting configuration; it takes
   * effect on each node when the driver applies it ({@link applyConfChange}).
   * Leaving a joint configuration is an empty `changes` list; with `autoLeave`
   * the leader proposes it by itself.
   *
   * @throws NotLeaderError on a non-leader (changes are not forwarded).
   * @throws ConfChangePendingError while an earlier change is unapplied.
   * @throws InvalidConfChangeError for an unsafe change.
   * @throws LearnerNotCaughtUpError when `maxLearnerLag` is given and exceeded.
   * @throws ProposalDroppedError during a leadership transfer.
   */
  proposeConfChange(
    request: ConfChangeRequest,
    options: ConfChangeProposalOptions = {},
  ): { readonly index: number; readonly term: number; readonly confState: ConfState } {
    if (this.#role !== 'leader') throw new NotLeaderError(this.#lead);
    if (this.#leadTransferee !== undefined) {
      throw new ProposalDroppedError(`leadership transfer to ${this.#leadTransferee} in progress`);
    }
    // A change may be pending only if a conf-change entry sits unapplied
    // below the mark (a new leader sets the mark at its last index without
    // knowing whether one is there; looking is cheap and spares callers a
    // spurious refusal right after an election).
    const pending = this.#pendingConfIndex;
    if (pending > this.#log.applied && hasConfChangeIn(this.#log, this.#log.applied + 1, pending)) {
      throw new ConfChangePendingError(pending);
    }
    const current = this.#tracker.confState();
    const result = planConfChange(current, request);
    if (options.maxLearnerLag !== undefined) {
      checkLearnersCaughtUp(current, request, (id) => this.#tracker.get(id)?.match, this.#log.lastIndex(), options.maxLearnerLag);
    }
    const entry = this.#appendConfChange(request, result);
    return { index: entry.index, term: entry.term, confState: result };
  }

  /**
   * Puts a committed `conf-change` entry into effect; the driver calls it
   * when it applies the entry (in log order, like any other entry). Returns
   * the configuration now in effect. A leader that is no longer a voter
   * steps down (in a joint configuration it still is one, and keeps leading
   * until the joint configuration is left).
   *
   * @throws ConfChangeDecodeError when the entry's data is malformed (every
   *   replica fails the same way; the configuration is unchanged).
   */
  applyConfChange(entry: Entry): ConfState {
    const cc = decodeConfChange(entry.data);
    this.#switchConfig(cc.result);
    return this.#tracker.confState();
  }

  /** True when {@link ready} has something for the driver. */
  hasReady(): boolean {
    // Called after every input: compares fields rather than building states.
    const prevSoft = this.#prevSoftState;
    if (this.#role !== prevSoft.role || this.#lead !== prevSoft.leader) return true;
    const prevHard = this.#prevHardState;
    if (this.#term !== prevHard.term || this.#vote !== prevHard.vote || this.#log.committed !== prevHard.commit) {
      return true;
    }
    const unstable = this.#log.unstable;
    return (
      this.#proposalsToSend ||
      unstable.snapshotToPersist() !== undefined ||
      unstable.hasEntriesToPersist() ||
      this.#log.hasNextCommittedEntries() ||
      this.#msgs.length > 0 ||
      this.#readStates.length > 0 ||
      this.#droppedReads.length > 0
    );
  }

  /**
   * Collects the work for the driver (see the class documentation for the
   * order in which it must be done). Each item is handed out once.
   */
  ready(): Ready {
    if (this.#proposalsToSend) {
      this.#proposalsToSend = false;
      if (this.#role === 'leader') this.#bcastAppend();
    }
    const soft = this.#softState();
    const hard = this.#hardState();
    const unstable = this.#log.unstable;
    const committedEntries = this.#log.nextCommittedEntries(this.#cfg.maxCommittedBytesPerReady);
    const rd: Ready = {
      softState:
        soft.role !== this.#prevSoftState.role || soft.leader !== this.#prevSoftState.leader ? soft : undefined,
      hardState: sameHardState(hard, this.#prevHardState) ? undefined : hard,
      entries: unstable.entriesToPersist(),
      snapshot: unstable.snapshotToPersist(),
      committedEntries,
      messages: this.#msgs,
      readStates: this.#readStates,
      droppedReads: this.#droppedReads,
    };
    this.#prevSoftState = soft;
    this.#prevHardState = hard;
    unstable.markHanded();
    if (committedEntries.length > 0) {
      this.#log.applying = committedEntries[committedEntries.length - 1]!.index;
    }
    this.#msgs = [];
    this.#readStates = [];
    this.#droppedReads = [];
    return rd;
  }

  /**
   * Tells the core that the driver has persisted `ready`'s snapshot,
   * entries and hard state and applied its committed entries.
   */
  advance(ready: Ready): void {
    const log = this.#log;
    if (ready.snapshot !== undefined) {
      const index = ready.snapshot.metadata.index;
      log.unstable.stableSnapTo(index);
      // The driver restored its state machine from the snapshot.
      if (index > log.applied) {
        log.applied = index;
        log.applying = Math.max(log.applying, index);
      }
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1]!;
      log.unstable.stableTo(last.index, last.term);
      if (this.#role === 'leader') {
        // The leader's own durable copy counts toward the quorum only now.
        this.#tracker.get(this.id)?.maybeUpdate(log.persistedIndex());
        if (this.#maybeCommit()) this.#announceCommit();
      }
    }
    if (ready.committedEntries.length > 0) {
      log.appliedTo(ready.committedEntries[ready.committedEntries.length - 1]!.index);
      if (this.#role === 'leader') {
        this.#uncommittedBytes = Math.max(0, this.#uncommittedBytes - dataBytes(ready.committedEntries));
        this.#maybeAutoLeave();
      }
    }
  }

  /** A snapshot of this node's state. */
  status(): RaftStatus {
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (this.#role === 'leader') {
      progress = new Map();
      for (const [id, pr] of this.#tracker.progress()) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
      }
    }
    return {
      id: this.id,
      term: this.#term,
      vote: this.#vote,
      commit: this.#log.committed,
      applied: this.#log.applied,
      lastIndex: this.#log.lastIndex(),
      role: this.#role,
      leader: this.#lead,
      leadTransferee: this.#leadTransferee,
      progress,
      confState: this.#tracker.confState(),
    };
  }

  // ---------------------------------------------------------------------
  // Role transitions
  // ---------------------------------------------------------------------

  #softState(): SoftState {
    return { role: this.#role, leader: this.#lead };
  }

  #hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  /** Common to every transition: new term (forgetting the vote if it changed), fresh timers and progress. */
  #reset(term: number): void {
    if (this.#term !== term) {
      this.#term = term;
      this.#vote = undefined;
    }
    this.#lead = undefined;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#resetRandomizedElectionTimeout();
    this.#abortLeaderTransfer();
    this.#tracker.resetVotes();
    this.#tracker.resetProgress(this.#log.lastIndex(), this.id, this.#log.persistedIndex());
    this.#uncommittedBytes = 0;
    this.#dropPendingReads();
    this.#readOnly = new ReadOnly(String(term));
  }

  /** §5.2: each node picks its election timeout at random from [T, 2T) so that split votes are rare and resolve quickly. */
  #resetRandomizedElectionTimeout(): void {
    this.#randomizedElectionTimeout = this.#cfg.electionTicks + this.#random.int(this.#cfg.electionTicks);
  }

  #becomeFollower(term: number, lead: NodeId | undefined): void {
    this.#reset(term);
    this.#lead = lead;
    this.#role = 'follower';
  }

  /**
   * Thesis §9.6: a pre-candidate asks whether it could win before bumping
   * its term, so a node that cannot win (partitioned, or behind) never
   * forces the cluster into a new term.
   */
  #becomePreCandidate(): void {
    this.#tracker.resetVotes();
    this.#lead = undefined;
    this.#role = 'pre-candidate';
    this.#resetRandomizedElectionTimeout();
    this.#dropPendingReads();
  }

  /** §5.2: increment the term, vote for self, ask everyone else. */
  #becomeCandidate(): void {
    this.#reset(this.#term + 1);
    this.#vote = this.id;
    this.#role = 'candidate';
  }

  #becomeLeader(): void {
    this.#reset(this.#term);
    this.#lead = this.id;
    this.#role = 'leader';
    this.#leaseVoid = false;
    // Conf-changes of earlier terms may sit unapplied in our log; none may
    // be added until everything up to here is applied.
    this.#pendingConfIndex = this.#log.lastIndex();
    this.#snapshotSender.clear();
    this.#tracker.get(this.id)?.becomeReplicate();
    // §5.4.2 / §8: a leader cannot count replicas of earlier terms' entries
    // toward commit, so it appends an empty entry of its own term; once that
    // commits, everything before it is committed too. It is also how the
    // leader learns its commit index for read-index (§6.4).
    this.#appendEntry('normal', new Uint8Array(0));
  }

  #promotable(): boolean {
    return this.#tracker.isVoter(this.id) && this.#log.unstable.snapshot === undefined;
  }

  /** An election timeout elapsed (or TimeoutNow / campaign() asked for one). */
  #hup(leadershipTransfer: boolean): void {
    if (this.#role === 'leader' || !this.#promotable()) return;
    // TimeoutNow comes from the leader itself, which gave up its lease.
    if (!leadershipTransfer && this.#honoursLeaderLease()) return;
    // A committed but unapplied conf-change means our configuration is stale.
    if (hasUnappliedConfChange(this.#log)) return;
    if (this.#cfg.preVote && !leadershipTransfer) this.#campaign('prevote', false);
    else this.#campaign('vote', leadershipTransfer);
  }

  #campaign(kind: 'vote' | 'prevote', leadershipTransfer: boolean): void {
    let voteTerm: number;
    if (kind === 'prevote') {
      this.#becomePreCandidate();
      // The term the node would campaign with; its own term stays put.
      voteTerm = this.#term + 1;
    } else {
      this.#becomeCandidate();
      voteTerm = this.#term;
    }
    this.#tracker.recordVote(this.id, true);
    if (this.#tracker.voteResult() === 'won') {
      // A single-voter cluster wins on its own vote.
      if (kind === 'prevote') this.#campaign('vote', leadershipTransfer);
      else {
        this.#becomeLeader();
        this.#bcastAppend();
      }
      return;
    }
    const lastLogIndex = this.#log.lastIndex();
    const lastLogTerm = this.#log.lastTerm();
    for (const id of this.#tracker.voterIds()) {
      if (id === this.id) continue;
      this.#send({ type: kind, from: this.id, to: id, term: voteTerm, lastLogIndex, lastLogTerm, leadershipTransfer });
    }
  }

  // ---------------------------------------------------------------------
  // Ticks
  // ---------------------------------------------------------------------

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#hup(false);
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#cfg.electionTicks) {
      this.#electionElapsed = 0;
      if (this.#cfg.checkQuorum) {
        // Thesis §6.2: a leader that has not heard from a quorum for an
        // election timeout steps down, so clients stop waiting on a leader
        // that cannot commit (and stale leaders cannot serve lease reads).
        if (!this.#tracker.quorumActive(this.id)) {
          this.#becomeFollower(this.#term, undefined);
          return;
        }
      }
      for (const [id, pr] of this.#tracker.progress()) {
        if (id !== this.id) pr.recentActive = false;
        // A snapshot neither acknowledged nor retried for a whole round was
        // probably lost: probe again, which re-sends it if still needed.
        if (pr.state === 'snapshot') {
          if (pr.snapshotStale) pr.becomeProbe();
          else pr.snapshotStale = true;
        }
      }
      // §3.10: a transfer that did not finish within an election timeout is abandoned.
      if (this.#leadTransferee !== undefined) this.#abortLeaderTransfer();
    }
    if (this.#heartbeatElapsed >= this.#cfg.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      // Carrying the newest pending read key retries read rounds whose
      // heartbeats were lost, and serves as the round of reads waiting for one.
      this.#bcastHeartbeat(this.#readOnly.startRound());
    }
  }

  // ---------------------------------------------------------------------
  // Message dispatch
  // ---------------------------------------------------------------------

  #step(m: RaftMessage): void {
    if (this.#isOutsider(m.from)) {
      const admitted = this.#admitOutsider(m);
      if (admitted === undefined) return;
      m = admitted;
    }
    if (m.type === 'propose' || m.type === 'read-index' || m.type === 'read-index-response') {
      // Not tied to a term: forwarded proposals and reads are requests any
      // node may make of whoever it thinks leads, and read answers are
      // matched against the leader the request was forwarded to (forwarded
      // reads are dropped whenever our term or leader changes).
      this.#stepByRole(m);
      return;
    }
    // Everything else belongs to a term; term 0 is not a real one.
    if (m.term === 0) return;
    if (m.term > this.#term) {
      if (m.type === 'vote' || m.type === 'prevote') {
        // Thesis §4.2.3 / §9.6: a node that heard from a leader within the
        // (minimum) election timeout ignores campaigns, so a removed or
        // partitioned node cannot depose a healthy leader. For real votes
        // this lease is honoured only with CheckQuorum (which makes the
        // leader step down itself when it loses the quorum); a leadership
        // transfer bypasses it on purpose.
        const inLease =
          (this.#lead !== undefined &&
            this.#electionElapsed < this.#cfg.electionTicks &&
            (m.type === 'prevote' || this.#cfg.checkQuorum)) ||
          this.#honoursLeaderLease();
        if (inLease && !m.leadershipTransfer) return;
      }
      if (m.type === 'prevote') {
        // Never change term because of a PreVote: it is only a question.
      } else if (m.type === 'prevote-response' && !m.reject) {
        // A granted PreVote carries the future term; the term moves only if
        // the election is won.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        // §5.1: a higher term means a newer leader; follow it.
        this.#becomeFollower(m.term, m.from);
      } else {
        this.#becomeFollower(m.term, undefined);
      }
    } else if (m.term < this.#term) {
      this.#stepStale(m);
      return;
    }
    if (m.type === 'vote' || m.type === 'prevote') {
      this.#handleVoteRequest(m);
      return;
    }
    this.#stepByRole(m);
  }

  /** A message from an older term (§5.1: rejected), answered where that helps the sender catch up. */
  #stepStale(m: RaftMessage): void {
    if ((m.type === 'append' || m.type === 'heartbeat') && (this.#cfg.checkQuorum || this.#cfg.preVote)) {
      // With PreVote/CheckQuorum a node that bumped its term while
      // partitioned cannot win an election (its log is behind) and ignores
      // the old leader's messages. Answering with our term makes the old
      // leader step down, so a new election at the higher term can include
      // this node again.
      this.#send({ type: 'append-response', from: this.id, to: m.from, term: this.#term, reject: false, index: 0, rejectHint: 0, logTerm: 0 });
    } else if (m.type === 'prevote' || m.type === 'vote') {
      // Tell a stale candidate about the newer term so it stops campaigning.
      const type = m.type === 'vote' ? 'vote-response' : 'prevote-response';
      this.#send({ type, from: this.id, to: m.from, term: this.#term, reject: true });
    }
  }

  #handleVoteRequest(m: VoteRequest): void {
    const responseType = m.type === 'vote' ? 'vote-response' : 'prevote-response';
    // §5.2: at most one vote per term, first come first served (repeating
    // the same vote is fine). A PreVote for a later term does not use up
    // our vote.
    const canVote =
      this.#vote === m.from ||
      ((((this.#vote === undefined || mutations.doubleVote) && this.#lead === undefined) ||
        (m.type === 'prevote' && m.term > this.#term)) &&
        (m.leadershipTransfer || !this.#honoursLeaderLease()));
    // §5.4.1: only for a log at least as up-to-date as ours (Leader Completeness).
    if (canVote && this.#acceptsCandidate(m) && this.#log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.#send({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        // Persisted through the Ready's hardState before the response leaves.
        this.#electionElapsed = 0;
        this.#vote = m.from;
      }
    } else {
      this.#send({ type: responseType, from: this.id, to: m.from, term: this.#term, reject: true });
    }
  }

  /** True for a sender outside our configuration, when we know one (a node that knows none accepts everyone). */
  #isOutsider(from: NodeId): boolean {
    return !this.#tracker.isMember(from) && this.#tracker.voterIds().length > 0;
  }

  /**
   * DESIGN: messages from nodes outside the configuration are dropped, so a
   * removed node, or one that was never a member, cannot push terms up,
   * depose a leader or force elections. Returns the message to process
   * (possibly defused), or undefined to drop it. What Raft still needs,
   * because our configuration (the one applied here) may lag the leader's:
   * - a vote request from a candidate whose log is strictly ahead of ours
   *   (see #acceptsCandidate); it never counts as a leadership transfer,
   *   so it cannot override a leader lease. Other vote requests are refused
   *   with our term, which stays put;
   * - anything from the leader we follow in our term (a leader that removed
   *   itself keeps leading until it hands over with TimeoutNow);
   * - appends, heartbeats and snapshots from anyone when we have not heard
   *   from any leader for an election timeout and do not lead: a leader
   *   elected by a configuration we have not applied yet;
   * - answers to reads we forwarded (matched against the forwarding).
   */
  #admitOutsider(m: RaftMessage): RaftMessage | undefined {
    // The leader we follow may have removed itself from the configuration
    // we applied: it leads until it hands over (TimeoutNow), and we keep
    // listening to it until then.
    if (m.from === this.#lead && m.term === this.#term) return m;
    switch (m.type) {
      case 'vote':
      case 'prevote':
        if (!this.#acceptsCandidate(m)) {
          const type = m.type === 'vote' ? 'vote-response' : 'prevote-response';
          this.#send({ type, from: this.id, to: m.from, term: this.#term, reject: true });
          return undefined;
        }
        return m.leadershipTransfer ? { ...m, leadershipTransfer: false } : m;
      case 'append':
      case 'heartbeat':
      case 'snapshot': {
        const heardFromLeader = this.#leaderContactElapsed < this.#cfg.electionTicks;
        return this.#role === 'leader' || heardFromLeader ? undefined : m;
      }
      case 'read-index-response':
        return m;
      default:
        return undefined;
    }
  }

  /**
   * DESIGN: votes from non-members are rejected, so a node outside the
   * cluster (or one removed from it) cannot take part in elections. Our own
   * configuration may lag, though: it is the one applied here, and a node
   * just added has not applied (or even received) the entries that added the
   * candidate. Refusing such a candidate can stall the cluster for good, e.g.
   * {A} adds C and then N, A fails after sending N only the first part of
   * the log: N knows only {A} and C needs N's vote. So a candidate outside
   * our configuration still gets a hearing when we know no configuration at
   * all (as in hashicorp/raft), or when its log is strictly ahead of ours —
   * then it has seen entries we have not, which may be what made it a voter.
   * A removed node's log stops growing at its removal, so it never is.
   * Safety does not depend on this rule: one vote per term and the
   * up-to-date check are what guarantee a single leader per term.
   */
  #acceptsCandidate(m: VoteRequest): boolean {
    if (this.#tracker.isVoter(m.from) || this.#tracker.voterIds().length === 0) return true;
    const ourTerm = this.#log.lastTerm();
    return m.lastLogTerm > ourTerm || (m.lastLogTerm === ourTerm && m.lastLogIndex > this.#log.lastIndex());
  }

  #stepByRole(m: RaftMessage): void {
    switch (this.#role) {
      case 'leader':
        this.#stepLeader(m);
        return;
      case 'candidate':
      case 'pre-candidate':
        this.#stepCandidate(m);
        return;
      case 'follower':
        this.#stepFollower(m);
        return;
    }
  }

  #stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case 'propose': {
        const data = m.entries.map((e) => e.data);
        // A forwarded proposal has no caller here to throw to; a dropped one
        // is noticed by the follower's driver when it never commits.
        if (data.length === 0 || this.#proposalRefusal(dataBytes(m.entries)) !== undefined) return;
        this.#appendProposals(data);
        return;
      }
      case 'read-index':
        this.#handleReadRequest({ from: m.from, context: m.context, mode: m.mode });
        return;
      case 'append-response':
        this.#handleAppendResponse(m);
        return;
      case 'heartbeat-response':
        this.#handleHeartbeatResponse(m);
        return;
      case 'snapshot-response':
        this.#handleSnapshotResponse(m);
        return;
      default:
        // Another leader in our term cannot exist (Election Safety); other
        // messages mean nothing to a leader.
        return;
    }
  }

  #stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        // §5.2: an AppendEntries from a leader of our term means we lost.
        this.#becomeFollower(m.term, m.from);
        this.#heardFromLeader(m.from);
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.#becomeFollower(m.term, m.from);
        this.#heardFromLeader(m.from);
        this.#handleHeartbeat(m);
        return;
      case 'snapshot':
        this.#becomeFollower(m.term, m.from);
        this.#heardFromLeader(m.from);
        this.#handleSnapshot(m);
        return;
      case 'vote-response':
      case 'prevote-response': {
        // Only answers to the kind of election we are running count.
        const expected = this.#role === 'candidate' ? 'vote-response' : 'prevote-response';
        if (m.type !== expected) return;
        this.#tracker.recordVote(m.from, !m.reject);
        const result = this.#tracker.voteResult();
        if (result === 'won') {
          if (this.#role === 'pre-candidate') this.#campaign('vote', false);
          else {
            this.#becomeLeader();
            this.#bcastAppend();
          }
        } else if (result === 'lost') {
          this.#becomeFollower(this.#term, undefined);
        }
        return;
      }
      case 'read-index':
        this.#rejectRead(m.from, m.context);
        return;
      case 'read-index-response':
        this.#handleReadIndexResponse(m);
        return;
      default:
        // Proposals are dropped without a leader; the rest is for other roles.
        return;
    }
  }

  #stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.#heardFromLeader(m.from);
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.#heardFromLeader(m.from);
        this.#handleHeartbeat(m);
        return;
      case 'snapshot':
        this.#heardFromLeader(m.from);
        this.#handleSnapshot(m);
        return;
      case 'timeout-now':
        // Thesis §3.10: the leader asks us to campaign at once, skipping
        // PreVote and overriding the voters' leader lease. Only our leader
        // may ask: anyone else could use it to force elections.
        if (m.from === this.#lead) this.#hup(true);
        return;
      case 'read-index':
        this.#rejectRead(m.from, m.context);
        return;
      case 'read-index-response':
        this.#handleReadIndexResponse(m);
        return;
      default:
        // A proposal forwarded to a non-leader is dropped rather than
        // forwarded again, which could bounce between stale views forever.
        return;
    }
  }

  /** A message from the leader of our term: it is alive, and its lease may count on us. */
  #heardFromLeader(leader: NodeId): void {
    this.#electionElapsed = 0;
    this.#leaderContactElapsed = 0;
    this.#lead = leader;
  }

  /**
   * With lease reads, true while this voter heard from a leader within the
   * election timeout (or restarted less than one ago). A leader serves lease
   * reads on the promise that such voters neither vote for anyone, itself
   * included, nor forget the leader, whatever they have done meanwhile
   * (campaigned early on a detector's suspicion and lost the PreVote, say),
   * so no other leader can be elected while the lease holds. Only a
   * leadership transfer (TimeoutNow, whose sender voids its lease) overrides
   * it. etcd refuses MsgForgetLeader under lease-based reads for the same
   * reason.
   */
  #honoursLeaderLease(): boolean {
    return this.#cfg.leaseReads && this.#leaderContactElapsed < this.#cfg.electionTicks;
  }

  // ---------------------------------------------------------------------
  // Follower side of replication
  // ---------------------------------------------------------------------

  #handleAppend(m: AppendRequest): void {
    const log = this.#log;
    if (m.prevLogIndex < log.committed) {
      // Everything up to our commit index is known to match the leader
      // (Leader Completeness); tell it where we are.
      this.#sendAppendResponse(m.from, { reject: false, index: log.committed, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      if (mutations.applyBeforeCommit) log.commitTo(lastNew);
      this.#sendAppendResponse(m.from, { reject: false, index: lastNew, rejectHint: 0, logTerm: 0 });
      return;
    }
    // §5.3 consistency check failed. Instead of making the leader step back
    // one entry per round trip, hint at the last entry that could possibly
    // match: the last one at or below prevLogIndex whose term is at most
    // prevLogTerm. The leader skips straight to it.
    const hint = log.findConflictByTerm(Math.min(m.prevLogIndex, log.lastIndex()), m.prevLogTerm);
    this.#sendAppendResponse(m.from, { reject: true, index: m.prevLogIndex, rejectHint: hint.index, logTerm: hint.term });
  }

  #handleHeartbeat(m: HeartbeatRequest): void {
    // The leader sends min(our match, its commit), so every entry up to it is known to match.
    this.#log.commitTo(m.commit);
    this.#send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.#term, context: m.context });
  }

  #handleSnapshot(m: SnapshotRequest): void {
    const { index, term } = m.snapshot.metadata;
    const log = this.#log;
    if (index <= log.committed) {
      this.#snapshotReceiver.clear();
      this.#sendAppendResponse(m.from, { reject: false, index: log.committed, rejectHint: 0, logTerm: 0 });
      return;
    }
    if (log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry: keep our log, just learn the commit.
      this.#snapshotReceiver.clear();
      log.commitTo(index);
      this.#sendAppendResponse(m.from, { reject: false, index: log.committed, rejectHint: 0, logTerm: 0 });
      return;
    }
    const outcome = this.#snapshotReceiver.accept(m);
    if (outcome.kind !== 'complete') {
      this.#send({
        type: 'snapshot-response',
        from: this.id,
        to: m.from,
        term: this.#term,
        index,
        offset: outcome.offset,
        reject: outcome.kind === 'resend',
      });
      return;
    }
    this.#installSnapshot(m.from, outcome.snapshot);
  }

  #installSnapshot(from: NodeId, snapshot: Snapshot): void {
    const log = this.#log;
    const m = { from, snapshot };
    // §7: discard the log and take the snapshot (persisted through the Ready).
    log.restore(m.snapshot);
    // A snapshot taken without membership (no voters) must not wipe ours:
    // a node with no voters could never vote or campaign again.
    if (m.snapshot.metadata.confState.voters.length > 0) {
      this.#tracker.setConfig(trackerConfigFromConfState(m.snapshot.metadata.confState));
    }
    this.#tracker.resetProgress(log.lastIndex(), this.id, log.persistedIndex());
    this.#sendAppendResponse(m.from, { reject: false, index: log.lastIndex(), rejectHint: 0, logTerm: 0 });
  }

  #sendAppendResponse(
    to: NodeId,
    fields: Pick<AppendResponse, 'reject' | 'index' | 'rejectHint' | 'logTerm'>,
  ): void {
    const { reject, index, rejectHint, logTerm } = fields;
    this.#send({ type: 'append-response', from: this.id, to, term: this.#term, reject, index, rejectHint, logTerm });
  }

  // ---------------------------------------------------------------------
  // Membership (thesis ch. 4; the rules live in confchange/)
  // ---------------------------------------------------------------------

  #appendConfChange(request: ConfChangeRequest, result: ConfState): Entry {
    const data = encodeConfChange({ changes: request.changes, transition: request.transition ?? 'auto', result });
    this.#uncommittedBytes += data.byteLength;
    const entry = this.#appendEntry('conf-change', data);
    this.#pendingConfIndex = entry.index;
    this.#bcastAppend();
    return entry;
  }

  /** Thesis §4.3: once the joint configuration is in effect, the leader proposes leaving it. */
  #maybeAutoLeave(): void {
    const config = this.#tracker.config;
    if (!config.autoLeave || config.voters.outgoing.size === 0) return;
    if (this.#leadTransferee !== undefined) return;
    const pending = this.#pendingConfIndex;
    if (pending > this.#log.applied && hasConfChangeIn(this.#log, this.#log.applied + 1, pending)) return;
    this.#appendConfChange({ changes: [] }, planConfChange(this.#tracker.confState(), { changes: [] }));
  }

  #switchConfig(conf: ConfState): void {
    this.#tracker.reconfigure(trackerConfigFromConfState(conf), this.#log.lastIndex());
    if (this.#leadTransferee !== undefined && !this.#tracker.isVoter(this.#leadTransferee)) this.#abortLeaderTransfer();
    if (this.#role !== 'leader') return;
    if (!this.#tracker.isVoter(this.id)) {
      this.#stepDownRemoved();
      return;
    }
    // The quorum changed: something may commit now; new members need the log.
    this.#maybeCommit();
    this.#bcastAppend();
  }

  /**
   * The leader applied a configuration without itself (thesis §4.2.2: it
   * managed the cluster until then without counting itself). It hands over
   * at once to a voter that holds its whole log, if there is one, and
   * becomes a follower; it never campaigns again (not a voter).
   */
  #stepDownRemoved(): void {
    const last = this.#log.lastIndex();
    for (const id of this.#tracker.voterIds()) {
      if (this.#tracker.get(id)?.match === last) {
        this.#sendTimeoutNow(id);
        break;
      }
    }
    this.#becomeFollower(this.#term, undefined);
  }

  // ---------------------------------------------------------------------
  // Leader side of replication
  // ---------------------------------------------------------------------

  /** Why a proposal of `bytes` would be refused now, or undefined when it is accepted. */
  #proposalRefusal(bytes: number): string | undefined {
    if (this.#leadTransferee !== undefined) {
      return `leadership transfer to ${this.#leadTransferee} in progress`;
    }
    const limit = this.#cfg.maxUncommittedBytes;
    // An empty budget always admits one proposal, however large, so that an
    // oversized command fails on size limits elsewhere rather than hanging here.
    if (limit > 0 && this.#uncommittedBytes > 0 && this.#uncommittedBytes + bytes > limit) {
      return `uncommitted log exceeds ${limit} bytes`;
    }
    return undefined;
  }

  /** Appends proposals (at least one) to the unstable log. Returns the last. */
  #appendProposals(data: readonly Uint8Array[]): Entry {
    let last: Entry | undefined;
    for (const d of data) last = this.#appendProposal(d);
    return last!;
  }

  #appendProposal(data: Uint8Array): Entry {
    const entry = this.#appendEntry('normal', data);
    this.#uncommittedBytes += data.byteLength;
    // Sent by ready(), together with any other proposal made before it.
    this.#proposalsToSend = true;
    return entry;
  }

  /** Appends one entry of `type` carrying `data`, with our term and the next index, to the unstable log. */
  #appendEntry(type: EntryType, data: Uint8Array): Entry {
    const entry: Entry = { term: this.#term, index: this.#log.lastIndex() + 1, type, data };
    this.#log.appendNext(entry);
    // Test-only mutation (see internal/test-mutations.ts): the leader's unsynced copy counts.
    if (mutations.selfAckBeforeSync) this.#tracker.get(this.id)?.maybeUpdate(entry.index);
    return entry;
  }

  /**
   * Commits the highest index replicated on a quorum, but only if that entry
   * is from the current term (§5.4.2, Figure 8: counting replicas of an older
   * term's entry is unsafe; it becomes committed indirectly).
   */
  #maybeCommit(): boolean {
    const candidate = this.#tracker.committed();
    if (candidate <= this.#log.committed || (this.#log.term(candidate) !== this.#term && !mutations.commitOlderTermByCount)) return false;
    const hadCommittedInTerm = this.#committedEntryInCurrentTerm();
    this.#log.commitTo(candidate);
    if (!hadCommittedInTerm) this.#releaseQueuedReads();
    return true;
  }

  #committedEntryInCurrentTerm(): boolean {
    return this.#log.termOrZero(this.#log.committed) === this.#term;
  }

  /**
   * Tells the followers about a new commit index (see RaftConfig.commitNotice):
   * `broadcast` sends each an append now, with no entries if it has none to
   * send; `piggyback` sends only the entries followers are missing and
   * leaves the commit index to the next append or heartbeat.
   */
  #announceCommit(): void {
    if (this.#cfg.commitNotice === 'broadcast') {
      this.#bcastAppend();
      return;
    }
    for (const id of this.#tracker.progress().keys()) {
      if (id !== this.id) this.#sendAppend(id, 'never');
    }
  }

  #bcastAppend(): void {
    for (const id of this.#tracker.progress().keys()) {
      if (id !== this.id) this.#sendAppend(id, 'news');
    }
  }

  /**
   * Sends the entries `to` is missing, from its `next` index and at most
   * `maxMessageBytes` of them (§5.3). Returns whether anything was sent.
   *
   * `empty` says when an append without entries is worth sending: `never`;
   * `news` when it is a probe or carries a commit index the follower has not
   * been sent; `always` to make the follower check its log against ours (a
   * replicate-state follower that lost appends then rejects, which sends it
   * back to probe).
   */
  #sendAppend(to: NodeId, empty: 'never' | 'news' | 'always'): boolean {
    const pr = this.#tracker.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevLogIndex = pr.next - 1;
    const prevLogTerm = this.#log.term(prevLogIndex);
    const entries = this.#log.entriesFrom(pr.next, this.#cfg.maxMessageBytes);
    if (prevLogTerm === undefined || entries === undefined) {
      // The follower needs entries we compacted away.
      return this.#sendSnapshot(to, pr);
    }
    const commit = this.#log.committed;
    if (entries.length === 0) {
      if (empty === 'never') return false;
      if (empty === 'news' && pr.state === 'replicate' && pr.sentCommit >= commit) return false;
    }
    this.#send({ type: 'append', from: this.id, to, term: this.#term, prevLogIndex, prevLogTerm, entries, commit });
    pr.sentEntries(entries.length, dataBytes(entries));
    pr.recordSentCommit(commit);
    return true;
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    // A follower that has not answered lately is probably down; a snapshot
    // is expensive, so wait until it shows signs of life.
    if (!pr.recentActive) return false;
    let snapshot;
    try {
      snapshot = this.#log.snapshot();
    } catch {
      return false;
    }
    if (snapshot.metadata.index === 0) return false;
    this.#send({ type: 'snapshot', from: this.id, to, term: this.#term, ...this.#snapshotSender.chunkFor(to, snapshot) });
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  #handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.#tracker.get(m.from);
    if (pr === undefined || pr.state !== 'snapshot' || pr.pendingSnapshot !== m.index) return;
    pr.recentActive = true;
    pr.snapshotStale = false;
    const next = this.#snapshotSender.onResponse(m.from, m.index, m.offset, m.reject);
    if (next !== undefined) this.#send({ type: 'snapshot', from: this.id, to: m.from, term: this.#term, ...next });
  }

  #bcastHeartbeat(readKey: string): void {
    const context = heartbeatContext(readKey, this.#leaseNow());
    for (const [id, pr] of this.#tracker.progress()) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to hold: its
      // entries beyond `match` may still differ from ours.
      const commit = Math.min(pr.match, this.#log.committed);
      this.#send({ type: 'heartbeat', from: this.id, to: id, term: this.#term, commit, context });
      pr.recordSentCommit(commit);
    }
  }

  #sendTimeoutNow(to: NodeId): void {
    this.#voidLeaseForRestOfTerm();
    this.#send({ type: 'timeout-now', from: this.id, to, term: this.#term });
  }

  /**
   * The only place a lease is given up early. Once TimeoutNow has left, its
   * target may win an election at any time, even after this leader has
   * abandoned the transfer: voters ignore their lease for a transfer. So the
   * lease stays void for the rest of the term, however many heartbeats are
   * acknowledged meanwhile.
   */
  #voidLeaseForRestOfTerm(): void {
    this.#leaseVoid = !mutations.leaseAfterTransfer;
  }

  #abortLeaderTransfer(): void {
    this.#leadTransferee = undefined;
  }

  #handleAppendResponse(m: AppendResponse): void {
    const pr = this.#tracker.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      // Fast backtracking: the follower told us the last index that could
      // match (rejectHint) and its term there (logTerm). Find the last entry
      // of ours at or below it with a term no greater; everything after it
      // certainly differs, so the next probe starts right there.
      let probe = m.rejectHint;
      if (m.logTerm > 0) probe = this.#log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, probe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.#sendAppend(m.from, 'news');
      }
      return;
    }
    // An acknowledgement past our log is bogus; believing it would corrupt match.
    if (m.index > this.#log.lastIndex()) return;
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    if (pr.state === 'probe') {
      // The logs match up to `match`: start pipelining.
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.#log.firstIndex()) {
      // The follower installed the snapshot (or caught up otherwise) and
      // every entry it needs is available again.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.#maybeCommit()) {
      this.#announceCommit();
    } else if (wasPaused) {
      // The window had been full; the acknowledgement freed room.
      this.#sendAppend(m.from, 'news');
    }
    // Keep the pipeline full while there are entries to send.
    while (this.#sendAppend(m.from, 'never')) {
      // each call sends one more message
    }
    if (m.from === this.#leadTransferee && pr.match === this.#log.lastIndex()) {
      this.#sendTimeoutNow(m.from);
    }
  }

  #handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.#tracker.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    const { readKey, sentAt } = parseHeartbeatContext(m.context);
    // The follower reset its election timer no earlier than when we sent
    // this heartbeat, so the lease counts from the send time, not from now
    // (message delay must not extend the lease). A time from the future is
    // forged or from another run: ignored.
    if (sentAt !== undefined && sentAt <= this.#leaseNow()) {
      pr.lastContactAt = Math.max(pr.lastContactAt, sentAt);
    }
    // A heartbeat answer proves the follower is reachable: let a paused probe go again.
    pr.probeSent = false;
    // A full window while the follower answers heartbeats suggests lost
    // appends: free a slot so the next append reveals the gap.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.#log.lastIndex() || pr.state === 'probe') this.#sendAppend(m.from, 'always');
    if (readKey === '') return;
    const acks = this.#readOnly.recordAck(m.from, readKey);
    if (acks === undefined || this.#tracker.ackResult(acks) !== 'won') return;
    // §6.4 step 3: a quorum confirmed we were leader after these requests arrived.
    for (const read of this.#readOnly.release(readKey)) this.#answerRead(read.from, read.context, read.index);
    // The requests that arrived while this round was on its way get the next one.
    this.#maybeStartReadRound();
  }

  // ---------------------------------------------------------------------
  // Reads (thesis §6.4)
  // ---------------------------------------------------------------------

  #handleReadRequest(request: QueuedRead): void {
    if (!this.#committedEntryInCurrentTerm()) {
      // §6.4 step 1: until an entry of its term commits, a new leader does
      // not know the latest commit index. Wait for the no-op.
      this.#queuedReads.push(request);
      return;
    }
    this.#admitRead(request);
    this.#maybeStartReadRound();
  }

  /**
   * Answers a read at once when no round is needed (a single voter, a valid
   * lease); otherwise records its read index and queues it for a heartbeat
   * round (see {@link ReadOnly}), which the caller starts.
   */
  #admitRead({ from, context, mode }: QueuedRead): void {
    const index = this.#log.committed;
    if (this.#tracker.isSingleton(this.id)) {
      // No one else could have been elected: the commit index is current.
      this.#answerRead(from, context, index);
      return;
    }
    if (mode === 'lease' && this.#cfg.leaseReads && this.#leaseValid()) {
      this.#answerRead(from, context, index);
      return;
    }
    const key = this.#readOnly.add(context, from, index);
    this.#readOnly.recordAck(this.id, key);
  }

  /**
   * Sends a heartbeat round for the queued read requests, unless a round is
   * already on its way: the requests that arrive meanwhile share the next
   * one, sent when it is confirmed (see {@link ReadOnly}).
   */
  #maybeStartReadRound(): void {
    if (this.#readOnly.wantsRound()) this.#bcastHeartbeat(this.#readOnly.startRound());
  }

  /**
   * Thesis §6.4.1: a follower that heard from the leader within the
   * election timeout refuses to vote and to campaign (see
   * #honoursLeaderLease), so no other leader can be elected until an
   * election timeout after a quorum last heard from us. The lease runs from
   * the send time of the newest heartbeat a quorum acknowledged (each
   * follower reset its timer after that moment), for `leaseTicks` =
   * floor(electionTicks * (1 - maxClockDriftRatio)) ticks, capped at
   * electionTicks - 1 for tick granularity, measured on the driver's clock
   * (see {@link LeaseClock}). It is void during a transfer, and for the rest
   * of the term once TimeoutNow was sent (TimeoutNow overrides the
   * followers' lease on purpose).
   */
  #leaseValid(): boolean {
    if (this.#role !== 'leader' || this.#leadTransferee !== undefined || this.#leaseVoid) return false;
    const now = this.#leaseNow();
    return now - this.#tracker.quorumContactAt(this.id, now) < this.#leaseDuration();
  }

  /** The lease's time base: the driver's clock, or the tick count without one. */
  #leaseNow(): number {
    return this.#leaseClock === undefined ? this.#ticks : this.#leaseClock.now();
  }

  /** How long a lease lasts, in units of {@link #leaseNow}. */
  #leaseDuration(): number {
    return this.#cfg.leaseTicks * (this.#leaseClock?.tickIntervalMs ?? 1);
  }

  #releaseQueuedReads(): void {
    const queued = this.#queuedReads;
    this.#queuedReads = [];
    for (const request of queued) this.#admitRead(request);
    // One round for all of them.
    this.#maybeStartReadRound();
  }

  #answerRead(from: NodeId, context: string, index: number): void {
    if (from === this.id) this.#readStates.push({ index, context });
    else this.#send({ type: 'read-index-response', from: this.id, to: from, term: this.#term, context, index, reject: false });
  }

  /** Tells a follower its forwarded read will not be served here (term 0: valid whatever its term). */
  #rejectRead(to: NodeId, context: string): void {
    this.#send({ type: 'read-index-response', from: this.id, to, term: 0, context, index: 0, reject: true });
  }

  #handleReadIndexResponse(m: ReadIndexResponse): void {
    if (this.#forwardedReads.get(m.context) !== m.from) return;
    this.#forwardedReads.delete(m.context);
    if (m.reject) this.#droppedReads.push(m.context);
    else this.#readStates.push({ index: m.index, context: m.context });
  }

  /** Leadership (or the known leader) changed: pending reads can no longer be answered here. */
  #dropPendingReads(): void {
    const pending = [...this.#readOnly.drain(), ...this.#queuedReads];
    this.#queuedReads = [];
    for (const read of pending) {
      if (read.from === this.id) this.#droppedReads.push(read.context);
      else this.#rejectRead(read.from, read.context);
    }
    for (const context of this.#forwardedReads.keys()) this.#droppedReads.push(context);
    this.#forwardedReads.clear();
  }

  #send(m: RaftMessage): void {
    this.#msgs.push(m);
  }
}
