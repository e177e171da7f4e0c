import { CorruptionError, InvalidArgumentError, NotLeaderError } from '../errors/errors.js';
import type { ConfState, Entry, EntryType, HardState, Snapshot } from '../raft/types.js';
import type { LogReader } from '../storage/storage.js';
import type { Random } from '../time/random.js';
import type { NodeId } from '../transport/transport.js';
import { Acceptances } from './acceptances.js';
import { compareBallots, maxBallot, nextBallot, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.js';
import { decodeVoters } from './membership.js';
import { quorumSizes, type QuorumOptions, type QuorumSizes } from './quorums.js';
import {
  acceptedSlot,
  chosenEntry,
  decodeSlotEntry,
  encodeSlotEntry,
  gapEntry,
  storagePrefixBytes,
  StoredSlot,
  writeStoragePrefix,
} from './slot-entry.js';
import { SlotLog } from './slot-log.js';
import type {
  AcceptedSlot,
  PaxosAccept,
  PaxosAccepted,
  PaxosCatchUp,
  PaxosLearn,
  PaxosMessage,
  PaxosPrepare,
  PaxosPromise,
  PaxosReady,
  PaxosRole,
  PaxosSnapshot,
  PaxosSoftState,
} from './types.js';

/**
 * Deliberate bugs, switched on only by tests, to show that the simulator's
 * checks notice them. Never set them in production.
 * @internal
 */
export interface PaxosMutations {
  /** Phase 1 takes the value with the lowest ballot instead of the highest (breaks P2c). */
  readonly ignoreHigherAcceptedBallot?: boolean;
  /** The leader declares a slot chosen after a single acceptance instead of a phase-2 quorum. */
  readonly learnFromMinority?: boolean;
  /** Phase 1 counts promises of the candidate's own configuration only, not of the configurations it finds accepted. */
  readonly phase1IgnoresFoundConfigs?: boolean;
}

export interface MultiPaxosConfig {
  readonly id: NodeId;
  /** The initial acceptors (ignored when storage holds a snapshot with a configuration). */
  readonly voters: readonly NodeId[];
  /** Flexible quorum sizes; majorities by default. Checked here (phase1 + phase2 > n). */
  readonly quorums?: QuorumOptions;
  /** Slots the leader may have in phase 2 beyond the chosen prefix. @default 1024 */
  readonly window?: number;
  /** Ticks without hearing a leader before running phase 1 (randomized up to twice this). @default 10 */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats (and retransmissions of unacknowledged accepts). @default 1 */
  readonly heartbeatTicks?: number;
  /** Entries per accept, learn or promise message. @default 512 */
  readonly maxEntriesPerMessage?: number;
  /**
   * Value bytes per accept or learn message: a batch is cut before it would
   * pass this (a single larger value still goes alone). A driver sets it
   * below its transport's message cap, which a message of many large slots
   * would otherwise exceed and never arrive. @default 1048576
   */
  readonly maxBytesPerMessage?: number;
  /** The highest slot already applied to the state machine when the node starts. @default the snapshot index */
  readonly applied?: number;
  /** Report this node's acceptances in `PaxosReady.accepted` (for checkers). @default false */
  readonly reportAcceptances?: boolean;
  /** @internal */
  readonly mutations?: PaxosMutations;
}

export interface MultiPaxosStatus {
  readonly role: PaxosRole;
  readonly leader: NodeId | undefined;
  /** The ballot this node promised (as acceptor). */
  readonly promised: Ballot;
  /** The ballot this node leads or campaigns with (ZERO_BALLOT as a follower). */
  readonly ballot: Ballot;
  /** Every slot up to here is chosen and known here. */
  readonly commit: number;
  readonly lastSlot: number;
  readonly compactedTo: number;
  readonly voters: readonly NodeId[];
  /** The slot whose membership change put `voters` in effect (or the snapshot's index). */
  readonly confSlot: number;
}

/** Candidate state during phase 1. */
interface Phase1 {
  readonly ballot: Ballot;
  readonly fromSlot: number;
  readonly promised: Set<NodeId>;
  /** Highest-ballot accepted value per slot reported so far. */
  readonly values: Map<number, AcceptedSlot>;
  /** Values reported as chosen by an acceptor (at or below its commit). */
  readonly chosen: Map<number, AcceptedSlot>;
  /** Configurations found in accepted conf-change values: phase 1 needs a quorum of each. */
  readonly configs: NodeId[][];
  /** Acceptors sent a prepare: the current voters, then the members of each configuration found. */
  readonly asked: Set<NodeId>;
}

/**
 * Multi-Paxos as a pure state machine (Paxos Made Simple §3; Paxos Made
 * Live for the engineering), in the etcd-raft shape: input is a message, a
 * tick or a proposal, output is a {@link PaxosReady} holding what to persist,
 * what to send and what to apply.
 *
 * - **Leadership**: a node whose election timeout passes without hearing a
 *   leader runs phase 1 with a ballot above every one it has seen. Phase 1
 *   covers every slot from its first unchosen one at once.
 * - **Takeover**: for each slot from there to the highest one any promise
 *   reports, the new leader proposes the value with the highest ballot, or a
 *   no-op where nothing was accepted, so the log has no gaps.
 * - **Phase 2** is pipelined: up to `window` slots beyond the chosen prefix.
 * - **Learning**: accepts carry the leader's chosen prefix; a replica whose
 *   value in a slot was accepted in the same ballot knows it is the chosen
 *   one, and asks the leader (`catch-up`) for the rest.
 * - **Membership** goes through the log as `conf-change` values; the leader
 *   proposes nothing after one until it is chosen, and a candidate needs a
 *   phase-1 quorum of every configuration it finds in the accepted values.
 *
 * @example
 * ```ts
 * const core = new MultiPaxosCore({ id: 'n1', voters: ['n1', 'n2', 'n3'] }, storage, new SeededRandom(1));
 * core.tick();                    // eventually campaigns
 * const ready = core.ready();     // persist, send, apply...
 * core.advance(ready);
 * ```
 */
export class MultiPaxosCore {
  readonly id: NodeId;
  readonly #random: Random;
  readonly #quorumOptions: QuorumOptions | undefined;
  readonly #window: number;
  readonly #electionTicks: number;
  readonly #heartbeatTicks: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #mutations: PaxosMutations;
  readonly #reportAcceptances: boolean;
  readonly #storageHeadroom: number | undefined;

  #voters: NodeId[];
  #quorums: QuorumSizes;
  /** The highest slot at which the configuration in `#voters` took effect. */
  #confSlot: number;

  // ---- acceptor ----
  #promised: Ballot;
  /**
   * Accepted values by slot, above `#released` (those up to it are read back
   * from storage when asked for).
   */
  readonly #log = new SlotLog<StoredSlot>();
  /**
   * Slots handed out for applying are dropped from `#log` up to here: their
   * values are chosen and stored, and only a lagging candidate's phase 1 or
   * a catch-up asks for them again, which reads them back from storage.
   *
   * Why: a value kept here until compaction (ten thousand slots and more)
   * outlived the young generation of the garbage collector, and copying and
   * promoting it cost more than the rest of its life; storage keeps the
   * stored form anyway, and holding a second copy of every value helped no
   * hot path.
   */
  #released: number;
  readonly #storage: LogReader;
  #lastSlot: number;
  /** The last index of the stored log: a write above it must fill the gap up to it. */
  #storedLast: number;
  #compactedTo: number;
  #snapshotMeta: { index: number; term: number; confState: ConfState };

  // ---- learner ----
  #commit: number;
  /** Slots above `#commit` known chosen. */
  readonly #chosenAbove = new Set<number>();
  /** Entries handed out for applying up to here. */
  #appliedHandedOut: number;
  #catchUpAskedAt = -Infinity;

  // ---- proposer ----
  #role: PaxosRole = 'follower';
  #leader: NodeId | undefined;
  #ballot: Ballot = ZERO_BALLOT;
  #highestSeen: Ballot;
  #phase1: Phase1 | undefined;
  /** The leader's proposals in its ballot by slot, above the commit (an array: slots come and go in order). */
  #inFlight = new SlotLog<StoredSlot>();
  /** The tick at which each in-flight slot was last sent (-1: not yet), beside `#inFlight`. */
  #sentAt = new SlotLog<number>();
  /** Which acceptors accepted which in-flight slots, as ranges. */
  readonly #acceptances = new Acceptances();
  #nextSlot = 1;
  /** The first slot not sent to the acceptors yet (leader). */
  #sendFrom = 1;
  /** A conf-change slot of this leader that is not chosen yet: nothing is proposed beyond it until it is. */
  #pendingConfSlot: number | undefined;
  /**
   * Members of the pending configuration that are not voters yet (leader):
   * they are sent accepts too, so that they hold the change, and hear of
   * the leader, by the time it is chosen.
   */
  #incoming: NodeId[] = [];
  /**
   * The voters of the configuration that removed this node while it led.
   * They may have missed that the change was chosen (it takes effect when
   * chosen, and nobody else need have told them), so until this node is a
   * voter again it tells them the commit now and then; they catch up from it.
   */
  #handoffTo: NodeId[] = [];
  /** Peers heard from during the current check-quorum period (leader). */
  readonly #recentlyActive = new Set<NodeId>();

  // ---- time ----
  #ticks = 0;
  #electionElapsed = 0;
  #randomizedTimeout = 0;
  #heartbeatElapsed = 0;
  #quorumCheckElapsed = 0;

  // ---- output ----
  #messages: PaxosMessage[] = [];
  #dirtyFrom = Infinity;
  #hardDirty = false;
  #accepted: AcceptedSlot[] = [];
  #pendingSnapshot: Snapshot | undefined;
  #softReported: PaxosSoftState;
  /** Slots this leader accepted locally in the Ready being handled; they count once persisted (advance). */
  #selfAcks: { ballot: Ballot; runs: number[] } | undefined;

  constructor(config: MultiPaxosConfig, storage: LogReader, random: Random) {
    this.id = config.id;
    this.#random = random;
    this.#quorumOptions = config.quorums;
    this.#window = positiveInteger(config.window ?? 1024, 'window');
    this.#electionTicks = positiveInteger(config.electionTicks ?? 10, 'electionTicks');
    this.#heartbeatTicks = positiveInteger(config.heartbeatTicks ?? 1, 'heartbeatTicks');
    this.#maxEntries = positiveInteger(config.maxEntriesPerMessage ?? 512, 'maxEntriesPerMessage');
    this.#maxBytes = positiveInteger(config.maxBytesPerMessage ?? 1024 * 1024, 'maxBytesPerMessage');
    this.#mutations = config.mutations ?? {};
    this.#reportAcceptances = config.reportAcceptances === true;
    this.#storageHeadroom = storagePrefixBytes(this.id);
    this.#storage = storage;

    const { hardState, confState } = storage.initialState();
    const snapshot = storage.snapshot();
    this.#snapshotMeta = { ...snapshot.metadata };
    this.#voters = confState.voters.length > 0 ? [...confState.voters] : [...config.voters];
    if (this.#voters.length === 0) throw new InvalidArgumentError('a Multi-Paxos cluster needs at least one voter');
    this.#quorums = quorumSizes(this.#voters.length, config.quorums);
    this.#confSlot = snapshot.metadata.index;
    this.#promised = hardState.vote === undefined || hardState.term === 0 ? ZERO_BALLOT : { round: hardState.term, node: hardState.vote };
    this.#highestSeen = this.#promised;
    this.#compactedTo = snapshot.metadata.index;
    this.#lastSlot = this.#compactedTo;
    this.#log.deleteThrough(this.#compactedTo);
    const last = storage.lastIndex();
    for (let index = storage.firstIndex(); index <= last; ) {
      const batch = storage.entries(index, last + 1, 8 * 1024 * 1024);
      for (const entry of batch) {
        const slot = decodeSlotEntry(entry);
        if (slot !== undefined && entry.index > this.#compactedTo) this.#log.set(entry.index, slot);
      }
      index += batch.length;
    }
    this.#lastSlot = Math.max(this.#compactedTo, last);
    this.#storedLast = this.#lastSlot;
    // The stored commit only counts where the log holds the chosen values (it is written after them).
    this.#commit = Math.max(this.#compactedTo, Math.min(hardState.commit, this.#lastSlot));
    this.#appliedHandedOut = Math.max(this.#compactedTo, Math.min(config.applied ?? this.#compactedTo, this.#commit));
    // Configurations chosen in the log take effect from their slot on.
    for (let slot = this.#compactedTo + 1; slot <= this.#commit; slot++) this.#maybeAdoptConf(slot);
    this.#released = this.#compactedTo;
    this.#release();
    this.#softReported = this.#soft();
    this.#resetElectionTimer();
  }

  // ================= inputs =================

  /** Advances logical time by one tick: elections, heartbeats, retransmissions, leader lease checks. */
  tick(): void {
    this.#ticks++;
    if (this.#role === 'leader') {
      this.#heartbeatElapsed++;
      this.#quorumCheckElapsed++;
      if (this.#quorumCheckElapsed >= this.#electionTicks) {
        this.#quorumCheckElapsed = 0;
        // Check quorum: a leader that no longer hears a phase-2 quorum steps
        // down, so that clients stop waiting on it and go elsewhere.
        this.#recentlyActive.add(this.id);
        const active = this.#voters.filter((v) => this.#recentlyActive.has(v)).length;
        this.#recentlyActive.clear();
        if (active < this.#quorums.phase2) {
          this.#becomeFollower(undefined);
          return;
        }
      }
      if (this.#heartbeatElapsed >= this.#heartbeatTicks) {
        this.#heartbeatElapsed = 0;
        this.#heartbeat();
      }
      return;
    }
    this.#electionElapsed++;
    if (this.#handoffTo.length > 0 && this.#ticks % this.#electionTicks === 0) {
      for (const to of this.#handoffTo) this.#send({ type: 'learn', from: this.id, to, ballot: this.#promised, entries: [], commit: this.#commit });
    }
    if (this.#electionElapsed >= this.#randomizedTimeout && this.#voters.includes(this.id)) this.campaign();
  }

  /** Runs phase 1 now with a ballot above every ballot seen. */
  campaign(): void {
    if (!this.#voters.includes(this.id)) return;
    this.#ballot = nextBallot(maxBallot(this.#highestSeen, this.#promised), this.id);
    this.#highestSeen = this.#ballot;
    this.#role = 'candidate';
    this.#leader = undefined;
    this.#clearInFlight();
    this.#pendingConfSlot = undefined;
    this.#incoming = [];
    const fromSlot = this.#commit + 1;
    const asked = new Set(this.#voters);
    this.#phase1 = { ballot: this.#ballot, fromSlot, promised: new Set(), values: new Map(), chosen: new Map(), configs: [], asked };
    this.#resetElectionTimer();
    for (const to of asked) this.#send({ type: 'prepare', from: this.id, to, ballot: this.#ballot, fromSlot });
  }

  /**
   * Proposes a value; only the leader accepts proposals. Returns the slot
   * the value was given (it is chosen there or nowhere: a later leader
   * re-proposes it only at the same slot).
   *
   * @throws NotLeaderError when this node is not the leader.
   * @throws InvalidArgumentError for a second membership change while one is pending.
   */
  propose(type: EntryType, data: Uint8Array): number {
    if (this.#role !== 'leader') throw new NotLeaderError(this.#leader);
    if (type === 'conf-change') {
      if (this.#pendingConfSlot !== undefined) throw new InvalidArgumentError('a membership change is already in progress');
      decodeVoters(data); // refuse malformed changes before they reach the log
    }
    const slot = this.#nextSlot++;
    this.#track(new StoredSlot(slot, this.#ballot, type, data));
    if (type === 'conf-change') this.#startConfChange(slot, data);
    return slot;
  }

  /**
   * Bytes a value proposed through {@link proposeInPlace} leaves free in
   * front of it, for its storage form; undefined when this node's id is too
   * long for one (then use {@link propose}).
   */
  get storageHeadroom(): number | undefined {
    return this.#storageHeadroom;
  }

  /**
   * {@link propose} for a value that starts `headroom` bytes into `buffer`,
   * where `headroom` is {@link storageHeadroom}: the leader writes its
   * ballot there, and `buffer` becomes the value's storage form as it
   * stands, so that the value is not copied for storage.
   *
   * @throws NotLeaderError when this node is not the leader.
   * @throws InvalidArgumentError for a second membership change while one is pending.
   */
  proposeInPlace(type: EntryType, buffer: Uint8Array, headroom: number): number {
    const value = buffer.subarray(headroom);
    // A leader's ballot is its own: the prefix for this node's id fits.
    if (this.#role !== 'leader' || type === 'conf-change' || headroom !== this.#storageHeadroom || this.#ballot.node !== this.id) {
      return this.propose(type, value);
    }
    writeStoragePrefix(buffer, this.id);
    const slot = this.#nextSlot++;
    this.#track(new StoredSlot(slot, this.#ballot, type, value, { index: slot, term: this.#ballot.round, type, data: buffer }));
    return slot;
  }

  /** Feeds one message from the network (or from this node to itself). Malformed or foreign ones are ignored. */
  step(message: PaxosMessage): void {
    if (message.to !== this.id) return;
    if (compareBallots(message.ballot, this.#highestSeen) > 0) this.#highestSeen = message.ballot;
    switch (message.type) {
      case 'prepare':
        return this.#onPrepare(message);
      case 'promise':
        return this.#onPromise(message);
      case 'accept':
        return this.#onAccept(message);
      case 'accepted':
        return this.#onAccepted(message);
      case 'reject':
        return this.#onReject(message.ballot);
      case 'catch-up':
        return this.#onCatchUp(message);
      case 'learn':
        return this.#onLearn(message);
      case 'snapshot':
        return this.#onSnapshot(message);
    }
  }

  /**
   * Tells the core that storage discarded every slot up to `index` (the
   * driver took a checkpoint there). Only chosen, applied slots may go.
   */
  compacted(index: number, snapshot: Snapshot): void {
    if (index <= this.#compactedTo) return;
    if (index > this.#appliedHandedOut) throw new InvalidArgumentError(`cannot compact past the applied slot ${this.#appliedHandedOut}`);
    this.#log.deleteThrough(index);
    this.#compactedTo = index;
    if (this.#released < index) this.#released = index;
    this.#snapshotMeta = { ...snapshot.metadata };
  }

  // ================= output =================

  hasReady(): boolean {
    return (
      this.#messages.length > 0 ||
      this.#dirtyFrom !== Infinity ||
      this.#hardDirty ||
      this.#pendingSnapshot !== undefined ||
      this.#appliedHandedOut < this.#commit ||
      this.#sendable() ||
      !this.#softUnchanged()
    );
  }

  ready(): PaxosReady {
    this.#flushProposals();
    const soft = this.#soft();
    const softState = sameSoft(soft, this.#softReported) ? undefined : soft;
    this.#softReported = soft;
    let entries: readonly Entry[] = NO_ENTRIES;
    if (this.#dirtyFrom !== Infinity) {
      // Storage logs are contiguous and an append replaces the suffix from
      // its first index: rewrite every slot from the lowest one changed.
      // Never at or below `#released`: those slots are chosen, so nothing writes them again.
      const from = Math.max(Math.min(this.#dirtyFrom, this.#storedLast + 1), this.#compactedTo + 1, this.#released + 1);
      // Sized up front: arrays grown by push showed in allocation profiles, on every node for every slot.
      const dirty = new Array<Entry>(Math.max(0, this.#lastSlot - from + 1));
      for (let slot = from; slot <= this.#lastSlot; slot++) {
        const accepted = this.#log.get(slot);
        dirty[slot - from] = accepted === undefined ? gapEntry(slot) : encodeSlotEntry(accepted);
      }
      entries = dirty;
      this.#dirtyFrom = Infinity;
      this.#storedLast = this.#lastSlot;
    }
    const hardState: HardState | undefined = this.#hardDirty
      ? { term: this.#promised.round, vote: this.#promised.round === 0 ? undefined : this.#promised.node, commit: this.#commit }
      : undefined;
    this.#hardDirty = false;
    const snapshot = this.#pendingSnapshot;
    this.#pendingSnapshot = undefined;
    if (snapshot !== undefined) this.#appliedHandedOut = Math.max(this.#appliedHandedOut, snapshot.metadata.index);
    let committedEntries: readonly Entry[] = NO_ENTRIES;
    if (this.#appliedHandedOut < this.#commit) {
      const first = this.#appliedHandedOut + 1;
      const chosen = new Array<Entry>(this.#commit - this.#appliedHandedOut);
      let count = 0;
      for (let slot = first; slot <= this.#commit; slot++) {
        const value = this.#log.get(slot);
        if (value === undefined) break; // cannot happen: the chosen prefix is in the log
        chosen[count++] = chosenEntry(value);
        this.#appliedHandedOut = slot;
      }
      chosen.length = count;
      committedEntries = chosen;
      // The driver stores this Ready's entries before it applies these, and
      // before this core hears anything else: storage holds them from now on.
      this.#release();
    }
    const messages = this.#messages;
    this.#messages = [];
    const accepted = this.#accepted;
    this.#accepted = [];
    return { softState, hardState, entries, snapshot, committedEntries, messages, accepted };
  }

  /** The driver persisted, sent and applied `ready`. */
  advance(_ready: PaxosReady): void {
    const selfAcks = this.#selfAcks;
    this.#selfAcks = undefined;
    if (selfAcks !== undefined && this.#role === 'leader' && sameBallot(selfAcks.ballot, this.#ballot)) {
      const runs = selfAcks.runs;
      for (let i = 0; i < runs.length; i += 2) this.#recordRun(this.id, runs[i]!, runs[i + 1]!);
    }
  }

  /** Every slot up to here is chosen and known here: the cheap part of {@link status}, read once per Ready. */
  get commit(): number {
    return this.#commit;
  }

  /** The round of the ballot this node promised: the cheap part of {@link status}. */
  get promisedRound(): number {
    return this.#promised.round;
  }

  status(): MultiPaxosStatus {
    return {
      role: this.#role,
      leader: this.#leader,
      promised: this.#promised,
      ballot: this.#ballot,
      commit: this.#commit,
      lastSlot: this.#lastSlot,
      compactedTo: this.#compactedTo,
      voters: this.#voters,
      confSlot: this.#confSlot,
    };
  }

  /** The configuration in effect, as a ConfState (no learners or joint states in Multi-Paxos). */
  confState(): ConfState {
    return { voters: [...this.#voters], learners: [], votersOutgoing: [], autoLeave: false };
  }

  // ================= acceptor =================

  #onPrepare(m: PaxosPrepare): void {
    if (compareBallots(m.ballot, this.#promised) < 0) {
      this.#send({ type: 'reject', from: this.id, to: m.from, ballot: this.#promised });
      return;
    }
    this.#promise(m.ballot);
    if (m.from !== this.id && this.#role !== 'follower') this.#becomeFollower(undefined);
    const accepted: AcceptedSlot[] = [];
    this.#collectAccepted(Math.max(m.fromSlot, this.#compactedTo + 1), this.#lastSlot, accepted, Infinity);
    this.#send({
      type: 'promise',
      from: this.id,
      to: m.from,
      ballot: m.ballot,
      fromSlot: m.fromSlot,
      accepted,
      commit: this.#commit,
      compactedTo: this.#compactedTo,
    });
  }

  #onAccept(m: PaxosAccept): void {
    if (compareBallots(m.ballot, this.#promised) < 0) {
      this.#send({ type: 'reject', from: this.id, to: m.from, ballot: this.#promised });
      return;
    }
    this.#promise(m.ballot);
    if (m.from !== this.id) {
      if (this.#role !== 'follower' || this.#leader !== m.from) this.#becomeFollower(m.from);
      this.#electionElapsed = 0;
    }
    // Sized up front, cut to what was accepted (pushing grew it on every acceptor for every slot).
    const slots = new Array<number>(m.entries.length);
    let count = 0;
    for (const entry of m.entries) {
      if (entry.slot <= this.#commit) {
        slots[count++] = entry.slot; // already chosen here; the leader's value is the same one
        continue;
      }
      const mine = this.#log.get(entry.slot);
      if (mine !== undefined && sameBallot(mine.ballot, m.ballot)) {
        slots[count++] = entry.slot; // a retransmission: already accepted (and durable) in this ballot
        continue;
      }
      // Accept in slot order only: a slot beyond the end would leave a gap, and
      // filling it later would rewrite (in Storage: truncate and re-append)
      // acceptances already reported. Skipped slots come again on a heartbeat.
      if (entry.slot > this.#lastSlot + 1) continue;
      // The leader's own object when it came through an in-process transport (same slot, same ballot: the same value).
      const accepted = entry instanceof StoredSlot && sameBallot(entry.ballot, m.ballot) ? entry : new StoredSlot(entry.slot, m.ballot, entry.type, entry.data);
      this.#write(accepted);
      if (this.#reportAcceptances) this.#accepted.push(accepted);
      slots[count++] = entry.slot;
    }
    slots.length = count;
    this.#learnCommit(m.ballot, m.commit, m.from);
    if (m.from !== this.id) {
      this.#send({ type: 'accepted', from: this.id, to: m.from, ballot: m.ballot, slots, commit: this.#commit });
    }
  }

  /** Raises the promise (a durable change) when `ballot` is above it. */
  #promise(ballot: Ballot): void {
    if (compareBallots(ballot, this.#promised) > 0) {
      this.#promised = ballot;
      this.#hardDirty = true;
    }
  }

  /** Drops the values handed out for applying from `#log` (see `#released`). */
  #release(): void {
    if (this.#appliedHandedOut <= this.#released) return;
    this.#log.deleteThrough(this.#appliedHandedOut);
    this.#released = this.#appliedHandedOut;
  }

  /**
   * Appends to `out` the values accepted here in slots `from` to `to` (above
   * the compaction point), in slot order, skipping slots with none; stops
   * before a value that would take the values' bytes past `maxBytes`, but
   * takes one at least. Released slots are read back from storage.
   *
   * @throws CorruptionError when storage lacks a released slot: reporting
   *   less than was accepted could let a new leader choose another value.
   */
  #collectAccepted(from: number, to: number, out: AcceptedSlot[], maxBytes: number): void {
    let bytes = 0;
    const take = (value: AcceptedSlot): boolean => {
      bytes += value.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) return false;
      out.push(acceptedSlot(value)); // a StoredSlot's ballot is no own field, and these messages carry it
      return true;
    };
    let slot = Math.max(from, this.#compactedTo + 1);
    const storedTo = Math.min(to, this.#released);
    if (slot <= storedTo) {
      const bounded = maxBytes !== Infinity;
      let stored: readonly Entry[];
      try {
        // Bounded by bytes too (stored forms are a little longer than values), so that
        // FileStorage reads no more from disk than the answer can carry.
        stored = this.#storage.entries(slot, storedTo + 1, bounded ? maxBytes : undefined);
      } catch (error) {
        throw new CorruptionError(`paxos slots ${slot}..${storedTo} are released from memory but not in storage`, { cause: error });
      }
      const complete = stored.length === storedTo + 1 - slot;
      if (!complete && (!bounded || stored.length === 0)) {
        throw new CorruptionError(`storage returned ${stored.length} of paxos slots ${slot}..${storedTo}`);
      }
      for (const entry of stored) {
        const value = decodeSlotEntry(entry);
        if (value !== undefined && !take(value)) return;
      }
      if (!complete) return; // cut at maxBytes by storage: the rest in a later answer
      slot = storedTo + 1;
    }
    for (; slot <= to; slot++) {
      const value = this.#log.get(slot);
      if (value !== undefined && !take(value)) return;
    }
  }

  #write(value: AcceptedSlot): void {
    if (value.slot <= this.#compactedTo) return;
    this.#log.set(value.slot, StoredSlot.of(value));
    if (value.slot > this.#lastSlot) this.#lastSlot = value.slot;
    if (value.slot < this.#dirtyFrom) this.#dirtyFrom = value.slot;
  }

  // ================= learner =================

  /**
   * A leader in `ballot` says every slot up to `commit` is chosen. A slot
   * whose value here was accepted in that same ballot holds the chosen value
   * (a leader proposes one value per slot per ballot); at the first slot that
   * does not, ask the leader for the chosen values.
   */
  #learnCommit(ballot: Ballot, commit: number, leader: NodeId): void {
    while (this.#commit < commit) {
      const next = this.#commit + 1;
      const value = this.#log.get(next);
      if (value === undefined || !sameBallot(value.ballot, ballot)) break;
      this.#markChosen(next);
    }
    if (this.#commit < commit && leader !== this.id && this.#ticks - this.#catchUpAskedAt >= 2) {
      this.#catchUpAskedAt = this.#ticks;
      this.#send({ type: 'catch-up', from: this.id, to: leader, ballot, fromSlot: this.#commit + 1 });
    }
  }

  #markChosen(slot: number): void {
    if (slot <= this.#commit) return;
    if (slot > this.#commit + 1) {
      this.#chosenAbove.add(slot);
      return;
    }
    // The usual case, slots chosen in order, does not go through the set.
    this.#advanceCommit();
    while (this.#chosenAbove.size > 0 && this.#chosenAbove.delete(this.#commit + 1)) this.#advanceCommit();
  }

  #advanceCommit(): void {
    const slot = ++this.#commit;
    this.#hardDirty = true;
    this.#maybeAdoptConf(slot);
    this.#inFlight.deleteThrough(slot);
    this.#sentAt.deleteThrough(slot);
    if (this.#pendingConfSlot === slot) this.#pendingConfSlot = undefined;
  }

  /** Puts the leader's `value` in phase 2 (not a slot already known chosen: its value is settled). */
  #track(value: StoredSlot): void {
    if (value.slot <= this.#commit) return;
    this.#inFlight.set(value.slot, value);
    this.#sentAt.set(value.slot, -1);
  }

  /** Forgets every in-flight proposal (a new campaign, or no longer leading). */
  #clearInFlight(): void {
    this.#inFlight = new SlotLog<StoredSlot>();
    this.#inFlight.deleteThrough(this.#commit);
    this.#sentAt = new SlotLog<number>();
    this.#sentAt.deleteThrough(this.#commit);
    this.#acceptances.clear();
  }

  /** A chosen conf-change takes effect for quorum counting at once (every later slot uses it). */
  #maybeAdoptConf(slot: number): void {
    const value = this.#log.get(slot);
    if (value === undefined || value.type !== 'conf-change') return;
    let voters: NodeId[];
    try {
      voters = decodeVoters(value.data);
    } catch {
      return; // skipped by every replica alike
    }
    this.#voters = voters;
    this.#quorums = quorumSizes(voters.length, this.#quorumOptions);
    this.#confSlot = slot;
    this.#incoming = [];
    const removed = !voters.includes(this.id);
    this.#handoffTo = removed && this.#role === 'leader' ? [...voters] : removed ? this.#handoffTo : [];
    if (this.#role !== 'follower' && removed) this.#becomeFollower(undefined);
  }

  /** The leader proposed (or re-proposes) a membership change at `slot`. */
  #startConfChange(slot: number, data: Uint8Array): void {
    this.#pendingConfSlot = slot;
    try {
      this.#incoming = decodeVoters(data).filter((v) => !this.#voters.includes(v));
    } catch {
      this.#incoming = []; // malformed: skipped by every replica when chosen
    }
  }

  #onCatchUp(m: PaxosCatchUp): void {
    if (m.fromSlot > this.#commit) return;
    if (m.fromSlot <= this.#compactedTo) {
      this.#askForSnapshot(m.from);
      return;
    }
    const entries: AcceptedSlot[] = [];
    // Cut at maxBytes (one value at least): it asks again for the rest.
    this.#collectAccepted(m.fromSlot, Math.min(this.#commit, m.fromSlot + this.#maxEntries - 1), entries, this.#maxBytes);
    this.#send({ type: 'learn', from: this.id, to: m.from, ballot: this.#promised, entries, commit: this.#commit });
  }

  /** The driver sends the stored snapshot (it holds the state machine's bytes): asked for through a message to ourselves. */
  #askForSnapshot(to: NodeId): void {
    this.#send({
      type: 'snapshot',
      from: this.id,
      to,
      ballot: this.#promised,
      snapshot: { metadata: this.#snapshotMeta, data: new Uint8Array(0) },
    });
  }

  #onLearn(m: PaxosLearn): void {
    for (const value of m.entries) {
      if (value.slot <= this.#commit || value.slot <= this.#compactedTo) continue;
      const mine = this.#log.get(value.slot);
      // Any value accepted in a ballot at or above the chosen one is the chosen value; keep the higher ballot.
      if (mine === undefined || compareBallots(mine.ballot, value.ballot) < 0) this.#write(value);
      this.#markChosen(value.slot);
    }
    // More to fetch: ask again at once (an empty learn is a removed leader's
    // hand-off notice, answered at most every other tick).
    if (m.commit > this.#commit && (m.entries.length > 0 || this.#ticks - this.#catchUpAskedAt >= 2)) {
      this.#catchUpAskedAt = this.#ticks;
      this.#send({ type: 'catch-up', from: this.id, to: m.from, ballot: m.ballot, fromSlot: this.#commit + 1 });
    }
  }

  #onSnapshot(m: PaxosSnapshot): void {
    const index = m.snapshot.metadata.index;
    if (index <= this.#commit || m.snapshot.data.length === 0) return;
    this.#log.deleteThrough(index);
    this.#inFlight.deleteThrough(index);
    this.#sentAt.deleteThrough(index);
    for (const slot of [...this.#chosenAbove]) if (slot <= index) this.#chosenAbove.delete(slot);
    this.#compactedTo = index;
    if (this.#released < index) this.#released = index;
    this.#snapshotMeta = { ...m.snapshot.metadata };
    this.#commit = index;
    this.#hardDirty = true;
    if (this.#lastSlot < index) this.#lastSlot = index;
    // Installing a snapshot resets the stored log: write back what is accepted above it.
    this.#dirtyFrom = index + 1;
    this.#storedLast = index;
    this.#pendingSnapshot = m.snapshot;
    const voters = m.snapshot.metadata.confState.voters;
    if (voters.length > 0) {
      this.#voters = [...voters];
      this.#quorums = quorumSizes(voters.length, this.#quorumOptions);
      this.#confSlot = index;
    }
    while (this.#chosenAbove.delete(this.#commit + 1)) this.#commit++;
  }

  // ================= proposer =================

  #onPromise(m: PaxosPromise): void {
    const phase1 = this.#phase1;
    if (this.#role !== 'candidate' || phase1 === undefined || !sameBallot(m.ballot, phase1.ballot)) return;
    if (m.compactedTo >= phase1.fromSlot) {
      // It discarded chosen slots this candidate lacks: catch up first, campaign again later.
      this.#send({ type: 'catch-up', from: this.id, to: m.from, ballot: m.ballot, fromSlot: this.#commit + 1 });
      return;
    }
    for (const value of m.accepted) {
      if (value.slot < phase1.fromSlot) continue;
      if (value.slot <= m.commit) phase1.chosen.set(value.slot, value);
      const known = phase1.values.get(value.slot);
      const replace =
        known === undefined ||
        (this.#mutations.ignoreHigherAcceptedBallot === true
          ? compareBallots(value.ballot, known.ballot) < 0
          : compareBallots(value.ballot, known.ballot) > 0);
      if (replace) phase1.values.set(value.slot, value);
      if (value.type === 'conf-change') {
        let voters: NodeId[] | undefined;
        try {
          voters = decodeVoters(value.data);
        } catch {
          // malformed: ignored by every replica when applied
        }
        if (voters !== undefined) {
          phase1.configs.push(voters);
          // Phase 1 needs a quorum of this configuration too, and a candidate
          // that missed the change never asked its new members.
          for (const to of voters) {
            if (phase1.asked.has(to)) continue;
            phase1.asked.add(to);
            this.#send({ type: 'prepare', from: this.id, to, ballot: phase1.ballot, fromSlot: phase1.fromSlot });
          }
        }
      }
    }
    phase1.promised.add(m.from);
    if (!this.#hasPhase1Quorum(phase1)) return;
    this.#becomeLeader(phase1);
  }

  /** A phase-1 quorum of the current configuration and of every configuration proposed since. */
  #hasPhase1Quorum(phase1: Phase1): boolean {
    const count = (voters: readonly NodeId[]): number => voters.filter((v) => phase1.promised.has(v)).length;
    if (count(this.#voters) < this.#quorums.phase1) return false;
    if (this.#mutations.phase1IgnoresFoundConfigs === true) return true;
    for (const voters of phase1.configs) {
      if (count(voters) < quorumSizes(voters.length, this.#quorumOptions).phase1) return false;
    }
    return true;
  }

  #becomeLeader(phase1: Phase1): void {
    this.#phase1 = undefined;
    this.#role = 'leader';
    this.#leader = this.id;
    this.#heartbeatElapsed = 0;
    this.#quorumCheckElapsed = 0;
    this.#recentlyActive.clear();
    let top = this.#commit;
    for (const slot of phase1.values.keys()) if (slot > top) top = slot;
    // Values known chosen are learned outright; the rest are re-proposed in
    // this ballot: the highest-ballot value found, or a no-op in a gap.
    for (const [slot, value] of phase1.chosen) {
      if (slot <= this.#commit) continue;
      const mine = this.#log.get(slot);
      if (mine === undefined || compareBallots(mine.ballot, value.ballot) < 0) this.#write(value);
      this.#markChosen(slot);
    }
    // A chosen configuration just learned may leave this node out: it then
    // stepped down in #maybeAdoptConf, and has nothing to re-propose.
    if (this.#role !== 'leader') return;
    for (let slot = this.#commit + 1; slot <= top; slot++) {
      if (this.#chosenAbove.has(slot)) continue;
      const found = phase1.values.get(slot);
      const value =
        found === undefined
          ? new StoredSlot(slot, this.#ballot, 'normal', new Uint8Array(0))
          : new StoredSlot(slot, this.#ballot, found.type, found.data);
      this.#track(value);
      if (value.type === 'conf-change') this.#startConfChange(slot, value.data);
    }
    this.#nextSlot = top + 1;
    this.#sendFrom = this.#commit + 1;
    // An empty takeover still needs one chosen slot in this ballot so that
    // followers can learn the chosen prefix by ballot (and reads find a leader that can commit).
    if (top === this.#commit) this.propose('normal', new Uint8Array(0));
  }

  #becomeFollower(leader: NodeId | undefined): void {
    this.#role = 'follower';
    this.#leader = leader;
    this.#ballot = ZERO_BALLOT;
    this.#phase1 = undefined;
    this.#clearInFlight();
    this.#pendingConfSlot = undefined;
    this.#incoming = [];
    this.#selfAcks = undefined;
    this.#resetElectionTimer();
  }

  #onReject(promised: Ballot): void {
    if (this.#role === 'follower') return;
    if (compareBallots(promised, this.#ballot) > 0) this.#becomeFollower(undefined);
  }

  #onAccepted(m: PaxosAccepted): void {
    if (this.#role !== 'leader' || !sameBallot(m.ballot, this.#ballot)) return;
    this.#recentlyActive.add(m.from);
    this.#recordAcceptances(m.from, m.slots);
  }

  /** `from` accepted `slots` in this leader's ballot: count them, and choose what has a phase-2 quorum. */
  #recordAcceptances(from: NodeId, slots: readonly number[]): void {
    if (slots.length > 0 && isRun(slots)) {
      this.#recordRun(from, slots[0]!, slots[slots.length - 1]!);
      return;
    }
    if (!this.#voters.includes(from)) return;
    const needed = this.#phase2Needed();
    for (const slot of slots) this.#countAcceptance(from, slot, needed);
    this.#chooseAccepted();
  }

  /** `from` accepted every slot from `first` to `last` in this leader's ballot. */
  #recordRun(from: NodeId, first: number, last: number): void {
    if (!this.#voters.includes(from)) return;
    if (
      first > this.#commit &&
      this.#chosenAbove.size === 0 &&
      this.#inFlight.get(first) !== undefined &&
      this.#inFlight.get(last) !== undefined &&
      this.#acceptances.addRun(from, first, last, this.#commit)
    ) {
      // The usual case: a run of in-flight slots (with nothing chosen out of
      // order, every slot between two in-flight ones is in flight too) that
      // continues what `from` accepted before.
      this.#chooseAccepted();
      return;
    }
    const needed = this.#phase2Needed();
    for (let slot = first; slot <= last; slot++) this.#countAcceptance(from, slot, needed);
    this.#chooseAccepted();
  }

  /** Counts one acceptance of an in-flight slot on its own (past a gap: a lost or reordered accept); it waits in #chosenAbove if chosen. */
  #countAcceptance(from: NodeId, slot: number, needed: number): void {
    if (slot <= this.#commit || this.#inFlight.get(slot) === undefined) return;
    if (this.#acceptances.add(from, slot, this.#commit) && this.#acceptances.count(this.#voters, slot) >= needed) this.#markChosen(slot);
  }

  #phase2Needed(): number {
    return this.#mutations.learnFromMinority === true ? 1 : this.#quorums.phase2;
  }


  /** Chooses the in-flight slots after the commit, in order, that a phase-2 quorum accepted. */
  #chooseAccepted(): void {
    let voters = this.#voters;
    let needed = this.#mutations.learnFromMinority === true ? 1 : this.#quorums.phase2;
    let upTo = this.#acceptances.quorumMatch(voters, needed, this.#commit);
    while (this.#inFlight.get(this.#commit + 1) !== undefined) {
      const next = this.#commit + 1;
      if (next > upTo && this.#acceptances.count(voters, next) < needed) return;
      this.#markChosen(next);
      if (this.#voters !== voters) {
        // A membership change took effect: later slots need a quorum of the new voters.
        voters = this.#voters;
        needed = this.#mutations.learnFromMinority === true ? 1 : this.#quorums.phase2;
        upTo = this.#acceptances.quorumMatch(voters, needed, this.#commit);
      }
    }
  }

  /** True when the leader has proposals it may send now. */
  #sendable(): boolean {
    return this.#role === 'leader' && this.#sendFrom < this.#nextSlot && this.#sendFrom <= this.#windowEnd();
  }

  /** The last slot the window allows in phase 2 (nothing beyond an unchosen membership change). */
  #windowEnd(): number {
    const end = this.#commit + this.#window;
    return this.#pendingConfSlot === undefined ? end : Math.min(end, this.#pendingConfSlot);
  }

  /** Sends every proposal the window allows, in batches: one accept per acceptor per batch. */
  #flushProposals(): void {
    if (!this.#sendable()) return;
    const last = Math.min(this.#nextSlot - 1, this.#windowEnd());
    while (this.#sendFrom <= last) {
      const to = Math.min(last, this.#sendFrom + this.#maxEntries - 1);
      const entries: StoredSlot[] = [];
      let bytes = 0;
      let slot = this.#sendFrom;
      for (; slot <= to; slot++) {
        const value = this.#inFlight.get(slot);
        if (value === undefined) continue;
        bytes += value.data.byteLength;
        if (entries.length > 0 && bytes > this.#maxBytes) break; // the rest goes in the next accept
        this.#sentAt.set(slot, this.#ticks);
        entries.push(value);
      }
      this.#sendFrom = slot;
      this.#sendAccepts(entries, undefined);
    }
  }

  /**
   * Accepts `entries` locally (counted once persisted, in advance) and sends
   * them to the other acceptors (`only`: to those that have not acknowledged).
   */
  #sendAccepts(entries: readonly StoredSlot[], only: ((peer: NodeId, slot: number) => boolean) | undefined): void {
    if (only === undefined && entries.length > 0) {
      for (const value of entries) {
        this.#write(value);
        if (this.#reportAcceptances) this.#accepted.push(value);
      }
      // As runs of consecutive slots, [first, last, first, last, …]: a flush
      // sends one run unless a takeover skipped slots known chosen.
      const runs = (this.#selfAcks ??= { ballot: this.#ballot, runs: [] }).runs;
      for (const value of entries) {
        const slot = value.slot;
        if (runs.length > 0 && runs[runs.length - 1] === slot - 1) runs[runs.length - 1] = slot;
        else runs.push(slot, slot);
      }
    }
    for (const to of this.#incoming.length === 0 ? this.#voters : [...this.#voters, ...this.#incoming]) {
      if (to === this.id) continue;
      const mine = only === undefined ? entries : entries.filter((e) => only(to, e.slot));
      this.#send({ type: 'accept', from: this.id, to, ballot: this.#ballot, entries: mine, commit: this.#commit });
    }
  }

  /**
   * Heartbeat: an accept to every peer carrying the commit, and resending
   * what it has not acknowledged for a full heartbeat interval (what was
   * sent moments ago is most likely on its way).
   */
  #heartbeat(): void {
    const resend: StoredSlot[] = [];
    const end = Math.min(this.#sendFrom - 1, this.#commit + this.#maxEntries);
    let bytes = 0;
    for (let slot = this.#commit + 1; slot <= end; slot++) {
      const value = this.#inFlight.get(slot);
      if (value !== undefined && this.#ticks - this.#sentAt.get(slot)! > this.#heartbeatTicks) {
        bytes += value.data.byteLength;
        if (resend.length > 0 && bytes > this.#maxBytes) break; // the rest on a later heartbeat
        this.#sentAt.set(slot, this.#ticks);
        resend.push(value);
      }
    }
    this.#sendAccepts(resend, (peer, slot) => !this.#acceptances.has(peer, slot));
  }

  // ================= helpers =================

  #send(message: PaxosMessage): void {
    this.#messages.push(message);
  }

  /** Whether the soft state is as last reported (without building it: hasReady runs on every turn of the loop). */
  #softUnchanged(): boolean {
    const reported = this.#softReported;
    return reported.role === this.#role && reported.leader === this.#leader && sameBallot(reported.ballot, this.#ballot);
  }

  #soft(): PaxosSoftState {
    return { role: this.#role, leader: this.#leader, ballot: this.#ballot };
  }

  #resetElectionTimer(): void {
    this.#electionElapsed = 0;
    this.#randomizedTimeout = this.#electionTicks + this.#random.int(this.#electionTicks);
  }
}

/** Whether `slots` are consecutive and ascending (as an acceptor reports a run of accepts). */
function isRun(slots: readonly number[]): boolean {
  for (let i = 1; i < slots.length; i++) if (slots[i] !== slots[i - 1]! + 1) return false;
  return true;
}

/** Shared by every Ready without entries (a Ready's arrays are read-only). */
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

function sameSoft(a: PaxosSoftState, b: PaxosSoftState): boolean {
  return a.role === b.role && a.leader === b.leader && sameBallot(a.ballot, b.ballot);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}
