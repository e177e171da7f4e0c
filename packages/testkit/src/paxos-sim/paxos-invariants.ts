import {
  compareBallots,
  decodeSlotEntry,
  decodeVoters,
  majority,
  type AcceptedSlot,
  type Ballot,
  type NodeId,
  type PaxosMessage,
  type Storage,
} from '@synod/core';
import { fingerprint } from '../simulator/invariants.js';

/** One broken Multi-Paxos safety or liveness property. */
export interface PaxosViolation {
  readonly invariant:
    /** Two different values were chosen (accepted by a quorum) for one slot. */
    | 'one-value-per-slot'
    /** A leader proposed two different values for one slot in one ballot. */
    | 'one-value-per-ballot'
    /** A node applied a value that no quorum of acceptors accepted. */
    | 'learned-not-chosen'
    /** Two nodes applied different values in one slot. */
    | 'learned-values-agree'
    /** A node applied slots out of order or skipped one. */
    | 'applied-sequence'
    /** A restarted acceptor lost a promise or an acceptance it had reported (it replied before persisting). */
    | 'acceptor-durability'
    | 'liveness'
    | 'linearizability'
    | 'storage-recovery';
  readonly message: string;
  readonly atMs: number;
}

interface BallotVotes {
  readonly print: number;
  readonly acceptors: Set<NodeId>;
  /** The voters a conf-change value names (undefined for other values). */
  readonly voters: readonly NodeId[] | undefined;
}

/** The voters that decide a slot, and how many of them make a phase-2 quorum. */
interface Configuration {
  readonly voters: ReadonlySet<NodeId>;
  readonly quorum: number;
}

/**
 * Checks Multi-Paxos safety against what acceptors actually did. Every
 * acceptance is reported when the acceptor reports it to the proposer; a
 * value is chosen in a slot once a phase-2 quorum of acceptors accepted it
 * in the same ballot. Then:
 * - at most one value is chosen per slot, whatever the ballots;
 * - every value a node applies was chosen, and all nodes apply the same
 *   value in a slot;
 * - each node applies slots in order without gaps (a checkpoint may skip ahead).
 *
 * With membership changes, which acceptors decide a slot depends on the
 * conf-change values chosen below it (a chosen configuration governs every
 * later slot), and an acceptance may be reported before the configuration
 * that governs its slot is known to be chosen. Choice is then decided by
 * {@link PaxosInvariants.finish}, slot by slot in order, once the whole
 * accepted history is in; the online checks keep only what holds in any
 * configuration.
 */
export class PaxosInvariants {
  readonly violations: PaxosViolation[] = [];
  /** slot → ballot key → votes. */
  readonly #votes = new Map<number, Map<string, BallotVotes>>();
  /** slot → fingerprint of the chosen value. */
  readonly #chosen = new Map<number, number>();
  /** slot → fingerprint of the first value applied there. */
  readonly #learned = new Map<number, { print: number; by: NodeId }>();
  readonly #lastApplied = new Map<NodeId, number>();
  /** Slots chosen, for the report. */
  chosenSlots = 0;

  /** slot → each node that applied there, and the fingerprint it applied (membership mode). */
  readonly #applied = new Map<number, Map<NodeId, number>>();
  readonly #initial: Configuration;

  /**
   * @param voters the initial voters; a phase-2 quorum is a majority of them.
   * @param membership whether the voters may change through the log (choice is then decided in {@link finish}).
   */
  constructor(
    private readonly now: () => number,
    voters: readonly NodeId[],
    private readonly membership = false,
  ) {
    this.#initial = configuration(voters);
  }

  onAccepted(node: NodeId, slots: readonly AcceptedSlot[]): void {
    for (const slot of slots) {
      const key = `${slot.ballot.round}.${slot.ballot.node}`;
      const print = fingerprint(slot.data) ^ (slot.type === 'conf-change' ? 0x5a5a5a5a : 0);
      let bySlot = this.#votes.get(slot.slot);
      if (bySlot === undefined) this.#votes.set(slot.slot, (bySlot = new Map()));
      let votes = bySlot.get(key);
      if (votes === undefined) bySlot.set(key, (votes = { print, acceptors: new Set(), voters: votersOf(slot) }));
      if (votes.print !== print) {
        this.#violate('one-value-per-ballot', `slot ${slot.slot}: two values in ballot ${key} (accepted by ${node})`);
        continue;
      }
      votes.acceptors.add(node);
      if (this.membership || countIn(votes.acceptors, this.#initial) < this.#initial.quorum) continue;
      const chosen = this.#chosen.get(slot.slot);
      if (chosen === undefined) {
        this.#chosen.set(slot.slot, print);
        this.chosenSlots++;
      } else if (chosen !== print) {
        this.#violate('one-value-per-slot', `slot ${slot.slot}: a second value was chosen in ballot ${key} by ${[...votes.acceptors].join(',')}`);
      }
    }
  }

  onApply(node: NodeId, slot: number, data: Uint8Array, type: string): void {
    const print = fingerprint(data) ^ (type === 'conf-change' ? 0x5a5a5a5a : 0);
    const last = this.#lastApplied.get(node) ?? 0;
    if (slot !== last + 1) this.#violate('applied-sequence', `${node} applied slot ${slot} after ${last}`);
    this.#lastApplied.set(node, slot);
    if (this.membership) {
      let bySlot = this.#applied.get(slot);
      if (bySlot === undefined) this.#applied.set(slot, (bySlot = new Map()));
      if (!bySlot.has(node)) bySlot.set(node, print);
    }
    const learned = this.#learned.get(slot);
    if (learned === undefined) this.#learned.set(slot, { print, by: node });
    else if (learned.print !== print) this.#violate('learned-values-agree', `${node} and ${learned.by} applied different values in slot ${slot}`);
    if (this.membership) return;
    const chosen = this.#chosen.get(slot);
    if (chosen !== print) {
      this.#violate(
        'learned-not-chosen',
        `${node} applied a value in slot ${slot} that ${chosen === undefined ? 'no quorum accepted' : 'differs from the chosen one'}`,
      );
    }
  }

  /**
   * With membership changes: decides, slot by slot from the first, which
   * value each slot's configuration chose, then checks that no slot chose
   * two values and that every applied value was the one chosen. Slots below
   * the first accepted one (none here: the simulator starts from an empty
   * log) are governed by the initial voters. Idempotent; call it once the
   * run's acceptances are all reported.
   */
  finish(): void {
    if (!this.membership) return;
    this.chosenSlots = 0;
    this.#chosen.clear();
    let config = this.#initial;
    const slots = [...new Set([...this.#votes.keys(), ...this.#applied.keys()])].sort((a, b) => a - b);
    for (const slot of slots) {
      let chosen: BallotVotes | undefined;
      for (const [key, votes] of this.#votes.get(slot) ?? []) {
        if (countIn(votes.acceptors, config) < config.quorum) continue;
        if (chosen === undefined) chosen = votes;
        else if (chosen.print !== votes.print) {
          this.#violate('one-value-per-slot', `slot ${slot}: a second value was chosen in ballot ${key} by ${[...votes.acceptors].join(',')} (voters ${[...config.voters].join(',')})`);
        }
      }
      if (chosen !== undefined) {
        this.#chosen.set(slot, chosen.print);
        this.chosenSlots++;
      }
      for (const [node, print] of this.#applied.get(slot) ?? []) {
        if (chosen?.print !== print) {
          this.#violate('learned-not-chosen', `${node} applied a value in slot ${slot} that ${chosen === undefined ? 'no quorum of the voters then accepted' : 'differs from the chosen one'}`);
        }
      }
      if (chosen?.voters !== undefined) config = configuration(chosen.voters);
    }
  }

  /** node → the highest ballot it promised or accepted in, as reported to a proposer. */
  readonly #reportedPromise = new Map<NodeId, Ballot>();
  /** node → slot → the ballot of the acceptance it reported there. */
  readonly #reportedAccepts = new Map<NodeId, Map<number, Ballot>>();

  /** Records what an acceptor told a proposer, as it leaves the node. */
  onSend(node: NodeId, message: PaxosMessage): void {
    if (message.type !== 'promise' && message.type !== 'accepted') return;
    const promised = this.#reportedPromise.get(node);
    if (promised === undefined || compareBallots(message.ballot, promised) > 0) this.#reportedPromise.set(node, message.ballot);
    if (message.type !== 'accepted') return;
    let slots = this.#reportedAccepts.get(node);
    if (slots === undefined) this.#reportedAccepts.set(node, (slots = new Map()));
    for (const slot of message.slots) {
      const known = slots.get(slot);
      if (known === undefined || compareBallots(message.ballot, known) > 0) slots.set(slot, message.ballot);
    }
  }

  /**
   * Checks a restarted acceptor's storage against what it reported before
   * the crash: its promise is at least every ballot it promised or accepted
   * in, and every slot it reported accepting holds a value from that ballot
   * or a later one, or is chosen (within its commit or checkpoint). An
   * acceptor that replies before its state is durable fails this as soon as
   * a crash lands in between.
   */
  onRestart(node: NodeId, storage: Storage): void {
    const { hardState } = storage.initialState();
    const stored: Ballot = hardState.vote === undefined ? { round: 0, node: '' } : { round: hardState.term, node: hardState.vote };
    const promised = this.#reportedPromise.get(node);
    if (promised !== undefined && compareBallots(stored, promised) < 0) {
      this.#violate('acceptor-durability', `${node} restarted with promise ${stored.round}.${stored.node} below the ${promised.round}.${promised.node} it had reported`);
    }
    const slots = this.#reportedAccepts.get(node);
    if (slots === undefined) return;
    const safeUpTo = Math.max(storage.snapshot().metadata.index, hardState.commit);
    const last = storage.lastIndex();
    for (const [slot, ballot] of slots) {
      if (slot <= safeUpTo) continue;
      let kept: AcceptedSlot | undefined;
      if (slot <= last) kept = decodeSlotEntry(storage.entries(slot, slot + 1)[0]!);
      if (kept === undefined || compareBallots(kept.ballot, ballot) < 0) {
        this.#violate('acceptor-durability', `${node} restarted without the acceptance in slot ${slot} (ballot ${ballot.round}.${ballot.node}) it had reported`);
        return;
      }
    }
  }

  /** A node restarted (from its storage) or installed a checkpoint: its next applied slot follows `applied`. */
  onReset(node: NodeId, applied: number): void {
    this.#lastApplied.set(node, applied);
  }

  #violate(invariant: PaxosViolation['invariant'], message: string): void {
    this.violations.push({ invariant, message, atMs: this.now() });
  }
}

function configuration(voters: readonly NodeId[]): Configuration {
  return { voters: new Set(voters), quorum: majority(voters.length) };
}

function countIn(acceptors: ReadonlySet<NodeId>, config: Configuration): number {
  let count = 0;
  for (const acceptor of acceptors) if (config.voters.has(acceptor)) count++;
  return count;
}

/** The voters a conf-change acceptance names; undefined for other values and for malformed ones (skipped by every replica). */
function votersOf(slot: AcceptedSlot): readonly NodeId[] | undefined {
  if (slot.type !== 'conf-change') return undefined;
  try {
    return decodeVoters(slot.data);
  } catch {
    return undefined;
  }
}
