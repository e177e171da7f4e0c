import { InvalidArgumentError } from '../errors/errors.js';
import type { NodeId } from '../transport/transport.js';
import { compareBallots, nextBallot, sameBallot, ZERO_BALLOT, type Ballot } from './ballot.js';
import { quorumSizes, type QuorumOptions, type QuorumSizes } from './quorums.js';

/**
 * Single-decree Paxos, the Synod protocol (Paxos Made Simple §2), with the
 * fast rounds of Fast Paxos (Lamport 2006) as an option.
 *
 * Each role is a pure state machine: it takes one message and returns what
 * to do, never touching a clock, a disk or a network. The acceptor returns
 * the state to persist together with its replies, and the caller must make
 * that state durable before it sends them (§2.3: "an acceptor must remember
 * this information even if it fails and then restarts").
 *
 * @example
 * ```ts
 * const acceptors = ['a1', 'a2', 'a3'];
 * const proposer = new SynodProposer<string>({ id: 'p1', acceptors, learners: ['l1'] });
 * let outbox = proposer.propose('v');                      // prepare × 3
 * // deliver each message to its acceptor: acceptor.step(m) → { persist, messages }
 * // persist, then deliver `messages` to proposers and learners until learner.chosen is set
 * ```
 *
 * @module
 */

/** Marker for the value of a fast round's "any" message (Fast Paxos §3.1). */
export const ANY = Symbol('any');

/** Phase 1a. */
export interface SynodPrepare {
  readonly type: 'prepare';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
}

/** Phase 1b: the promise, with the highest-ballot value this acceptor has accepted, if any. */
export interface SynodPromise<V> {
  readonly type: 'promise';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly accepted: AcceptedValue<V> | undefined;
}

/**
 * Phase 2a. In a fast round the coordinator sends `value: ANY`, which lets
 * each acceptor accept the first value a proposer sends it directly.
 */
export interface SynodAccept<V> {
  readonly type: 'accept';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly value: V | typeof ANY;
  readonly fast: boolean;
}

/** A proposer's value sent straight to the acceptors during a fast round. */
export interface SynodFastPropose<V> {
  readonly type: 'fast-propose';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly value: V;
}

/** Phase 2b, sent to the coordinator and to every learner. */
export interface SynodAccepted<V> {
  readonly type: 'accepted';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly value: V;
  readonly fast: boolean;
}

/** Refusal of a prepare or accept below the acceptor's promise; tells the proposer what to beat. */
export interface SynodNack {
  readonly type: 'nack';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

export type SynodMessage<V> =
  | SynodPrepare
  | SynodPromise<V>
  | SynodAccept<V>
  | SynodFastPropose<V>
  | SynodAccepted<V>
  | SynodNack;

export interface AcceptedValue<V> {
  readonly ballot: Ballot;
  readonly value: V;
  /** True when accepted in a fast round (recovery then follows Fast Paxos' rule, not "highest ballot wins"). */
  readonly fast: boolean;
}

/** What an acceptor must keep across crashes. */
export interface AcceptorState<V> {
  /** The highest ballot it promised (or accepted in). */
  readonly promised: Ballot;
  readonly accepted: AcceptedValue<V> | undefined;
  /** The fast round it was told to open ("any"), while it has not accepted in it yet. */
  readonly fastRound: Ballot | undefined;
}

export const initialAcceptorState: AcceptorState<never> = Object.freeze({
  promised: ZERO_BALLOT,
  accepted: undefined,
  fastRound: undefined,
});

/** An acceptor's answer to one message: persist `persist` (when set), then send `messages`. */
export interface AcceptorOutput<V> {
  readonly persist: AcceptorState<V> | undefined;
  readonly messages: readonly SynodMessage<V>[];
}

/**
 * The acceptor (§2.2, P1a and P2c). It promises a ballot only if it is at
 * least its current promise, and accepts only in a ballot at least its
 * promise. Every change it makes comes back as `persist`, which the caller
 * must write durably before sending `messages`.
 */
export class SynodAcceptor<V> {
  readonly id: NodeId;
  readonly #learners: readonly NodeId[];
  #state: AcceptorState<V>;

  /**
   * @param state what was persisted before a restart (or the initial state)
   * @param learners who is told of every acceptance, besides the sender
   */
  constructor(id: NodeId, learners: readonly NodeId[], state: AcceptorState<V> = initialAcceptorState) {
    this.id = id;
    this.#learners = learners;
    this.#state = state;
  }

  get state(): AcceptorState<V> {
    return this.#state;
  }

  step(message: SynodMessage<V>): AcceptorOutput<V> {
    switch (message.type) {
      case 'prepare':
        return this.#onPrepare(message);
      case 'accept':
        return this.#onAccept(message);
      case 'fast-propose':
        return this.#onFastPropose(message);
      default:
        return { persist: undefined, messages: [] };
    }
  }

  #onPrepare(m: SynodPrepare): AcceptorOutput<V> {
    const s = this.#state;
    if (compareBallots(m.ballot, s.promised) < 0) return this.#nack(m.from, m.ballot);
    // Re-promising the same ballot is harmless (a duplicated prepare) and needs no write.
    const changed = !sameBallot(m.ballot, s.promised);
    if (changed) this.#state = { promised: m.ballot, accepted: s.accepted, fastRound: undefined };
    return {
      persist: changed ? this.#state : undefined,
      messages: [{ type: 'promise', from: this.id, to: m.from, ballot: m.ballot, accepted: s.accepted }],
    };
  }

  #onAccept(m: SynodAccept<V>): AcceptorOutput<V> {
    const s = this.#state;
    if (compareBallots(m.ballot, s.promised) < 0) return this.#nack(m.from, m.ballot);
    if (m.value === ANY) {
      // Opening a fast round: promise it, and wait for a proposer's value.
      if (s.accepted !== undefined && sameBallot(s.accepted.ballot, m.ballot)) return { persist: undefined, messages: [] };
      this.#state = { promised: m.ballot, accepted: s.accepted, fastRound: m.ballot };
      return { persist: this.#state, messages: [] };
    }
    return this.#acceptValue(m.ballot, m.value, m.fast, m.from);
  }

  #onFastPropose(m: SynodFastPropose<V>): AcceptorOutput<V> {
    const s = this.#state;
    // Only within an open fast round, and only the first value (an acceptor votes once per round).
    if (s.fastRound === undefined || !sameBallot(s.fastRound, s.promised)) return { persist: undefined, messages: [] };
    return this.#acceptValue(s.fastRound, m.value, true, s.fastRound.node);
  }

  #acceptValue(ballot: Ballot, value: V, fast: boolean, coordinator: NodeId): AcceptorOutput<V> {
    const s = this.#state;
    const again = s.accepted !== undefined && sameBallot(s.accepted.ballot, ballot);
    // One vote per ballot: a second, different value in the same ballot is refused silently.
    if (again && s.accepted!.value !== value) return { persist: undefined, messages: [] };
    if (!again) this.#state = { promised: ballot, accepted: { ballot, value, fast }, fastRound: undefined };
    const to = new Set([coordinator, ...this.#learners]);
    return {
      persist: again ? undefined : this.#state,
      messages: [...to].map((learner) => ({ type: 'accepted', from: this.id, to: learner, ballot, value, fast })),
    };
  }

  #nack(to: NodeId, ballot: Ballot): AcceptorOutput<V> {
    return { persist: undefined, messages: [{ type: 'nack', from: this.id, to, ballot, promised: this.#state.promised }] };
  }
}

export interface SynodProposerOptions<V> {
  readonly id: NodeId;
  readonly acceptors: readonly NodeId[];
  /** Told nothing by the proposer; listed so the coordinator can tell them apart. */
  readonly learners?: readonly NodeId[];
  readonly quorums?: QuorumOptions;
  /**
   * Open a fast round after phase 1 finds nothing accepted, instead of
   * proposing this proposer's own value: other proposers then send their
   * values straight to the acceptors. Needs `quorums.fast`.
   * @default false
   */
  readonly fast?: boolean;
  /** Value equality. @default Object.is */
  readonly equals?: (a: V, b: V) => boolean;
}

/**
 * The proposer, which is also the coordinator of fast rounds (§2.2 and
 * Fast Paxos §3). It runs phase 1 for a ballot above every one it has seen,
 * then proposes the value phase 1 forces on it (the one accepted with the
 * highest ballot, P2c), or its own when nothing was accepted.
 *
 * After a fast round that collided (no value can reach a fast quorum) it
 * recovers with a classic round, picking the value by Fast Paxos' rule: a
 * value that may have been chosen in the fast round.
 */
export class SynodProposer<V> {
  readonly id: NodeId;
  readonly #acceptors: readonly NodeId[];
  readonly #quorums: QuorumSizes;
  readonly #fast: boolean;
  readonly #equals: (a: V, b: V) => boolean;
  #highestSeen: Ballot = ZERO_BALLOT;
  #ballot: Ballot = ZERO_BALLOT;
  #phase: 'idle' | 'preparing' | 'accepting' | 'fast' | 'done' = 'idle';
  #value: V | undefined;
  #promises = new Map<NodeId, AcceptedValue<V> | undefined>();
  #accepts = new Map<NodeId, V>();
  /** Set after a fast round collided: later rounds are classic. */
  #recovering = false;
  /** Fast rounds that collided and were recovered from. */
  collisions = 0;
  /** Phase 1 ballots whose promises this proposer ignores the accepted values of (a mutation for tests). */
  readonly ignoreAcceptedInPhase1: boolean;

  constructor(options: SynodProposerOptions<V> & { readonly ignoreAcceptedInPhase1?: boolean }) {
    this.id = options.id;
    this.#acceptors = options.acceptors;
    this.#quorums = quorumSizes(options.acceptors.length, options.quorums);
    this.#fast = options.fast === true;
    if (this.#fast && this.#quorums.fast === undefined) throw new InvalidArgumentError('fast rounds need a fast quorum size');
    this.#equals = options.equals ?? Object.is;
    this.ignoreAcceptedInPhase1 = options.ignoreAcceptedInPhase1 === true;
  }

  /** The ballot in use (ZERO_BALLOT before the first proposal). */
  get ballot(): Ballot {
    return this.#ballot;
  }

  get phase(): 'idle' | 'preparing' | 'accepting' | 'fast' | 'done' {
    return this.#phase;
  }

  /** Starts (or restarts, with a higher ballot) phase 1 for `value`. */
  propose(value: V): SynodMessage<V>[] {
    this.#value = value;
    return this.retry();
  }

  /** Runs phase 1 again with a ballot above every ballot seen so far (after a nack or a timeout). */
  retry(): SynodMessage<V>[] {
    if (this.#value === undefined) return [];
    this.#ballot = nextBallot(this.#highestSeen, this.id);
    this.#highestSeen = this.#ballot;
    this.#phase = 'preparing';
    this.#promises = new Map();
    this.#accepts = new Map();
    return this.#acceptors.map((to) => ({ type: 'prepare', from: this.id, to, ballot: this.#ballot }));
  }

  step(message: SynodMessage<V>): SynodMessage<V>[] {
    switch (message.type) {
      case 'promise':
        return this.#onPromise(message);
      case 'nack':
        if (compareBallots(message.promised, this.#highestSeen) > 0) this.#highestSeen = message.promised;
        return [];
      case 'accepted':
        return this.#onAccepted(message);
      default:
        return [];
    }
  }

  #onPromise(m: SynodPromise<V>): SynodMessage<V>[] {
    if (this.#phase !== 'preparing' || !sameBallot(m.ballot, this.#ballot)) return [];
    this.#promises.set(m.from, m.accepted);
    if (this.#promises.size < this.#quorums.phase1) return [];
    const forced = this.ignoreAcceptedInPhase1 ? undefined : this.#forcedValue();
    if (forced === undefined && this.#fast && !this.#recovering) {
      this.#phase = 'fast';
      return this.#acceptors.map((to) => ({ type: 'accept', from: this.id, to, ballot: this.#ballot, value: ANY, fast: true }));
    }
    const value = forced ?? this.#value!;
    this.#phase = 'accepting';
    return this.#acceptors.map((to) => ({ type: 'accept', from: this.id, to, ballot: this.#ballot, value, fast: false }));
  }

  /**
   * The value phase 1 forces, if any (P2c; Fast Paxos §3.3 for fast rounds):
   * among the values accepted in the highest ballot k the quorum reports,
   * the single one if k was classic; if k was fast, the one that may have
   * been chosen, i.e. that at least `fast - (n - |Q|)` responders accepted
   * in k (the quorum requirement makes it unique). Undefined when nothing
   * constrains the choice.
   */
  #forcedValue(): V | undefined {
    let highest: AcceptedValue<V> | undefined;
    for (const accepted of this.#promises.values()) {
      if (accepted !== undefined && (highest === undefined || compareBallots(accepted.ballot, highest.ballot) > 0)) highest = accepted;
    }
    if (highest === undefined) return undefined;
    if (!highest.fast) return highest.value;
    const inRound: V[] = [];
    for (const accepted of this.#promises.values()) {
      if (accepted !== undefined && sameBallot(accepted.ballot, highest.ballot)) inRound.push(accepted.value);
    }
    const needed = this.#quorums.fast! - (this.#acceptors.length - this.#promises.size);
    for (const candidate of inRound) {
      if (inRound.filter((v) => this.#equals(v, candidate)).length >= needed) return candidate;
    }
    // Nothing can have been chosen in the fast round; any value is safe. Prefer one already accepted.
    return inRound[0];
  }

  /**
   * Tracks the outcome of a fast round: when the votes seen make a fast
   * quorum for one value impossible, that is a collision, and the proposer
   * recovers with a classic round at a higher ballot (phase 1 again).
   */
  #onAccepted(m: SynodAccepted<V>): SynodMessage<V>[] {
    if (this.#phase === 'done' || !sameBallot(m.ballot, this.#ballot)) return [];
    this.#accepts.set(m.from, m.value);
    const counts = this.#counts();
    const best = Math.max(...counts.map(([, c]) => c));
    const quorum = m.fast ? this.#quorums.fast! : this.#quorums.phase2;
    if (best >= quorum) {
      this.#phase = 'done';
      return [];
    }
    const undecided = this.#acceptors.length - this.#accepts.size;
    if (m.fast && best + undecided < quorum) return this.#recover();
    return [];
  }

  #counts(): [V, number][] {
    const counts: [V, number][] = [];
    for (const value of this.#accepts.values()) {
      const entry = counts.find(([v]) => this.#equals(v, value));
      if (entry !== undefined) entry[1]++;
      else counts.push([value, 1]);
    }
    return counts;
  }

  /** Collision recovery: a classic round above the fast one, whose phase 1 finds what the fast round left. */
  #recover(): SynodMessage<V>[] {
    // The recovery round is classic: opening another fast round could collide again.
    this.#recovering = true;
    this.collisions++;
    return this.retry();
  }
}

/** The messages a proposer sends straight to the acceptors in an open fast round. */
export function fastPropose<V>(from: NodeId, acceptors: readonly NodeId[], value: V): SynodFastPropose<V>[] {
  return acceptors.map((to) => ({ type: 'fast-propose', from, to, value }));
}

export interface SynodLearnerOptions<V> {
  readonly acceptors: readonly NodeId[];
  readonly quorums?: QuorumOptions;
  readonly equals?: (a: V, b: V) => boolean;
}

/**
 * The learner (§2.3): a value is chosen once a quorum of acceptors has
 * accepted it in the same ballot: a phase-2 quorum in a classic ballot, a
 * fast quorum in a fast one. Votes from non-acceptors are ignored.
 */
export class SynodLearner<V> {
  readonly #acceptors: ReadonlySet<NodeId>;
  readonly #quorums: QuorumSizes;
  readonly #equals: (a: V, b: V) => boolean;
  /** `ballot key` → acceptor → value. */
  readonly #votes = new Map<string, Map<NodeId, V>>();
  #chosen: { value: V } | undefined;

  constructor(options: SynodLearnerOptions<V>) {
    this.#acceptors = new Set(options.acceptors);
    this.#quorums = quorumSizes(options.acceptors.length, options.quorums);
    this.#equals = options.equals ?? Object.is;
  }

  /** The chosen value, once learned. */
  get chosen(): { readonly value: V } | undefined {
    return this.#chosen;
  }

  step(message: SynodMessage<V>): void {
    if (message.type !== 'accepted' || !this.#acceptors.has(message.from)) return;
    const key = `${message.ballot.round}.${message.ballot.node}`;
    let votes = this.#votes.get(key);
    if (votes === undefined) this.#votes.set(key, (votes = new Map()));
    votes.set(message.from, message.value);
    const quorum = message.fast ? (this.#quorums.fast ?? Infinity) : this.#quorums.phase2;
    let count = 0;
    for (const value of votes.values()) if (this.#equals(value, message.value)) count++;
    if (count >= quorum && this.#chosen === undefined) this.#chosen = { value: message.value };
  }
}
