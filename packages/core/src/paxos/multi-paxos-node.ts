import {
  AbortError,
  BusyError,
  InvalidArgumentError,
  MessageTooLargeError,
  NotLeaderError,
  NotStartedError,
  NotVoterError,
  ProposalDroppedError,
  StoppedError,
} from '../errors/errors.js';
import type { FailureDetector } from '../detection/failure-detector.js';
import { AppliedProposals } from '../raft/applied-proposals.js';
import { decodeNodeSnapshot, encodeNodeSnapshot } from '../raft/node-snapshot.js';
import { PendingCall, type Pending } from '../raft/pending-call.js';
import { encodeProposal, proposalFrameOverhead, readProposalLayout, sameOriginAt, type ProposalFrameLayout } from '../raft/proposal-frame.js';
import { APPEND_FRAMING_BYTES, type OperationOptions, type ReadOptions, type SnapshotPolicy } from '../raft/raft-node.js';
import type { ConfState, Entry } from '../raft/types.js';
import type { StateMachine } from '../state-machine/state-machine.js';
import type { Storage } from '../storage/storage.js';
import { systemClock, type Clock, type TimerHandle } from '../time/clock.js';
import { Deadlines } from '../time/deadlines.js';
import { systemRandom, type Random } from '../time/random.js';
import type { Envelope, NodeId, Transport } from '../transport/transport.js';
import { throwIfAborted } from '../util/abort.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { WindowMap } from '../util/window-map.js';
import type { Ballot } from './ballot.js';
import { encodeVoters } from './membership.js';
import { MultiPaxosCore, type MultiPaxosConfig } from './multi-paxos-core.js';
import { SlotLog } from './slot-log.js';
import type { AcceptedSlot, PaxosMessage, PaxosReady, PaxosRole, PaxosSoftState } from './types.js';

/**
 * What a slot's value holds, in its first byte: an application command in a
 * proposal frame (for exactly-once applies and to find the caller), or a
 * read barrier (a frame with no command). An empty value is a no-op.
 */
const KIND_COMMAND = 1;
const KIND_READ_BARRIER = 2;

/**
 * Deliberate bugs for the simulator's mutation tests. Never set them in production.
 * @internal
 */
export interface PaxosNodeMutations {
  /** Send replies before the promise and accepted values they report are durable. */
  readonly replyBeforePersist?: boolean;
}

export interface MultiPaxosNodeOptions<Result, Query, QueryResult> {
  /** Multi-Paxos settings, including this node's id and the initial voters. */
  readonly paxos: MultiPaxosConfig;
  /** Envelopes from another cluster id are dropped. */
  readonly clusterId: string;
  readonly transport: Transport;
  readonly storage: Storage;
  readonly stateMachine: StateMachine<Uint8Array, Result, Query, QueryResult>;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default systemRandom */
  readonly random?: Random;
  /** Milliseconds per tick. The election timeout is `electionTicks` × this. @default 100 */
  readonly tickIntervalMs?: number;
  /** Deadline of every call that waits when the call gives none. @default 5000 */
  readonly defaultTimeoutMs?: number;
  /** Proposals plus reads waiting for an answer; beyond it calls fail with BusyError. @default 10000 */
  readonly maxPendingOperations?: number;
  /**
   * Fed every message from the leader as a heartbeat; when it declares the
   * leader failed, the node runs phase 1 at once (after a short random
   * delay) instead of waiting out its election timeout. A false suspicion
   * costs one phase 1: the old leader's next accept is refused and it steps
   * down. @default undefined
   */
  readonly failureDetector?: FailureDetector;
  /** When true (default) the node installs itself as the transport's handler. */
  readonly attachToTransport?: boolean;
  /** Checkpoints and log truncation, as for RaftNode; `false` turns them off. @default {} */
  readonly snapshots?: SnapshotPolicy | false;
  /** @internal */
  readonly mutations?: PaxosNodeMutations;
  /**
   * Watches the protocol from inside, for the simulator's checks.
   * @internal
   */
  readonly observer?: PaxosNodeObserver;
}

/**
 * What the simulator sees of a node.
 * @internal
 */
export interface PaxosNodeObserver {
  /** Values this node accepted, when the acceptance is reported to the proposer. */
  accepted(slots: readonly AcceptedSlot[]): void;
  /** Every chosen slot this node applies, in order (no-ops and read barriers too). */
  applied(entry: Entry): void;
  /** A checkpoint at `index` replaced the state machine. */
  installed(index: number): void;
}

export interface MultiPaxosNodeEvents {
  /** `term`: the round of the ballot this node has promised, as for `leader`. */
  role: { readonly role: PaxosRole; readonly ballot: Ballot; readonly term: number };
  /** `term`: the round of the ballot this node has promised (Raft's term's counterpart, as in `status().term`). */
  leader: { readonly leader: NodeId | undefined; readonly ballot: Ballot; readonly term: number };
  commit: { readonly index: number };
  apply: { readonly index: number; readonly term: number };
  membership: { readonly confState: ConfState; readonly index: number };
  snapshot: { readonly index: number; readonly compactedTo: number; readonly bytes: number };
  error: { readonly error: unknown };
}

export interface MultiPaxosNodeStatus {
  readonly id: NodeId;
  readonly role: PaxosRole;
  /** The ballot round this node promised (the Raft term's counterpart). */
  readonly term: number;
  readonly promised: Ballot;
  readonly leader: NodeId | undefined;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly compactedTo: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly stopped: boolean;
  readonly membership: ConfState;
}

/**
 * Runs a {@link MultiPaxosCore} on a clock with a Transport, a Storage and a
 * StateMachine, with the same node-level API as `RaftNode`: `propose`,
 * `read`, `status`, events, AbortSignal and typed errors.
 *
 * The loop follows the Ready contract: persist the promise and accepted
 * values and wait for `storage.sync()`, then send (an acceptor replies only
 * about what is durable), then apply chosen values, then `advance`.
 *
 * Reads: `linearizable` and `lease` both go through the log: a read barrier
 * is proposed and the query runs once it is applied here, which orders the
 * read after everything chosen before it started. No clock assumption is
 * needed; a lease would save the slot but needs bounded clock drift, which
 * this node does not assume. `serializable` answers from local state.
 *
 * @example
 * ```ts
 * const node = new MultiPaxosNode({
 *   paxos: { id: 'n1', voters: ['n1', 'n2', 'n3'] },
 *   clusterId: 'demo',
 *   transport: network.endpoint('n1'),
 *   storage: new MemoryStorage(),
 *   stateMachine: new KvStateMachine(),
 * });
 * node.start(); // and n2, n3 likewise
 * await node.campaign({ timeoutMs: 5000 });
 * const result = await node.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' }));
 * ```
 */
export class MultiPaxosNode<Result = unknown, Query = unknown, QueryResult = unknown> {
  readonly id: NodeId;
  readonly #options: MultiPaxosNodeOptions<Result, Query, QueryResult>;
  readonly #core: MultiPaxosCore;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #tickIntervalMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #maxPending: number;
  readonly #electionTicks: number;
  readonly #events = new TypedEmitter<MultiPaxosNodeEvents>((error, name) => {
    if (name !== 'error') this.#reportError(error);
  });
  readonly #origin: Uint8Array;
  #sequence = 0;
  readonly #deadlines: Deadlines;
  /** Sequence → this run's proposals and read barriers waiting to be applied. */
  readonly #proposals = new WindowMap<PendingCall<Result>>();
  readonly #reads = new Map<number, { readonly call: PendingCall<QueryResult>; readonly query: Query }>();
  /**
   * slot → sequence, for values this node proposed as leader. Slots are
   * proposed and applied in order, so an array with a moving start serves
   * (a Map of numbers hashed, rehashed and deleted one key per slot).
   */
  #proposalAtSlot = new SlotLog<number>();
  readonly #membershipCalls = new Map<number, PendingCall<ConfState>>();
  readonly #leadershipWaits = new Map<() => boolean, Pending<void>>();
  readonly #appliedProposals = new AppliedProposals();
  readonly #frame: ProposalFrameLayout = { originStart: 0, originEnd: 0, sequence: 0, commandStart: 0 };
  readonly #snapshotPolicy: Required<SnapshotPolicy> | undefined;
  #sinceSnapshot = { entries: 0, bytes: 0 };
  #tickTimer: TimerHandle | undefined;
  #started = false;
  #stopped = false;
  #looping = false;
  #kickQueued = false;
  #applied: number;
  #commit = 0;
  #soft: PaxosSoftState;
  #suspectedAt: number | undefined;

  constructor(options: MultiPaxosNodeOptions<Result, Query, QueryResult>) {
    this.#options = options;
    this.id = options.paxos.id;
    if (options.transport.localId !== this.id) {
      throw new InvalidArgumentError(`transport belongs to '${options.transport.localId}', not '${this.id}'`);
    }
    this.#clock = options.clock ?? systemClock;
    const random = options.random ?? systemRandom;
    this.#tickIntervalMs = positive(options.tickIntervalMs ?? 100, 'tickIntervalMs');
    this.#defaultTimeoutMs = positive(options.defaultTimeoutMs ?? 5000, 'defaultTimeoutMs');
    this.#maxPending = positive(options.maxPendingOperations ?? 10_000, 'maxPendingOperations');
    this.#electionTicks = options.paxos.electionTicks ?? 10;
    this.#origin = new TextEncoder().encode(`${this.id}/${random.int(2 ** 32).toString(36)}`);
    this.#deadlines = new Deadlines(this.#clock);
    let applied = options.paxos.applied ?? 0;
    const stored = options.storage.snapshot();
    if (stored.metadata.index > 0) {
      const parts = decodeNodeSnapshot(stored.data);
      this.#appliedProposals.restore(parts.appliedProposals);
      if (stored.metadata.index > applied) {
        options.stateMachine.restore(parts.stateMachine);
        applied = stored.metadata.index;
      }
    }
    this.#snapshotPolicy =
      options.snapshots === false
        ? undefined
        : {
            entries: positive(options.snapshots?.entries ?? 10_000, 'snapshots.entries'),
            bytes: positive(options.snapshots?.bytes ?? 64 * 1024 * 1024, 'snapshots.bytes'),
            retainEntries: Math.max(0, Math.floor(options.snapshots?.retainEntries ?? 1000)),
          };
    this.#core = new MultiPaxosCore(
      {
        // An accept of many slots must still fit the transport's messages (less framing for ids and ballots).
        maxBytesPerMessage: Math.max(1, options.transport.maxMessageBytes - APPEND_FRAMING_BYTES),
        ...options.paxos,
        applied,
        reportAcceptances: options.observer !== undefined,
      },
      options.storage,
      random.fork(),
    );
    this.#random = random.fork();
    this.#applied = applied;
    this.#proposalAtSlot.deleteThrough(applied);
    const status = this.#core.status();
    this.#commit = status.commit;
    this.#soft = { role: status.role, leader: status.leader, ballot: status.ballot };
  }

  /** Starts ticking and (unless `attachToTransport` is false) receiving. Idempotent. */
  start(): void {
    if (this.#stopped) throw new StoppedError();
    if (this.#started) return;
    this.#started = true;
    if (this.#options.attachToTransport !== false) this.#options.transport.setHandler((e) => this.receive(e));
    this.#scheduleTick();
    this.#kick();
  }

  /** Feeds one envelope from the transport. Foreign, malformed or non-paxos envelopes are ignored. */
  receive(envelope: Envelope): void {
    if (this.#stopped || envelope.protocol !== 'paxos' || envelope.clusterId !== this.#options.clusterId) return;
    const message = envelope.payload as PaxosMessage;
    if (typeof message !== 'object' || message === null || message.to !== this.id || message.from !== envelope.from) return;
    if (this.#options.failureDetector !== undefined && message.from === this.#soft.leader) {
      this.#options.failureDetector.heartbeat(message.from, this.#clock.now());
    }
    this.#core.step(message);
    this.#kick();
  }

  /**
   * Proposes a command and resolves with the state machine's result once it
   * is applied on this node. Only the leader takes proposals: elsewhere the
   * call rejects with NotLeaderError naming the leader, if known.
   */
  propose(command: Uint8Array, options: OperationOptions = {}): Promise<Result> {
    if (!(command instanceof Uint8Array)) return Promise.reject(new InvalidArgumentError('a proposal must be a Uint8Array'));
    if (command.byteLength > this.maxProposalBytes) return Promise.reject(new MessageTooLargeError(command.byteLength, this.maxProposalBytes));
    const call = this.#startCall<Result>(options);
    if (call instanceof Promise) return call;
    call.registerIn(this.#proposals);
    if (!this.#place(call, KIND_COMMAND, command)) return call.promise;
    this.#kick();
    return call.promise;
  }

  /**
   * Reads through the state machine's `query`. `linearizable` and `lease`
   * put a read barrier through the log (see the class comment);
   * `serializable` answers from the local state, which may be stale.
   */
  read(query: Query, options: ReadOptions = {}): Promise<QueryResult> {
    if ((options.consistency ?? 'linearizable') === 'serializable') {
      try {
        if (this.#stopped) throw new StoppedError();
        throwIfAborted(options.signal);
        return Promise.resolve(this.#options.stateMachine.query(query));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const call = this.#startCall<QueryResult>(options);
    if (call instanceof Promise) return call;
    this.#reads.set(call.sequence, { call, query });
    call.forget = () => this.#reads.delete(call.sequence);
    if (!this.#place(call, KIND_READ_BARRIER, new Uint8Array(0))) return call.promise;
    this.#kick();
    return call.promise;
  }

  /**
   * Runs phase 1 now and resolves once this node leads; at once if it does.
   * Rejects with NotLeaderError when another node wins, NotVoterError on a
   * non-member, TimeoutError, AbortError or StoppedError.
   */
  campaign(options: OperationOptions = {}): Promise<void> {
    const call = this.#startCall<void>(options, false);
    if (call instanceof Promise) return call;
    if (this.#core.status().role === 'leader') {
      call.resolve();
      return call.promise;
    }
    if (!this.#core.status().voters.includes(this.id)) {
      call.reject(new NotVoterError(this.id));
      return call.promise;
    }
    this.#core.campaign();
    const check = (): boolean => {
      const now = this.#core.status();
      if (now.role === 'leader') call.resolve();
      else if (now.leader !== undefined) call.reject(new NotLeaderError(now.leader));
      else return false;
      return true;
    };
    this.#leadershipWaits.set(check, call);
    call.forget = () => this.#leadershipWaits.delete(check);
    this.#kick();
    return call.promise;
  }

  /**
   * Replaces the set of voters through the log and resolves with the new
   * configuration once it is applied here. Only the leader takes changes,
   * one at a time; the leader proposes nothing beyond the change until it
   * is chosen.
   *
   * @example
   * ```ts
   * await leader.changeVoters(['n1', 'n2', 'n3', 'n4']);
   * ```
   */
  changeVoters(voters: readonly NodeId[], options: OperationOptions = {}): Promise<ConfState> {
    const call = this.#startCall<ConfState>(options, false);
    if (call instanceof Promise) return call;
    try {
      const slot = this.#core.propose('conf-change', encodeVoters(voters));
      this.#membershipCalls.set(slot, call);
      call.forget = () => this.#membershipCalls.delete(slot);
    } catch (error) {
      call.reject(asError(error));
      return call.promise;
    }
    this.#kick();
    return call.promise;
  }

  /**
   * Adds `id` as a voter. See {@link changeVoters}. Multi-Paxos replicates the
   * voter list only: a `context` (a member's address, say) is refused with
   * InvalidArgumentError rather than dropped.
   */
  addVoter(id: NodeId, options: OperationOptions & { readonly context?: Uint8Array } = {}): Promise<ConfState> {
    if (options.context !== undefined) {
      return Promise.reject(new InvalidArgumentError(`Multi-Paxos does not replicate member contexts (adding '${id}'): give every member its peers' addresses`));
    }
    const voters = this.#core.status().voters;
    return this.changeVoters(voters.includes(id) ? voters : [...voters, id], options);
  }

  /** Removes `id`. See {@link changeVoters}. */
  removeMember(id: NodeId, options: OperationOptions = {}): Promise<ConfState> {
    return this.changeVoters(this.#core.status().voters.filter((v) => v !== id), options);
  }

  /** Multi-Paxos has no learners (every member is a voter): always rejects with InvalidArgumentError. */
  addLearner(id: NodeId, _options: OperationOptions & { readonly context?: Uint8Array } = {}): Promise<ConfState> {
    return Promise.reject(new InvalidArgumentError(`Multi-Paxos has no learners ('${id}'): add it as a voter`));
  }

  /** Always undefined: Multi-Paxos replicates no member contexts (see {@link addVoter}). */
  memberContext(_id: NodeId): Uint8Array | undefined {
    return undefined;
  }

  /**
   * Multi-Paxos has no learners (every member is a voter): always rejects
   * with InvalidArgumentError. It exists so that the node serves the same
   * Cluster calls as `RaftNode`.
   */
  promoteLearner(id: NodeId, _options: OperationOptions = {}): Promise<ConfState> {
    return Promise.reject(new InvalidArgumentError(`Multi-Paxos has no learners to promote ('${id}'): every member is a voter`));
  }

  /**
   * Makes `target` the leader, when `target` is this node: it runs phase 1
   * (see {@link campaign}). A Paxos leader has no way to hand over to
   * another node, which must take over with a higher ballot itself; for
   * any other target the call rejects with InvalidArgumentError saying so.
   *
   * @example
   * ```ts
   * await nodes.get('n2')!.transferLeadership('n2', { timeoutMs: 3000 });
   * ```
   */
  transferLeadership(target: NodeId, options: OperationOptions = {}): Promise<void> {
    if (target === this.id) return this.campaign(options);
    return Promise.reject(
      new InvalidArgumentError(`a Multi-Paxos leader cannot hand over to '${target}': ask '${target}' to take leadership (it runs phase 1)`),
    );
  }

  /**
   * The largest command {@link propose} accepts, in bytes: the transport's
   * `maxMessageBytes` less the value's frame and the accept's framing. A
   * larger value could never reach an acceptor.
   */
  get maxProposalBytes(): number {
    return Math.max(0, this.#options.transport.maxMessageBytes - APPEND_FRAMING_BYTES - proposalFrameOverhead(this.#origin) - 1);
  }

  /** The round of the ballot this node promised: the cheap part of {@link status}, for response headers. */
  get term(): number {
    return this.#core.promisedRound;
  }

  /** The leader this node knows (itself when it leads), or undefined: the cheap part of {@link status}. */
  get leader(): NodeId | undefined {
    return this.#soft.leader;
  }

  status(): MultiPaxosNodeStatus {
    const core = this.#core.status();
    return {
      id: this.id,
      role: core.role,
      term: core.promised.round,
      promised: core.promised,
      leader: core.leader,
      commitIndex: core.commit,
      appliedIndex: this.#applied,
      lastIndex: core.lastSlot,
      compactedTo: core.compactedTo,
      pendingProposals: this.#proposals.size,
      pendingReads: this.#reads.size,
      stopped: this.#stopped,
      membership: this.#core.confState(),
    };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof MultiPaxosNodeEvents>(name: K, listener: (event: MultiPaxosNodeEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  /** Stops the node; every pending call rejects with StoppedError. Idempotent. Transport and storage stay open. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tickTimer !== undefined) this.#clock.clearTimeout(this.#tickTimer);
    if (this.#options.attachToTransport !== false && this.#started) this.#options.transport.setHandler(() => undefined);
    const error = new StoppedError();
    const calls: Pending<never>[] = [
      ...this.#proposals.values(),
      ...[...this.#reads.values()].map((r) => r.call),
      ...this.#membershipCalls.values(),
      ...this.#leadershipWaits.values(),
    ];
    for (const call of calls) call.reject(error);
    this.#proposals.clear();
    this.#reads.clear();
    this.#proposalAtSlot = new SlotLog<number>();
    this.#membershipCalls.clear();
    this.#leadershipWaits.clear();
    this.#deadlines.clear();
  }

  // ---- internals ----

  /** Frames and proposes a command or read barrier for `call`; false (and the call rejected) when refused. */
  #place(call: { readonly sequence: number; reject(error: Error): void }, kind: number, command: Uint8Array): boolean {
    try {
      // Room in front for the kind byte and, before it, the ballot of the
      // value's storage form, so that storing the value does not copy it.
      const headroom = this.#core.storageHeadroom ?? 0;
      const buffer = encodeProposal(this.#origin, call.sequence, command, headroom + 1);
      buffer[headroom] = kind;
      const slot = this.#core.proposeInPlace('normal', buffer, headroom);
      this.#proposalAtSlot.set(slot, call.sequence);
      return true;
    } catch (error) {
      call.reject(asError(error));
      return false;
    }
  }

  #startCall<T>(options: OperationOptions, bounded = true): PendingCall<T> | Promise<T> {
    const signal = options.signal;
    if (this.#stopped) return Promise.reject(new StoppedError());
    if (!this.#started) return Promise.reject(new NotStartedError());
    if (signal?.aborted) return Promise.reject(new AbortError('operation aborted', { cause: signal.reason }));
    if (bounded && this.#proposals.size + this.#reads.size >= this.#maxPending) return Promise.reject(new BusyError());
    return new PendingCall<T>(++this.#sequence, this.#deadlines, options.timeoutMs ?? this.#defaultTimeoutMs, signal, undefined);
  }

  #scheduleTick(): void {
    this.#tickTimer = this.#clock.setTimeout(() => {
      if (this.#stopped) return;
      this.#core.tick();
      this.#consultDetector();
      this.#kick();
      this.#scheduleTick();
    }, this.#tickIntervalMs);
  }

  /** Detector-assisted takeover: phase 1 soon after the detector gives up on the leader. */
  #consultDetector(): void {
    const detector = this.#options.failureDetector;
    const { role, leader } = this.#soft;
    if (detector === undefined || role !== 'follower' || leader === undefined) {
      this.#suspectedAt = undefined;
      return;
    }
    if (detector.isAvailable(leader, this.#clock.now())) {
      this.#suspectedAt = undefined;
      return;
    }
    if (this.#suspectedAt === undefined) {
      this.#suspectedAt = this.#clock.now() + this.#random.int(Math.max(1, Math.floor(this.#electionTicks / 4))) * this.#tickIntervalMs;
    } else if (this.#clock.now() >= this.#suspectedAt) {
      this.#suspectedAt = undefined;
      this.#core.campaign();
    }
  }

  /**
   * Starts the Ready loop on a microtask, so that every input of the current
   * turn lands in the core first. Called once per proposal and message, it
   * allocates nothing when the loop is running or queued already: the
   * microtask's callback is made once (a closure here made V8 allocate its
   * context on every call, returning early or not, which showed as a tenth
   * of the leader's allocations at 1,024 proposals in flight).
   */
  #kick(): void {
    if (this.#stopped || !this.#started || this.#looping || this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(this.#startQueuedLoop);
  }

  readonly #startQueuedLoop = (): void => {
    this.#kickQueued = false;
    if (!this.#stopped && !this.#looping) void this.#loop();
  };

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (!this.#stopped && this.#core.hasReady()) {
        const ready = this.#core.ready();
        await this.#handleReady(ready);
        if (this.#stopped) return;
        this.#core.advance(ready);
        this.#pollLeadership();
      }
    } catch (error) {
      // A storage or state machine failure leaves the replica in an unknown state: fail stop.
      this.#reportError(error);
      await this.stop();
    } finally {
      this.#looping = false;
    }
  }

  async #handleReady(ready: PaxosReady): Promise<void> {
    const storage = this.#options.storage;
    if (ready.softState !== undefined) this.#onSoftState(ready.softState);
    let mustSync = false;
    /** This Ready makes a new promise or a snapshot durable: then every message waits for it. */
    let newPromiseOrSnapshot = false;
    if (ready.snapshot !== undefined) {
      storage.applySnapshot(ready.snapshot);
      mustSync = true;
      newPromiseOrSnapshot = true;
    }
    if (ready.entries.length > 0) {
      storage.append(ready.entries);
      mustSync = true;
    }
    if (ready.hardState !== undefined) {
      // A new promise must be durable before any reply leaves; a chosen
      // prefix (commit) need not be: a restarted replica learns it again from
      // the leader, so a change of commit alone rides with the next sync
      // instead of costing a sync (an fdatasync with FileStorage) of its own.
      const previous = storage.initialState().hardState;
      if (ready.hardState.term !== previous.term || ready.hardState.vote !== previous.vote) {
        mustSync = true;
        newPromiseOrSnapshot = true;
      }
      storage.setHardState(ready.hardState);
    }
    const early = this.#options.mutations?.replyBeforePersist === true;
    // The leader's accepts (phase 2a) report nothing about its own acceptor
    // state, so they leave before its sync and the acceptors write while it
    // does: a slot then costs the slower of two syncs instead of both in a
    // row. The core counts the leader's own acceptance only in `advance`,
    // after the sync. Everything else (promises, acceptances, learns) waits.
    let sentEarly = 0;
    if (mustSync && !newPromiseOrSnapshot && !early) {
      for (const message of ready.messages) {
        if (sendsBeforeSync(message, this.id)) {
          this.#send(message);
          sentEarly++;
        }
      }
    }
    if (early) this.#sendAll(ready, 0);
    // An acceptor's promise and accepted values must be durable before any
    // reply that reports them leaves (Paxos Made Simple §2.3).
    if (mustSync && !early) await storage.sync();
    if (this.#stopped) return;
    if (!early) this.#sendAll(ready, sentEarly);
    if (early && mustSync) await storage.sync();
    if (this.#stopped) return;
    if (ready.snapshot !== undefined) this.#restoreSnapshot(ready);
    // Indexed: for-of in this async function allocated an iterator result per entry.
    const committed = ready.committedEntries;
    for (let i = 0; i < committed.length; i++) this.#apply(committed[i]!);
    if (ready.committedEntries.length > 0) this.#maybeSnapshot();
    const commit = this.#core.commit;
    if (commit > this.#commit) {
      this.#commit = commit;
      this.#events.emit('commit', { index: commit });
    }
  }

  /** Sends the Ready's messages (but those sent before the sync, when `sentEarly` > 0) and steps those addressed here. */
  #sendAll(ready: PaxosReady, sentEarly: number): void {
    if (ready.accepted.length > 0) this.#options.observer?.accepted(ready.accepted);
    const local: PaxosMessage[] = [];
    for (const message of ready.messages) {
      if (message.to === this.id) local.push(message);
      else if (sentEarly === 0 || !sendsBeforeSync(message, this.id)) this.#send(message);
    }
    for (const message of local) this.#core.step(message);
  }

  #send(message: PaxosMessage): void {
    let payload = message;
    if (message.type === 'snapshot' && message.snapshot.data.length === 0) {
      // The core asks for the stored checkpoint; it holds no state machine bytes itself.
      const stored = this.#options.storage.snapshot();
      if (stored.metadata.index === 0) return;
      payload = { ...message, snapshot: stored };
    }
    try {
      this.#options.transport.send(message.to, {
        clusterId: this.#options.clusterId,
        from: this.id,
        to: message.to,
        protocol: 'paxos',
        payload,
      });
    } catch (error) {
      this.#reportError(error);
    }
  }

  #restoreSnapshot(ready: PaxosReady): void {
    const snapshot = ready.snapshot!;
    const parts = decodeNodeSnapshot(snapshot.data);
    this.#appliedProposals.restore(parts.appliedProposals);
    this.#options.stateMachine.restore(parts.stateMachine);
    // Calls whose slots the snapshot covers cannot tell how they ended: they run to their deadline.
    this.#proposalAtSlot.deleteThrough(snapshot.metadata.index);
    this.#applied = snapshot.metadata.index;
    this.#sinceSnapshot = { entries: 0, bytes: 0 };
    this.#options.observer?.installed(snapshot.metadata.index);
    this.#events.emit('membership', { confState: snapshot.metadata.confState, index: snapshot.metadata.index });
  }

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
      stateMachine: this.#options.stateMachine.snapshot(),
    });
    const snapshot = storage.createSnapshot(index, data, this.#core.confState());
    const compactTo = index - policy.retainEntries;
    if (compactTo >= storage.firstIndex()) {
      storage.compact(compactTo);
      this.#core.compacted(compactTo, snapshot);
    }
    this.#events.emit('snapshot', { index, compactedTo: storage.firstIndex() - 1, bytes: data.byteLength });
  }

  #apply(entry: Entry): void {
    if (entry.index <= this.#applied) return;
    this.#applied = entry.index;
    this.#options.observer?.applied(entry);
    this.#sinceSnapshot.entries++;
    this.#sinceSnapshot.bytes += entry.data.byteLength;
    const own = this.#proposalAtSlot.get(entry.index);
    this.#proposalAtSlot.deleteThrough(entry.index);
    let settled = false;
    if (entry.type === 'conf-change') {
      const confState = this.#core.confState();
      const call = this.#membershipCalls.get(entry.index);
      this.#events.emit('membership', { confState, index: entry.index });
      call?.resolve(confState);
      settled = call !== undefined;
    } else if (entry.data.length > 1) {
      settled = this.#applyValue(entry);
    }
    // Checked for every applied slot on every node; a membership call is rare.
    if (this.#membershipCalls.size > 0) this.#membershipCalls.get(entry.index)?.reject(new ProposalDroppedError('another value was chosen in the slot'));
    if (own !== undefined && !settled) {
      const error = new ProposalDroppedError('another value was chosen in the slot');
      this.#proposals.get(own)?.reject(error);
      this.#reads.get(own)?.call.reject(error);
    }
    if (this.#events.hasListeners('apply')) this.#events.emit('apply', { index: entry.index, term: entry.term });
  }

  /** Applies a framed command or serves a read barrier; true when it settled one of this run's calls. */
  #applyValue(entry: Entry): boolean {
    const kind = entry.data[0];
    // The frame follows the kind byte; it is read in place (a view per applied value showed in profiles).
    const data = entry.data;
    const frame = this.#frame;
    try {
      readProposalLayout(data, frame, 1);
    } catch (error) {
      this.#reportError(error); // the same bytes everywhere: skipped everywhere
      return false;
    }
    const mine = sameOriginAt(data, frame.originStart, frame.originEnd, this.#origin) ? frame.sequence : undefined;
    if (kind === KIND_READ_BARRIER) {
      if (mine === undefined) return false;
      const read = this.#reads.get(mine);
      if (read === undefined) return false;
      try {
        read.call.resolve(this.#options.stateMachine.query(read.query));
      } catch (error) {
        read.call.reject(asError(error));
      }
      return true;
    }
    if (kind !== KIND_COMMAND) return false;
    if (this.#appliedProposals.admitAt(data, frame.originStart, frame.originEnd, frame.sequence, entry.index)) {
      const result = this.#options.stateMachine.apply(data.subarray(frame.commandStart), { index: entry.index, term: entry.term });
      if (mine !== undefined) this.#proposals.get(mine)?.resolve(result);
      return mine !== undefined;
    }
    if (mine !== undefined) this.#proposals.get(mine)?.reject(new ProposalDroppedError('a copy of this proposal applied before'));
    return mine !== undefined;
  }

  #pollLeadership(): void {
    if (this.#leadershipWaits.size === 0) return;
    for (const [check] of [...this.#leadershipWaits]) if (check()) this.#leadershipWaits.delete(check);
  }

  #onSoftState(soft: PaxosSoftState): void {
    const previous = this.#soft;
    this.#soft = soft;
    if (previous.leader !== undefined && previous.leader !== soft.leader) this.#options.failureDetector?.remove(previous.leader);
    if (soft.role !== previous.role) this.#events.emit('role', { role: soft.role, ballot: soft.ballot, term: this.#core.status().promised.round });
    if (soft.leader !== previous.leader) {
      this.#events.emit('leader', { leader: soft.leader, ballot: soft.ballot, term: this.#core.status().promised.round });
    }
  }

  #reportError(error: unknown): void {
    this.#events.emit('error', { error });
  }
}

/** A leader's accept to another acceptor: it may leave before the leader's own writes are durable. */
function sendsBeforeSync(message: PaxosMessage, self: NodeId): boolean {
  return message.type === 'accept' && message.from === self && message.to !== self;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive number, got ${value}`);
  return value;
}
