import {
  BusyError,
  InvalidArgumentError,
  MessageTooLargeError,
  NotLeaderError,
  NotStartedError,
  NotVoterError,
  StoppedError,
  TimeoutError,
  AbortError,
  ProposalDroppedError,
} from '../errors/errors.js';
import type { FailureDetector } from '../detection/failure-detector.js';
import { internalTestMutations as mutations } from '../internal/test-mutations.js';
import type { StateMachine } from '../state-machine/state-machine.js';
import type { Storage } from '../storage/storage.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { Deadlines } from '../time/deadlines.js';
import { systemRandom, type Random } from '../time/random.js';
import type { Envelope, NodeId, Transport } from '../transport/transport.js';
import { throwIfAborted } from '../util/abort.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { WindowMap } from '../util/window-map.js';
import { LearnerNotCaughtUpError } from './confchange/conf-change-errors.js';
import { decodeConfChange } from './confchange/conf-change-codec.js';
import { isVoterIn, type ConfChangeSingle, type ConfChangeTransition } from './confchange/conf-change.js';
import { MemberContexts } from './member-contexts.js';
import { AppliedProposals } from './applied-proposals.js';
import { PendingCall, type Pending } from './pending-call.js';
import { decodeNodeSnapshot, encodeNodeSnapshot } from './node-snapshot.js';
import {
  describeValue,
  encodeProposal,
  proposalFrameOverhead,
  readProposalLayout,
  sameOriginAt,
  type ProposalFrameLayout,
} from './proposal-frame.js';
import type { RaftConfig } from './raft-config.js';
import { RaftCore } from './raft-core.js';
import type { ConfState, Entry, RaftMessage, RaftRole, ReadMode, Ready, SoftState } from './types.js';

/**
 * Transports in use by a running RaftNode. A network hands out one endpoint
 * per node id (MemoryNetwork returns the same object for the same id), so
 * two nodes started with the same id would share it: the second would take
 * over its handler and the first go deaf.
 */
const transportsInUse = new WeakSet<Transport>();

/** How a read is served. */
export type ReadConsistency = 'linearizable' | 'lease' | 'serializable';

const READ_CONSISTENCIES: ReadonlySet<unknown> = new Set<ReadConsistency>(['linearizable', 'lease', 'serializable']);

/** The longest deadline a timer can hold (setTimeout's limit); longer ones would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Bytes of an append message other than its entry's data: the envelope
 * (cluster id, sender, receiver, protocol name) and the message's fields
 * (type, term, indexes, commit, the entry's term, index and type). Generous
 * on purpose, so that ids of up to about 1 KiB in total still fit.
 */
export const APPEND_FRAMING_BYTES = 4096;

export interface OperationOptions {
  /** Cancels the wait. The operation's outcome is then unknown to the caller. */
  readonly signal?: AbortSignal;
  /**
   * Deadline in milliseconds of the node's clock, in [0, 2^31 - 1]; anything
   * else (negative, NaN, not a number, larger) is refused with
   * InvalidArgumentError before the operation starts.
   * @default the node's `defaultTimeoutMs`
   */
  readonly timeoutMs?: number;
}

export interface ReadOptions extends OperationOptions {
  /**
   * `linearizable` (default) confirms leadership with a quorum heartbeat round
   * (ReadIndex); `lease` trusts the leader lease (see RaftConfig.leaseReads);
   * `serializable` answers from the local state, which may be stale. Any
   * other value is refused with InvalidArgumentError.
   */
  readonly consistency?: ReadConsistency;
}

/** Options of the membership operations ({@link RaftNode.changeMembership} and friends). */
export interface MembershipOptions extends OperationOptions {
  /**
   * How the cluster moves to the new configuration: `auto` (simple for one
   * voter, joint consensus left automatically otherwise), `simple`,
   * `implicit` (always joint, left automatically) or `explicit-joint` (stay
   * joint until {@link RaftNode.leaveJoint}). @default 'auto'
   */
  readonly transition?: ConfChangeTransition;
  /**
   * Before a learner becomes a voter, wait until its log is within this
   * many entries of the leader's last index. If it does not get there before
   * the deadline the call rejects with LearnerNotCaughtUpError.
   * @default the node's `maxLearnerLag`
   */
  readonly maxLearnerLag?: number;
  /**
   * For `addVoter`, `addLearner` and `promoteLearner`: bytes replicated
   * with the change for the application, typically the member's address
   * (see `ConfChangeSingle.context` and {@link RaftNode.memberContext}).
   */
  readonly context?: Uint8Array;
}

/**
 * When the node snapshots its state machine and compacts its log. A
 * snapshot is taken at the applied index once either threshold is crossed
 * since the previous one; the log is then compacted, keeping
 * `retainEntries` entries so that slightly slow followers still catch up
 * from the log rather than by InstallSnapshot.
 */
export interface SnapshotPolicy {
  /** Snapshot after this many applied entries. @default 10000 */
  readonly entries?: number;
  /** Snapshot after this many bytes of applied entry data. @default 67108864 (64 MiB) */
  readonly bytes?: number;
  /** Entries kept in the log below the snapshot index. @default 1000 */
  readonly retainEntries?: number;
}

export interface RaftNodeOptions<Result, Query, QueryResult> {
  /** Raft settings, including this node's id and the initial voters. */
  readonly raft: RaftConfig;
  /** Envelopes from another cluster id are dropped. */
  readonly clusterId: string;
  readonly transport: Transport;
  readonly storage: Storage;
  readonly stateMachine: StateMachine<Uint8Array, Result, Query, QueryResult>;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default systemRandom */
  readonly random?: Random;
  /** Milliseconds per Raft tick. Election timeout = electionTicks × this. @default 100 */
  readonly tickIntervalMs?: number;
  /**
   * Deadline of every call that waits (propose, read, membership and
   * leadership calls) when the call gives none. @default 5000
   */
  readonly defaultTimeoutMs?: number;
  /** Limit on proposals plus reads waiting for an answer; beyond it calls fail with BusyError. @default 10000 */
  readonly maxPendingOperations?: number;
  /**
   * Detector-assisted elections: every message from the leader is fed to
   * this detector as a heartbeat, and when it declares the leader failed a
   * follower starts PreVote at once instead of waiting out its randomized
   * election timeout. PreVote keeps a false suspicion from disrupting a
   * healthy leader: an election only happens when a majority no longer hears
   * the leader either. Give each node its own detector instance.
   * @default undefined (elections wait for the election timeout)
   */
  readonly failureDetector?: FailureDetector;
  /**
   * Detector-assisted elections only: the longest leader pause (a GC pause,
   * an event-loop stall, a burst of lost messages) that must never depose
   * the leader. A follower campaigns early only once its detector suspects
   * the leader and the leader has been silent for this long, rounded up to
   * whole heartbeat intervals, plus one heartbeat interval plus a quarter
   * tick (for delivery jitter): 625 ms with the defaults. Every
   * follower sees the same silence, so without this hold-down a short pause
   * makes them all campaign together and elect someone else. Larger values
   * make failover after a real crash slower by about the same amount (see
   * the measured table in the README). 0 leaves the detector alone to decide.
   * @default half the minimum election timeout (`electionTicks × tickIntervalMs / 2`, 500 ms with the defaults)
   */
  readonly toleratedLeaderPauseMs?: number;
  /**
   * When true (default) the node installs itself as the transport's handler.
   * Set false when several protocols share one transport, and pass raft
   * envelopes to {@link RaftNode.receive} yourself.
   */
  readonly attachToTransport?: boolean;
  /**
   * Default for {@link MembershipOptions.maxLearnerLag}: promotions wait
   * until the learner is within this many entries of the leader.
   * @default undefined (promote at once)
   */
  readonly maxLearnerLag?: number;
  /**
   * Automatic snapshots and log compaction; `false` turns them off (the log
   * then grows without bound). @default {} (see {@link SnapshotPolicy} for the defaults)
   */
  readonly snapshots?: SnapshotPolicy | false;
}

export interface RaftNodeEvents {
  role: { readonly role: RaftRole; readonly term: number };
  leader: { readonly leader: NodeId | undefined; readonly term: number };
  commit: { readonly index: number };
  apply: { readonly index: number; readonly term: number };
  /** A configuration took effect here: a conf-change entry at `index` was applied, or a snapshot installed. */
  membership: { readonly confState: ConfState; readonly index: number };
  /** A snapshot of the state machine was stored at `index` and the log compacted up to `compactedTo`. */
  snapshot: { readonly index: number; readonly compactedTo: number; readonly bytes: number };
  /** Something went wrong that the node could not handle (storage failure, listener error, bad message). */
  error: { readonly error: unknown };
}

export interface RaftNodeStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly leader: NodeId | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly stopped: boolean;
  /** The configuration in effect on this node. */
  readonly membership: ConfState;
}

interface PendingRead<QueryResult> {
  readonly call: Pending<QueryResult>;
  readonly query: unknown;
  readonly batch: ReadBatch<QueryResult>;
}

/**
 * The reads of one turn of the event loop with one consistency: they share
 * one read-index request (one heartbeat round on the leader), as etcd
 * batches its linearizable reads. The request is made at the end of the
 * turn, after every read of the batch has started, so its read index is at
 * least the commit index each of them saw when it began.
 */
interface ReadBatch<QueryResult> {
  readonly context: string;
  readonly mode: ReadMode;
  readonly reads: Set<PendingRead<QueryResult>>;
  /** The read index request went to the core. */
  submitted: boolean;
  /** The index the batch's reads wait for, once the core answered the request. */
  readIndex: number | undefined;
}

/**
 * Runs a {@link RaftCore} on a clock, with a Transport and a Storage, and
 * applies committed entries to a StateMachine.
 *
 * The loop follows the Ready contract: persist entries and hard state and
 * wait for `storage.sync()`, then send messages, then apply committed entries
 * and answer reads, then `advance`. A leader's appends leave before its sync
 * (the followers write while it does); its own copy counts toward a commit
 * only after the sync. Inputs arriving meanwhile go straight into the core
 * and are picked up by the next iteration.
 *
 * Every promise settles exactly once: with its result, or with a typed error
 * (`NotLeaderError`, `TimeoutError`, `AbortError`, `StoppedError`, `NotStartedError`,
 * `ProposalDroppedError`, `BusyError`, `NotVoterError`, the membership
 * errors). Nothing hangs after {@link RaftNode.stop}.
 *
 * @example
 * ```ts
 * const node = new RaftNode({
 *   raft: { id: 'n1', voters: ['n1', 'n2', 'n3'] },
 *   clusterId: 'demo',
 *   transport: network.endpoint('n1'),
 *   storage: new MemoryStorage(),
 *   stateMachine: new KvStateMachine(),
 * });
 * node.start(); // and n2, n3 likewise
 * // propose needs a known leader (NotLeaderError otherwise): wait for one, or ask for it
 * await node.campaign({ timeoutMs: 5000 });
 * const result = await node.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { timeoutMs: 2000 });
 * ```
 */
export class RaftNode<Result = unknown, Query = unknown, QueryResult = unknown> {
  readonly id: NodeId;
  readonly #options: RaftNodeOptions<Result, Query, QueryResult>;
  readonly #core: RaftCore;
  readonly #clock: Clock;
  readonly #tickIntervalMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #maxPending: number;
  readonly #events = new TypedEmitter<RaftNodeEvents>((error, name) => {
    // An 'error' listener that throws is not reported again, or it would loop.
    if (name !== 'error') this.#reportError(error);
  });
  /** Distinguishes this incarnation's proposal ids from an earlier run's. */
  readonly #incarnation: string;
  /** The incarnation as bytes: the origin of this run's proposal frames. */
  readonly #origin: Uint8Array;
  /** Numbers this run's operations; a proposal's number is its sequence in the frame. */
  #sequence = 0;
  /** The timeouts of pending calls. */
  readonly #deadlines: Deadlines;

  /** Sequence number → this run's proposals waiting to be applied. */
  readonly #proposals = new WindowMap<PendingCall<Result>>();
  /** Replicated: which proposals have applied, so that a duplicated one applies once. */
  readonly #appliedProposals = new AppliedProposals();
  readonly #memberContexts = new MemberContexts();
  /** Scratch for reading the frame of the entry being applied (see readProposalLayout). */
  readonly #frameLayout: ProposalFrameLayout = { originStart: 0, originEnd: 0, sequence: 0, commandStart: 0 };
  /** index → sequence number, for proposals this node appended as leader. */
  readonly #proposalAtIndex = new WindowMap<number>();
  readonly #reads = new Set<PendingRead<QueryResult>>();
  /** Read batches not yet submitted to the core, by mode (see ReadBatch). */
  readonly #openReadBatches = new Map<ReadMode, ReadBatch<QueryResult>>();
  /** Submitted read batches by their context, until their reads are settled. */
  readonly #readBatches = new Map<string, ReadBatch<QueryResult>>();
  /**
   * Batches with a read index, until it is applied and their reads are
   * served: after each Ready only these are looked at, not every pending
   * read (most of which still wait for their heartbeat round).
   */
  readonly #indexedReadBatches = new Set<ReadBatch<QueryResult>>();
  /** Membership calls not settled yet, rejected on stop. */
  readonly #membershipOps = new Set<Pending<ConfState>>();
  /** index → the membership call whose conf-change entry this node appended there. */
  readonly #confAtIndex = new Map<number, { readonly term: number; readonly pending: Pending<ConfState> }>();
  /**
   * transferLeadership, stepDown and campaign calls: each checks the
   * leadership after every Ready and tick, and settles its call when done
   * (or throws). Returns true once settled.
   */
  readonly #leadershipWaits = new Map<() => boolean, Pending<void>>();
  /** Promotions waiting for their learner to catch up; retried every tick. Each returns true when done. */
  readonly #catchUpWaits = new Set<() => boolean>();
  /**
   * Settlements that must wait until the core has seen `advance`: a caller
   * reacting to an applied change may propose the next one at once, and the
   * core refuses it until it knows the first is applied.
   */
  #afterAdvance: (() => void)[] = [];
  readonly #snapshotPolicy: Required<SnapshotPolicy> | undefined;
  /** Applied entries and bytes since the last snapshot (or start). */
  #sinceSnapshot = { entries: 0, bytes: 0 };

  #tickTimer: TimerHandle | undefined;
  #started = false;
  #stopped = false;
  /** The Ready loop is running (see #drain). */
  #draining = false;
  /** The head of the pipeline is being completed (see #complete). */
  #completing = false;
  /** Readies handed out by the core and not yet advanced, oldest first (see #drain). */
  readonly #inFlight: InFlightReady[] = [];
  /** Readies in flight that make a term, vote or snapshot durable. */
  #criticalInFlight = 0;
  /** A loop start is queued as a microtask (see #kick). */
  #kickQueued = false;
  #applied: number;
  #commit = 0;
  #soft: SoftState = { role: 'follower', leader: undefined };
  /** Set while the failure detector suspects the leader: ticks since, and when to campaign next. */
  #suspicion: { elapsed: number; nextCampaignAt: number } | undefined;
  /** When this node last heard from the leader it follows (its clock). */
  #leaderHeardAt = 0;
  /** Silence from the leader after which a suspicion may lead to a campaign (see toleratedLeaderPauseMs). */
  readonly #assistedHoldDownMs: number;
  /** A check at the very end of the hold-down, so that a suspicion does not wait for the next tick. */
  #holdDownTimer: TimerHandle | undefined;
  readonly #random: Random;
  readonly #electionTicks: number;
  #term = 0;

  constructor(options: RaftNodeOptions<Result, Query, QueryResult>) {
    this.#options = options;
    this.id = options.raft.id;
    if (options.transport.localId !== this.id) {
      throw new InvalidArgumentError(`transport belongs to '${options.transport.localId}', not '${this.id}'`);
    }
    this.#clock = options.clock ?? systemClock;
    const random = options.random ?? systemRandom;
    this.#tickIntervalMs = positive(options.tickIntervalMs ?? 100, 'tickIntervalMs');
    this.#defaultTimeoutMs = positive(options.defaultTimeoutMs ?? 5000, 'defaultTimeoutMs');
    if (!validTimeout(this.#defaultTimeoutMs)) {
      throw new InvalidArgumentError(`defaultTimeoutMs must be at most ${MAX_TIMEOUT_MS}, got ${this.#defaultTimeoutMs}`);
    }
    this.#maxPending = positive(options.maxPendingOperations ?? 10_000, 'maxPendingOperations');
    this.#incarnation = `${this.id}/${random.int(2 ** 32).toString(36)}`;
    this.#origin = new TextEncoder().encode(this.#incarnation);
    this.#deadlines = new Deadlines(this.#clock);
    // A state machine starts empty (unless the caller says how far it got):
    // bring it to the stored snapshot before the log is replayed on top.
    let applied = options.raft.applied ?? 0;
    const stored = options.storage.snapshot();
    if (stored.metadata.index > 0) {
      const parts = decodeNodeSnapshot(stored.data);
      this.#appliedProposals.restore(parts.appliedProposals);
      this.#memberContexts.restore(parts.memberContexts);
      if (stored.metadata.index > applied) {
        options.stateMachine.restore(parts.stateMachine);
        applied = stored.metadata.index;
      }
    }
    // A state machine that kept its own state past the snapshot skips those
    // entries; they still count as applied proposals.
    this.#recordAppliedFrames(stored.metadata.index + 1, applied);
    this.#snapshotPolicy =
      options.snapshots === false
        ? undefined
        : {
            entries: positive(options.snapshots?.entries ?? 10_000, 'snapshots.entries'),
            bytes: positive(options.snapshots?.bytes ?? 64 * 1024 * 1024, 'snapshots.bytes'),
            retainEntries: Math.max(0, Math.floor(options.snapshots?.retainEntries ?? 1000)),
          };
    // The lease is timed on the node's clock, so a stalled event loop (which
    // delays ticks) cannot stretch it.
    const clock = this.#clock;
    const leaseClock = { now: () => clock.now(), tickIntervalMs: this.#tickIntervalMs };
    this.#core = new RaftCore({ ...options.raft, applied }, options.storage, random.fork(), leaseClock);
    this.#random = random.fork();
    this.#electionTicks = options.raft.electionTicks ?? 10;
    const toleratedPause = options.toleratedLeaderPauseMs ?? (this.#electionTicks * this.#tickIntervalMs) / 2;
    if (!(Number.isFinite(toleratedPause) && toleratedPause >= 0)) {
      throw new InvalidArgumentError(`toleratedLeaderPauseMs must be a non-negative number, got ${toleratedPause}`);
    }
    const heartbeatIntervalMs = (options.raft.heartbeatTicks ?? 1) * this.#tickIntervalMs;
    // A pause ends with the leader's next heartbeat, which may come up to one
    // interval after it; when messages are lost rather than delayed, the
    // silence is the pause rounded up to whole intervals, plus one.
    this.#assistedHoldDownMs =
      toleratedPause === 0
        ? 0
        : Math.ceil(toleratedPause / heartbeatIntervalMs) * heartbeatIntervalMs + heartbeatIntervalMs + this.#tickIntervalMs / 4;
    this.#applied = applied;
    const status = this.#core.status();
    this.#term = status.term;
    this.#commit = status.commit;
  }

  /**
   * Starts ticking and (unless `attachToTransport` is false) receiving.
   * Idempotent. Every call that waits (propose, read, the leadership and
   * membership calls) rejects with NotStartedError until then.
   *
   * @throws InvalidArgumentError when another running RaftNode uses the same
   *   transport (two nodes with one id on one network); stop it first.
   */
  start(): void {
    if (this.#stopped) throw new StoppedError();
    if (this.#started) return;
    const transport = this.#options.transport;
    if (transportsInUse.has(transport)) {
      throw new InvalidArgumentError(
        `the transport of '${this.id}' is already used by another running RaftNode (a duplicate node id on this network?)`,
      );
    }
    transportsInUse.add(transport);
    this.#started = true;
    if (this.#options.attachToTransport !== false) {
      this.#options.transport.setHandler((envelope) => this.receive(envelope));
    }
    this.#scheduleTick();
    this.#kick();
  }

  /** Feeds one envelope from the transport. Foreign, malformed or non-raft envelopes are ignored. */
  receive(envelope: Envelope): void {
    if (this.#stopped || envelope.protocol !== 'raft' || envelope.clusterId !== this.#options.clusterId) return;
    const message = envelope.payload as RaftMessage;
    if (typeof message !== 'object' || message === null || message.to !== this.id) return;
    if (this.#options.failureDetector !== undefined && message.from === this.#soft.leader) {
      const now = this.#clock.now();
      this.#leaderHeardAt = now;
      this.#options.failureDetector.heartbeat(message.from, now);
    }
    try {
      this.#core.step(message);
    } catch (error) {
      // step() ignores bad peer input; a throw is a broken invariant
      // (RaftInvariantError): our log cannot be trusted any more.
      this.#failStop(error);
      return;
    }
    this.#kick();
  }

  /**
   * The largest command {@link propose} accepts, in bytes: the transport's
   * `maxMessageBytes` less the proposal frame and {@link APPEND_FRAMING_BYTES}.
   * A larger entry could never be sent to a follower, and would stall the
   * log behind it for good.
   */
  get maxProposalBytes(): number {
    return Math.max(0, this.#options.transport.maxMessageBytes - APPEND_FRAMING_BYTES - proposalFrameOverhead(this.#origin));
  }

  /**
   * Proposes a command and resolves with the state machine's result once it
   * is applied on this node.
   *
   * Rejects with InvalidArgumentError when `command` is not a Uint8Array or
   * an option is invalid, and with MessageTooLargeError when it is longer
   * than {@link maxProposalBytes}; either way nothing reaches the log.
   *
   * @example
   * ```ts
   * const result = await node.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { timeoutMs: 2000 });
   * ```
   */
  propose(command: Uint8Array, options: OperationOptions = {}): Promise<Result> {
    if (!(command instanceof Uint8Array)) {
      return Promise.reject(new InvalidArgumentError(`a proposal must be a Uint8Array, got ${describeValue(command)}`));
    }
    if (command.byteLength > this.maxProposalBytes) {
      return Promise.reject(new MessageTooLargeError(command.byteLength, this.maxProposalBytes));
    }
    // #operation inlined: the hottest call of the node gets no closures.
    const call = this.#startCall<Result>(options, undefined, true);
    if (call instanceof Promise) return call;
    const sequence = call.sequence;
    // Registered first, so that a refusal below also unregisters it.
    call.registerIn(this.#proposals);
    try {
      const placed = this.#core.propose(encodeProposal(this.#origin, sequence, command));
      if ('index' in placed) this.#proposalAtIndex.set(placed.index, sequence);
    } catch (error) {
      call.reject(asError(error));
      return call.promise;
    }
    this.#kick();
    return call.promise;
  }

  /** Reads through the state machine's `query` with the requested consistency. */
  read(query: Query, options: ReadOptions = {}): Promise<QueryResult> {
    const consistency = options.consistency ?? 'linearizable';
    if (!READ_CONSISTENCIES.has(consistency)) {
      return Promise.reject(
        new InvalidArgumentError(`consistency must be 'linearizable', 'lease' or 'serializable', got ${String(consistency)}`),
      );
    }
    if (consistency === 'serializable') {
      try {
        if (this.#stopped) throw new StoppedError();
        if (!this.#started) throw new NotStartedError();
        if (options.timeoutMs !== undefined && !validTimeout(options.timeoutMs)) {
          throw new InvalidArgumentError(`timeoutMs must be a number of milliseconds in [0, ${MAX_TIMEOUT_MS}], got ${String(options.timeoutMs)}`);
        }
        throwIfAborted(options.signal);
        return Promise.resolve(this.#options.stateMachine.query(query));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const mode: ReadMode = consistency === 'lease' ? 'lease' : 'safe';
    return this.#operation<QueryResult>(options, (_sequence, pending) => {
      const batch = this.#openReadBatches.get(mode) ?? this.#openReadBatch(mode);
      const read: PendingRead<QueryResult> = { call: pending, query, batch };
      batch.reads.add(read);
      this.#reads.add(read);
      return () => {
        this.#reads.delete(read);
        batch.reads.delete(read);
        if (batch.submitted && batch.reads.size === 0) {
          this.#readBatches.delete(batch.context);
          // A forwarded read whose answer was lost would otherwise stay in the core.
          this.#core.forgetRead(batch.context);
        }
      };
    });
  }

  /** A new batch for the reads of this turn, submitted to the core at its end. */
  #openReadBatch(mode: ReadMode): ReadBatch<QueryResult> {
    const batch: ReadBatch<QueryResult> = {
      context: `${this.#incarnation}/r${++this.#sequence}`,
      mode,
      reads: new Set(),
      submitted: false,
      readIndex: undefined,
    };
    this.#openReadBatches.set(mode, batch);
    queueMicrotask(() => this.#submitReadBatch(batch));
    return batch;
  }

  #submitReadBatch(batch: ReadBatch<QueryResult>): void {
    if (this.#openReadBatches.get(batch.mode) === batch) this.#openReadBatches.delete(batch.mode);
    if (this.#stopped || batch.reads.size === 0) return;
    try {
      this.#core.readIndex(batch.context, batch.mode);
    } catch (error) {
      // No leader known: every read of the batch fails (and unregisters).
      const failure = asError(error);
      for (const read of [...batch.reads]) read.call.reject(failure);
      return;
    }
    batch.submitted = true;
    this.#readBatches.set(batch.context, batch);
    this.#kick();
  }

  /**
   * Hands leadership to `target` (thesis §3.10): the leader brings the
   * target's log up to date, then sends it TimeoutNow so that it campaigns at
   * once. Resolves when this node sees `target` as the leader; at once when
   * `target` is this node and it leads.
   *
   * Proposals and membership changes are refused while the transfer runs.
   * The core abandons a transfer that has not finished within an election
   * timeout, and the call then rejects with TimeoutError; so does the call's
   * own deadline. A deadline or an abort ends the wait, not the transfer.
   *
   * Rejects with NotLeaderError when this node is not the leader at call
   * time, or when leadership went to another node (the hint names it);
   * NotVoterError when `target` is a learner or not a member; BusyError
   * while a transfer to another node runs; TimeoutError, AbortError or
   * StoppedError.
   *
   * @example
   * ```ts
   * await leader.transferLeadership('n2', { timeoutMs: 3000 });
   * ```
   */
  transferLeadership(target: NodeId, options: OperationOptions = {}): Promise<void> {
    return this.#leadershipOperation(options, () => {
      const status = this.#core.status();
      if (status.role !== 'leader') throw new NotLeaderError(status.leader);
      if (target === this.id) return () => true;
      if (!isVoterIn(this.#core.confState(), target)) throw new NotVoterError(target);
      const transferee = status.leadTransferee;
      if (transferee !== undefined && transferee !== target) {
        throw new BusyError(`leadership transfer to ${transferee} in progress`);
      }
      this.#core.transferLeadership(target);
      return () => {
        const now = this.#core.status();
        if (now.leader === target) return true;
        if (now.role !== 'leader') {
          // Between leaders (the target is campaigning): keep waiting.
          if (now.leader === undefined) return false;
          throw new NotLeaderError(now.leader);
        }
        if (now.leadTransferee === target) return false;
        if (!isVoterIn(this.#core.confState(), target)) throw new NotVoterError(target);
        throw new TimeoutError(`leadership transfer to ${target} abandoned after an election timeout`);
      };
    });
  }

  /**
   * Gives up leadership, to the most up-to-date other voter when there is
   * one (as {@link transferLeadership} would), and resolves once this node
   * is no longer leader; at once on a node that is not leader. With no other
   * voter the node simply becomes a follower (and, being the only voter,
   * will win the next election).
   *
   * Rejects with TimeoutError when the hand-over is abandoned after an
   * election timeout or the deadline passes, AbortError or StoppedError.
   */
  stepDown(options: OperationOptions = {}): Promise<void> {
    return this.#leadershipOperation(options, () => {
      const status = this.#core.status();
      if (status.role !== 'leader') return () => true;
      // A running transfer already ends this leadership; picking another
      // target would restart it.
      if (status.leadTransferee === undefined) this.#core.stepDown();
      return () => {
        const now = this.#core.status();
        if (now.role !== 'leader') return true;
        if (now.leadTransferee !== undefined) return false;
        throw new TimeoutError('leadership hand-over abandoned after an election timeout');
      };
    });
  }

  /**
   * Starts an election now, as if the election timeout had elapsed (PreVote
   * first when enabled, so it cannot disrupt a leader that a majority still
   * hears), and resolves once this node is leader; at once if it already is.
   * One election is run, not retried: when another node wins it, or keeps
   * the leadership it had, the call rejects with NotLeaderError naming that
   * node. An election that ends without a known leader keeps the call
   * waiting (the node retries on its own election timeout) until the
   * deadline.
   *
   * Rejects with NotVoterError on a learner or non-member, NotLeaderError,
   * TimeoutError, AbortError or StoppedError.
   */
  campaign(options: OperationOptions = {}): Promise<void> {
    return this.#leadershipOperation(options, () => {
      if (this.#core.status().role === 'leader') return () => true;
      if (!isVoterIn(this.#core.confState(), this.id)) throw new NotVoterError(this.id);
      this.#core.campaign();
      return () => {
        const now = this.#core.status();
        if (now.role === 'leader') return true;
        if (now.leader === undefined) return false;
        throw new NotLeaderError(now.leader);
      };
    });
  }

  /**
   * Changes the membership through the log and resolves, with the new
   * configuration, once the change is applied on this node (for joint
   * changes: once the joint configuration is in effect; with an automatic
   * transition the leave step follows by itself). Only the leader accepts
   * changes, one at a time.
   *
   * Rejects with NotLeaderError, ConfChangePendingError,
   * InvalidConfChangeError, LearnerNotCaughtUpError, TimeoutError,
   * AbortError, ProposalDroppedError or StoppedError.
   *
   * @example
   * ```ts
   * await leader.changeMembership([{ type: 'add-voter', node: 'n4' }, { type: 'remove', node: 'n1' }]);
   * ```
   */
  changeMembership(changes: readonly ConfChangeSingle[], options: MembershipOptions = {}): Promise<ConfState> {
    const request = { changes, transition: options.transition ?? 'auto' };
    const maxLag = options.maxLearnerLag ?? this.#options.maxLearnerLag;
    let lagging: LearnerNotCaughtUpError | undefined;
    let proposed = false;
    return this.#operation<ConfState>(
      options,
      (_sequence, pending) => {
        const attempt = (): boolean => {
          try {
            const placed = this.#core.proposeConfChange(request, maxLag === undefined ? {} : { maxLearnerLag: maxLag });
            proposed = true;
            this.#confAtIndex.set(placed.index, { term: placed.term, pending });
            return true;
          } catch (error) {
            if (!(error instanceof LearnerNotCaughtUpError)) throw error;
            lagging = error;
            return false;
          }
        };
        const retry = (): boolean => {
          try {
            return attempt();
          } catch (error) {
            pending.reject(asError(error));
            return true;
          }
        };
        // Registered only once the first attempt did not throw: a refused
        // change must leave nothing behind.
        if (!attempt()) this.#catchUpWaits.add(retry);
        this.#membershipOps.add(pending);
        return () => {
          this.#membershipOps.delete(pending);
          this.#catchUpWaits.delete(retry);
        };
      },
      () => (!proposed ? lagging : undefined),
    );
  }

  /** Adds `id` as a voter (a learner is promoted), with `options.context` replicated alongside. See {@link changeMembership}. */
  addVoter(id: NodeId, options: MembershipOptions = {}): Promise<ConfState> {
    return this.changeMembership([withContext({ type: 'add-voter', node: id }, options.context)], options);
  }

  /** Adds `id` as a learner: it receives the log but does not vote. See {@link changeMembership}. */
  addLearner(id: NodeId, options: MembershipOptions = {}): Promise<ConfState> {
    return this.changeMembership([withContext({ type: 'add-learner', node: id }, options.context)], options);
  }

  /** Makes the learner `id` a voter, after it caught up when `maxLearnerLag` is set. See {@link changeMembership}. */
  promoteLearner(id: NodeId, options: MembershipOptions = {}): Promise<ConfState> {
    return this.changeMembership([withContext({ type: 'promote', node: id }, options.context)], options);
  }

  /**
   * The context the latest change that added (or promoted) member `id`
   * carried, as every replica holds it at this node's applied index; for
   * example the member's address. Undefined for a member added without one,
   * and for a removed member.
   *
   * @example
   * ```ts
   * await leader.addVoter('n4', { context: new TextEncoder().encode('10.0.0.4:7000') });
   * // on any node, once the change is applied there:
   * new TextDecoder().decode(node.memberContext('n4')); // '10.0.0.4:7000'
   * ```
   */
  memberContext(id: NodeId): Uint8Array | undefined {
    return this.#memberContexts.get(id);
  }

  /** Every member's context (see {@link memberContext}), by id. */
  memberContexts(): ReadonlyMap<NodeId, Uint8Array> {
    return this.#memberContexts.entries();
  }

  /** Removes `id` (voter or learner). Removing the leader makes it step down once the change applies. */
  removeMember(id: NodeId, options: MembershipOptions = {}): Promise<ConfState> {
    return this.changeMembership([{ type: 'remove', node: id }], options);
  }

  /** Leaves a joint configuration entered with `transition: 'explicit-joint'`. */
  leaveJoint(options: OperationOptions = {}): Promise<ConfState> {
    return this.changeMembership([], options);
  }

  /**
   * This node's current term, as far as it has handed it to storage: the
   * cheap part of {@link status}, for a response header on every call.
   */
  get term(): number {
    return this.#term;
  }

  /** The leader this node follows (itself when it leads), or undefined: the cheap part of {@link status}. */
  get leader(): NodeId | undefined {
    return this.#soft.leader;
  }

  status(): RaftNodeStatus {
    const core = this.#core.status();
    return {
      id: this.id,
      role: core.role,
      term: core.term,
      leader: core.leader,
      commitIndex: core.commit,
      appliedIndex: this.#applied,
      lastIndex: core.lastIndex,
      pendingProposals: this.#proposals.size,
      pendingReads: this.#reads.size,
      stopped: this.#stopped,
      membership: core.confState,
    };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RaftNodeEvents>(name: K, listener: (event: RaftNodeEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Stops the node: no more ticks, messages or applies, and every pending
   * call rejects with `StoppedError`. Idempotent. The transport and storage
   * stay open; they belong to the caller.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#started) transportsInUse.delete(this.#options.transport);
    if (this.#tickTimer !== undefined) this.#clock.clearTimeout(this.#tickTimer);
    if (this.#holdDownTimer !== undefined) this.#clock.clearTimeout(this.#holdDownTimer);
    if (this.#options.attachToTransport !== false && this.#started) {
      this.#options.transport.setHandler(() => undefined);
    }
    const error = new StoppedError();
    const pendingCalls: Pending<never>[] = [
      ...this.#proposals.values(),
      ...[...this.#reads].map((read) => read.call),
      ...this.#membershipOps,
      ...this.#leadershipWaits.values(),
    ];
    for (const pending of pendingCalls) pending.reject(error);
    this.#proposals.clear();
    this.#reads.clear();
    this.#openReadBatches.clear();
    this.#readBatches.clear();
    this.#indexedReadBatches.clear();
    this.#proposalAtIndex.clear();
    this.#membershipOps.clear();
    this.#confAtIndex.clear();
    this.#catchUpWaits.clear();
    this.#leadershipWaits.clear();
    this.#afterAdvance = [];
    this.#inFlight.length = 0;
    this.#criticalInFlight = 0;
    this.#deadlines.clear();
  }

  // ---- internals ----

  /**
   * Shared scaffolding of every call that waits: admission checks, one
   * settle per promise, timeout and abort wiring.
   */
  #operation<T>(
    options: OperationOptions,
    begin: (sequence: number, pending: Pending<T>) => () => void,
    /** A more telling error than TimeoutError for the deadline, if any. */
    onDeadline?: () => Error | undefined,
    /** Counts against `maxPendingOperations` (proposals and reads do; leadership calls are few). */
    bounded = true,
  ): Promise<T> {
    const call = this.#startCall<T>(options, onDeadline, bounded);
    if (call instanceof Promise) return call;
    try {
      call.forget = begin(call.sequence, call);
    } catch (error) {
      call.reject(asError(error));
      return call.promise;
    }
    this.#kick();
    return call.promise;
  }

  /** Admission checks, then a new call with its deadline and abort wiring; or the rejected promise. */
  #startCall<T>(
    options: OperationOptions,
    onDeadline: (() => Error | undefined) | undefined,
    bounded: boolean,
  ): PendingCall<T> | Promise<T> {
    const signal = options.signal;
    if (this.#stopped) return Promise.reject(new StoppedError());
    if (!this.#started) return Promise.reject(new NotStartedError());
    if (signal?.aborted) return Promise.reject(new AbortError('operation aborted', { cause: signal.reason }));
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    if (!validTimeout(timeoutMs)) {
      return Promise.reject(
        new InvalidArgumentError(`timeoutMs must be a number of milliseconds in [0, ${MAX_TIMEOUT_MS}], got ${String(timeoutMs)}`),
      );
    }
    if (bounded && this.#proposals.size + this.#reads.size >= this.#maxPending) return Promise.reject(new BusyError());
    return new PendingCall<T>(++this.#sequence, this.#deadlines, timeoutMs, signal, onDeadline);
  }

  /**
   * A leadership call: `begin` checks its preconditions (throwing a typed
   * error) and acts on the core; the check it returns says whether the call
   * is done, false to keep waiting, or throws how it failed. The check runs
   * at once and then after every Ready and tick until the call settles.
   */
  #leadershipOperation(options: OperationOptions, begin: () => () => boolean): Promise<void> {
    return this.#operation<void>(
      options,
      (_sequence, pending) => {
        const check = begin();
        const poll = (): boolean => {
          let done: boolean;
          try {
            done = check();
          } catch (error) {
            pending.reject(asError(error));
            return true;
          }
          if (done) pending.resolve();
          return done;
        };
        // What `begin` changed in the core is not durable yet: a lone voter
        // elects itself at once, but a crash before its term and vote are
        // synced would forget that election. Then the first check waits for
        // the loop, which polls once everything handed out is persisted.
        const unpersisted = this.#core.hasReady() || this.#inFlight.length > 0;
        if (unpersisted || !poll()) this.#leadershipWaits.set(poll, pending);
        return () => this.#leadershipWaits.delete(poll);
      },
      undefined,
      false,
    );
  }

  /** Runs the checks of pending leadership calls (see {@link #leadershipOperation}). */
  #pollLeadership(): void {
    if (this.#leadershipWaits.size === 0) return;
    for (const poll of [...this.#leadershipWaits.keys()]) if (poll()) this.#leadershipWaits.delete(poll);
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#clock.setTimeout(() => {
      if (this.#stopped) return;
      try {
        this.#core.tick();
      } catch (error) {
        this.#failStop(error);
        return;
      }
      this.#consultDetector();
      for (const retry of [...this.#catchUpWaits]) if (retry()) this.#catchUpWaits.delete(retry);
      this.#pollLeadership();
      this.#kick();
      this.#scheduleTick();
    }, this.#tickIntervalMs);
  }

  /**
   * Detector-assisted elections. When the detector gives up on the leader, a
   * follower campaigns (PreVote) after a short random delay instead of its
   * full randomized election timeout. The delay matters: every follower's
   * detector sees the same silence and fires at nearly the same moment, and
   * campaigning together splits the vote again and again.
   *
   * Suspicion alone is not enough: the leader must also have been silent
   * for the hold-down (see `toleratedLeaderPauseMs`), or a leader pause that
   * every follower sees at once would depose it. Past the hold-down the node
   * forgets its leader, so it grants the PreVotes of the others at once.
   *
   * A peer refuses PreVotes while it still hears (or believes in) the leader,
   * so during one election timeout after the suspicion the node keeps asking,
   * again after a random few ticks, rather than waiting a whole timeout.
   * PreVote never changes terms, so a false suspicion cannot disrupt a
   * leader that a majority still hears.
   */
  #consultDetector(): void {
    const detector = this.#options.failureDetector;
    if (detector === undefined) return;
    const { role, leader } = this.#soft;
    if (role === 'leader') {
      this.#suspicion = undefined;
      return;
    }
    if (role === 'follower' && leader !== undefined) {
      const now = this.#clock.now();
      if (detector.isAvailable(leader, now)) this.#suspicion = undefined;
      else if (this.#suspicion === undefined) {
        const remaining = this.#leaderHeardAt + this.#assistedHoldDownMs - now;
        if (remaining <= 0) this.#suspectLeader(0);
        else if (remaining < this.#tickIntervalMs) this.#checkAtEndOfHoldDown(leader, remaining);
        return;
      }
    }
    const suspicion = this.#suspicion;
    if (suspicion === undefined) return;
    suspicion.elapsed++;
    if (suspicion.elapsed > this.#electionTicks) {
      this.#suspicion = undefined; // back to plain election timeouts
    } else if (suspicion.elapsed >= suspicion.nextCampaignAt) {
      // A candidate too: followers whose hold-downs end together may split
      // the vote, and a candidate would otherwise wait out a whole
      // randomized election timeout before trying again.
      suspicion.nextCampaignAt = suspicion.elapsed + 1 + this.#jitter();
      this.#core.campaign();
    }
  }

  /**
   * Runs the suspicion check again when the hold-down ends, between two
   * ticks: every follower's hold-down ends at about the same moment (they
   * heard the same last heartbeat), and checking then rather than at each
   * one's next tick both shortens failover and has them all forget the
   * leader before the first PreVote arrives.
   */
  #checkAtEndOfHoldDown(leader: NodeId, delayMs: number): void {
    if (this.#holdDownTimer !== undefined) return;
    const heardAt = this.#leaderHeardAt;
    this.#holdDownTimer = this.#clock.setTimeout(() => {
      this.#holdDownTimer = undefined;
      const detector = this.#options.failureDetector;
      if (this.#stopped || detector === undefined || this.#suspicion !== undefined) return;
      const { role, leader: current } = this.#soft;
      if (role !== 'follower' || current !== leader || this.#leaderHeardAt !== heardAt) return;
      if (detector.isAvailable(leader, this.#clock.now())) return;
      this.#suspectLeader(this.#random.int(Math.max(1, Math.floor(this.#tickIntervalMs / 2))));
    }, delayMs);
  }

  /**
   * The leader is suspected and was silent for the whole hold-down: forget
   * it (so this node grants the others' PreVotes at once) and campaign after
   * `delayMs`, a small random delay so that followers whose hold-downs end
   * together do not all campaign at once; later tries follow on ticks.
   */
  #suspectLeader(delayMs: number): void {
    this.#suspicion = { elapsed: 0, nextCampaignAt: 1 + this.#jitter() };
    this.#core.forgetLeader();
    const campaign = (): void => {
      if (this.#stopped || this.#suspicion === undefined || this.#soft.role === 'leader') return;
      this.#core.campaign();
      this.#kick();
    };
    if (delayMs <= 0) campaign();
    else this.#clock.setTimeout(campaign, delayMs);
    this.#kick();
  }

  /**
   * A random delay in ticks, in [0, electionTicks / 4): a quarter of the
   * spread plain Raft uses, enough to keep followers whose detectors fire
   * together from splitting the vote every time (retries cover the rest).
   */
  #jitter(): number {
    return this.#random.int(Math.max(1, Math.floor(this.#electionTicks / 4)));
  }

  /**
   * Starts the Ready loop on a microtask rather than at once, so that every
   * input of the current turn (a burst of proposals, a batch of delivered
   * messages) lands in the core first and the loop handles them in one
   * Ready: one storage write, one message per peer.
   */
  #kick(): void {
    if (this.#stopped || !this.#started || this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(() => {
      this.#kickQueued = false;
      this.#drain();
    });
  }

  /**
   * The Ready loop, pipelined: it takes Readies from the core without
   * waiting for the sync of the previous one. Each Ready's writes go to
   * storage at once, and what needs no sync happens at once too: the
   * leader's appends leave (the followers write while the leader does),
   * committed entries are applied (the core hands out only entries this node
   * has already made durable) and reads are served. What depends on the
   * Ready's writes being durable (acknowledgements, votes, any message after
   * a change of term or vote) waits for its sync; Readies complete, and the
   * core hears `advance`, strictly in order.
   *
   * Without the pipeline, proposals that arrived during an fdatasync reached
   * the followers only after it, and an entry committed by an
   * acknowledgement that arrived during an fdatasync was applied only after
   * the next one: each commit round paid an extra fdatasync.
   */
  #drain(): void {
    if (this.#draining || this.#stopped) return;
    this.#draining = true;
    try {
      while (!this.#stopped && this.#inFlight.length < MAX_READIES_IN_FLIGHT && this.#core.hasReady()) {
        this.#stage(this.#core.ready());
      }
    } catch (error) {
      // A storage or state machine failure leaves this replica in an unknown
      // state; carrying on could break safety, so the node fails stop.
      this.#failStop(error);
    } finally {
      this.#draining = false;
    }
  }

  /** Handles everything of `ready` that needs no sync, and queues the rest behind its sync. */
  #stage(ready: Ready): void {
    const storage = this.#options.storage;
    if (ready.softState !== undefined) this.#onSoftState(ready.softState);
    let mustSync = false;
    /** This Ready makes a new term, vote or snapshot durable: then every message waits for it. */
    let newTermVoteOrSnapshot = false;
    if (ready.snapshot !== undefined) {
      storage.applySnapshot(ready.snapshot);
      mustSync = true;
      newTermVoteOrSnapshot = true;
    }
    if (ready.entries.length > 0) {
      storage.append(ready.entries);
      mustSync = true;
    }
    if (ready.hardState !== undefined) {
      // etcd's MustSync: a new term or vote must be durable before a message
      // leaves, a commit index need not be (a restarted node learns it from
      // the leader again), so a change of commit alone rides with the next
      // sync instead of costing an fdatasync of its own.
      const previous = storage.initialState().hardState;
      if (ready.hardState.term !== previous.term || ready.hardState.vote !== previous.vote) {
        mustSync = true;
        newTermVoteOrSnapshot = true;
      }
      storage.setHardState(ready.hardState);
      if (ready.hardState.term !== this.#term) {
        this.#term = ready.hardState.term;
      }
    }
    const stage: InFlightReady = { ready, deferred: [], synced: !mustSync, critical: newTermVoteOrSnapshot, afterAdvance: [] };
    // Entries, term and vote must be durable before any message that depends
    // on them leaves (a vote, an append acknowledgement), and so must those
    // of every earlier Ready still in flight. A leader's appends (and
    // heartbeats and their answers) depend on none of them (see
    // sendsBeforeSync) unless a term or vote is on its way to disk, so they
    // leave first and the followers write while the leader does: a commit
    // then costs the slower of the two fsyncs rather than both in a row. The
    // core counts the leader's own copy only at `advance`, after the sync.
    const nothingPending = !mustSync && this.#inFlight.length === 0;
    const earlyAllowed = !newTermVoteOrSnapshot && this.#criticalInFlight === 0;
    for (const message of ready.messages) {
      // Test-only mutation (see internal/test-mutations.ts): every message leaves before the sync.
      if (nothingPending || mutations.ackBeforeSync || (earlyAllowed && sendsBeforeSync(message))) this.#send(message);
      else stage.deferred.push(message);
    }
    // Committed entries are durable here already (the core hands out no
    // others), so they apply without waiting for this Ready's sync.
    if (ready.committedEntries.length > 0) {
      this.#afterAdvance = stage.afterAdvance;
      for (const entry of ready.committedEntries) this.#apply(entry);
      this.#maybeSnapshot();
    }
    if (ready.hardState !== undefined && ready.hardState.commit > this.#commit) {
      this.#commit = ready.hardState.commit;
      this.#events.emit('commit', { index: this.#commit });
    }
    for (const state of ready.readStates) {
      const batch = this.#readBatches.get(state.context);
      if (batch === undefined) continue;
      batch.readIndex = state.index;
      this.#indexedReadBatches.add(batch);
    }
    for (const context of ready.droppedReads) {
      const batch = this.#readBatches.get(context);
      if (batch !== undefined) for (const read of [...batch.reads]) read.call.reject(new NotLeaderError(this.#soft.leader));
    }
    this.#serveReads();
    this.#inFlight.push(stage);
    if (stage.critical) this.#criticalInFlight++;
    if (mustSync) {
      storage.sync().then(
        () => {
          stage.synced = true;
          this.#complete();
        },
        (error: unknown) => this.#failStop(error),
      );
    } else {
      this.#complete();
    }
  }

  /** Completes, in order, the Readies at the head of the pipeline whose syncs are done. */
  #complete(): void {
    if (this.#completing) return;
    this.#completing = true;
    try {
      while (!this.#stopped && this.#inFlight.length > 0 && this.#inFlight[0]!.synced) {
        const stage = this.#inFlight.shift()!;
        if (stage.critical) this.#criticalInFlight--;
        for (const message of stage.deferred) this.#send(message);
        const ready = stage.ready;
        if (ready.snapshot !== undefined) {
          this.#restoreSnapshot(ready);
          this.#serveReads();
        }
        this.#core.advance(ready);
        for (const done of stage.afterAdvance) done();
      }
      // Leadership calls settle once everything handed out is durable.
      if (!this.#stopped && this.#inFlight.length === 0) this.#pollLeadership();
    } catch (error) {
      this.#failStop(error);
      return;
    } finally {
      this.#completing = false;
    }
    this.#kick();
  }

  #restoreSnapshot(ready: Ready): void {
    const snapshot = ready.snapshot;
    if (snapshot === undefined) return;
    const parts = decodeNodeSnapshot(snapshot.data);
    this.#appliedProposals.restore(parts.appliedProposals);
    this.#memberContexts.restore(parts.memberContexts);
    this.#options.stateMachine.restore(parts.stateMachine);
    this.#applied = snapshot.metadata.index;
    this.#sinceSnapshot = { entries: 0, bytes: 0 };
    if (snapshot.metadata.confState.voters.length > 0) {
      this.#events.emit('membership', { confState: snapshot.metadata.confState, index: snapshot.metadata.index });
    }
  }

  /**
   * Takes a snapshot at the applied index once a threshold is crossed, and
   * compacts the log behind it. Runs after the Ready's entries were applied,
   * so the state machine, the applied index and the core's configuration
   * all describe the same index.
   */
  #maybeSnapshot(): void {
    const policy = this.#snapshotPolicy;
    if (policy === undefined) return;
    if (this.#sinceSnapshot.entries < policy.entries && this.#sinceSnapshot.bytes < policy.bytes) return;
    const storage = this.#options.storage;
    const index = this.#applied;
    if (index <= storage.snapshot().metadata.index || index > storage.lastIndex()) return;
    this.#sinceSnapshot = { entries: 0, bytes: 0 };
    const data = encodeNodeSnapshot({
      appliedProposals: this.#appliedProposals.encode(),
      memberContexts: this.#memberContexts.encode(),
      stateMachine: this.#options.stateMachine.snapshot(),
    });
    storage.createSnapshot(index, data, this.#core.confState());
    const compactTo = index - policy.retainEntries;
    if (compactTo >= storage.firstIndex()) storage.compact(compactTo);
    this.#events.emit('snapshot', { index, compactedTo: storage.firstIndex() - 1, bytes: data.byteLength });
  }

  #send(message: RaftMessage): void {
    try {
      this.#options.transport.send(message.to, {
        clusterId: this.#options.clusterId,
        from: this.id,
        to: message.to,
        protocol: 'raft',
        payload: message,
      });
    } catch (error) {
      // Raft tolerates lost messages; report and carry on.
      this.#reportError(error);
    }
  }

  #apply(entry: Entry): void {
    if (entry.index <= this.#applied) return;
    this.#applied = entry.index;
    this.#sinceSnapshot.entries++;
    this.#sinceSnapshot.bytes += entry.data.byteLength;
    const confWaiter = this.#confAtIndex.get(entry.index);
    if (confWaiter !== undefined) {
      this.#confAtIndex.delete(entry.index);
      if (entry.type !== 'conf-change' || entry.term !== confWaiter.term) {
        confWaiter.pending.reject(new ProposalDroppedError("another entry was committed at the change's index"));
      }
    }
    const ownSequence = this.#proposalAtIndex.get(entry.index);
    if (ownSequence !== undefined) this.#proposalAtIndex.delete(entry.index);
    if (entry.type === 'conf-change') {
      if (ownSequence !== undefined) this.#dropOverwritten(ownSequence);
      this.#applyConfChange(entry, confWaiter?.term === entry.term ? confWaiter.pending : undefined);
      this.#events.emit('apply', { index: entry.index, term: entry.term });
      return;
    }
    if (entry.type === 'normal' && entry.data.length > 0) {
      const data = entry.data;
      const frame = this.#frameLayout;
      let decoded = true;
      try {
        readProposalLayout(data, frame);
      } catch (error) {
        // Every replica sees the same bytes, so skipping is deterministic.
        this.#reportError(error);
        decoded = false;
      }
      if (decoded) {
        const { originStart, originEnd, sequence, commandStart } = frame;
        const mine = sameOriginAt(data, originStart, originEnd, this.#origin) ? sequence : undefined;
        if (
          originEnd === originStart ||
          this.#appliedProposals.admitAt(data, originStart, originEnd, sequence, entry.index)
        ) {
          const command = data.subarray(commandStart);
          const result = this.#options.stateMachine.apply(command, { index: entry.index, term: entry.term });
          if (mine !== undefined) this.#proposals.get(mine)?.resolve(result);
        } else if (mine !== undefined) {
          // A copy of one that applied earlier (its call is settled), or
          // overtaken by a later proposal of ours: skipped everywhere.
          this.#proposals
            .get(mine)
            ?.reject(new ProposalDroppedError('a later proposal from this node was applied before it'));
        }
        if (ownSequence !== undefined && ownSequence !== mine) this.#dropOverwritten(ownSequence);
      } else if (ownSequence !== undefined) {
        this.#dropOverwritten(ownSequence);
      }
    } else if (ownSequence !== undefined) {
      this.#dropOverwritten(ownSequence);
    }
    if (this.#events.hasListeners('apply')) this.#events.emit('apply', { index: entry.index, term: entry.term });
  }

  /** Puts a committed conf-change into effect and settles the call that proposed it (after `advance`). */
  #applyConfChange(entry: Entry, waiter: Pending<ConfState> | undefined): void {
    let confState: ConfState;
    try {
      confState = this.#core.applyConfChange(entry);
    } catch (error) {
      // Deterministic: every replica skips the same malformed entry.
      this.#reportError(error);
      const failure = asError(error);
      if (waiter !== undefined) this.#afterAdvance.push(() => waiter.reject(failure));
      return;
    }
    // The core validated the entry just now, so it decodes.
    this.#memberContexts.apply(decodeConfChange(entry.data).changes, confState);
    if (waiter !== undefined) this.#afterAdvance.push(() => waiter.resolve(confState));
    this.#events.emit('membership', { confState, index: entry.index });
  }

  /**
   * Records the proposals in entries [from, to] as applied without applying
   * them: the caller's state machine already holds their effects.
   */
  #recordAppliedFrames(from: number, to: number): void {
    const storage = this.#options.storage;
    for (let index = Math.max(from, storage.firstIndex()); index <= to; ) {
      const batch = storage.entries(index, to + 1, 4 * 1024 * 1024);
      for (const entry of batch) {
        if (entry.type !== 'normal' || entry.data.length === 0) continue;
        const frame = this.#frameLayout;
        try {
          readProposalLayout(entry.data, frame);
        } catch {
          continue; // skipped when it was applied, too
        }
        if (frame.originEnd > frame.originStart) {
          this.#appliedProposals.admitAt(entry.data, frame.originStart, frame.originEnd, frame.sequence, entry.index);
        }
      }
      index += batch.length;
    }
  }

  /** Our proposal's slot was committed with another entry: it can never apply. */
  #dropOverwritten(sequence: number): void {
    const pending = this.#proposals.get(sequence);
    pending?.reject(new ProposalDroppedError("another entry was committed at the proposal's index"));
  }

  /** Serves the reads whose read index is applied (thesis §6.4 step 4). */
  #serveReads(): void {
    for (const batch of this.#indexedReadBatches) {
      if (batch.readIndex! > this.#applied) continue;
      // Settling a read removes it from its batch (see read's forget), which
      // iteration over a Set tolerates.
      this.#indexedReadBatches.delete(batch);
      for (const read of batch.reads) {
        let result: QueryResult;
        try {
          result = this.#options.stateMachine.query(read.query as Query);
        } catch (error) {
          read.call.reject(asError(error));
          continue;
        }
        read.call.resolve(result);
      }
    }
  }

  #onSoftState(soft: SoftState): void {
    const previous = this.#soft;
    this.#soft = soft;
    // A new leader starts with a clean history; the old one's silence must
    // not count against it if it ever leads again.
    if (previous.leader !== undefined && previous.leader !== soft.leader) {
      this.#options.failureDetector?.remove(previous.leader);
    }
    // A new leader's silence counts from when we learned of it.
    if (soft.leader !== previous.leader) this.#leaderHeardAt = this.#clock.now();
    if (previous.leader !== undefined && previous.leader !== soft.leader && previous.role !== 'leader') {
      this.#abandonForwardedProposals(previous.leader);
    }
    const term = this.#core.status().term;
    if (soft.role !== previous.role) this.#events.emit('role', { role: soft.role, term });
    if (soft.leader !== previous.leader) this.#events.emit('leader', { leader: soft.leader, term });
  }

  /**
   * A follower's proposals went to its leader (as MsgProp). Once that
   * leader is gone, an answer could only come from a commit under a later
   * leader, or never, at each call's deadline. They fail now instead, as
   * outcome-unknown (TimeoutError: a client retries with the same session,
   * and the session dedupes the write if it did commit), so clients turn to
   * the next leader as soon as there is one rather than when their calls
   * time out. etcd's followers make their clients wait out the deadline.
   */
  #abandonForwardedProposals(lostLeader: NodeId): void {
    if (this.#proposals.size === 0) return;
    const error = new TimeoutError(`the leader this proposal was forwarded to (${lostLeader}) was lost before it answered; its outcome is unknown`);
    for (const pending of [...this.#proposals.values()]) pending.reject(error);
  }

  #reportError(error: unknown): void {
    this.#events.emit('error', { error });
  }

  /**
   * A failure after which this replica's state cannot be trusted (a
   * RaftInvariantError, a storage or state machine failure): report it and
   * stop, since carrying on could break safety.
   */
  #failStop(error: unknown): void {
    this.#reportError(error);
    void this.stop();
  }
}

/**
 * Readies the driver lets run ahead of their syncs. FileStorage runs one
 * fdatasync at a time and lets the next cover everything written meanwhile,
 * so more than a few in flight would only queue behind the same syncs.
 */
const MAX_READIES_IN_FLIGHT = 8;

/** A Ready whose writes are made and whose sync-free work is done, waiting for its sync (see RaftNode #drain). */
interface InFlightReady {
  readonly ready: Ready;
  /** Its messages that must wait for the sync. */
  readonly deferred: RaftMessage[];
  synced: boolean;
  /** It makes a term, vote or snapshot durable. */
  readonly critical: boolean;
  /** Settlements that wait until the core has seen its `advance`. */
  readonly afterAdvance: (() => void)[];
}

/**
 * Whether a message may leave before the writes of its Ready (and of the
 * Readies before it) are synced, when none of them changes a term, vote or
 * snapshot. A leader's append qualifies: it carries entries of the leader's
 * own log in a term whose vote was made durable before the leader's campaign
 * began, and claims nothing about what the leader has persisted (etcd's
 * leader writes in parallel with replication the same way). So do
 * heartbeats and their answers: a heartbeat's commit index is never past what
 * the follower holds, and an answer only echoes the round's context; neither
 * claims anything about the sender's log, and the term they carry is already
 * durable. They leave at once so that a read-index round does not wait for
 * an unrelated fdatasync. Acknowledgements, votes and everything else wait.
 */
function sendsBeforeSync(message: RaftMessage): boolean {
  return message.type === 'append' || message.type === 'heartbeat' || message.type === 'heartbeat-response';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function validTimeout(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value <= MAX_TIMEOUT_MS;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got ${value}`);
  return value;
}

function withContext(change: ConfChangeSingle, context: Uint8Array | undefined): ConfChangeSingle {
  return context === undefined || context.length === 0 ? change : { ...change, context };
}
