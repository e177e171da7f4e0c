import { compareBallots, decodeSlotEntry, type AcceptedSlot, type Ballot, type NodeId, type PaxosMessage, type Storage } from '@synod/core';
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

  constructor(
    private readonly now: () => number,
    private readonly phase2Quorum: number,
  ) {}

  onAccepted(node: NodeId, slots: readonly AcceptedSlot[]): void {
    for (const slot of slots) {
      const key = `${slot.ballot.round}.${slot.ballot.node}`;
      const print = fingerprint(slot.data) ^ (slot.type === 'conf-change' ? 0x5a5a5a5a : 0);
      let bySlot = this.#votes.get(slot.slot);
      if (bySlot === undefined) this.#votes.set(slot.slot, (bySlot = new Map()));
      let votes = bySlot.get(key);
      if (votes === undefined) bySlot.set(key, (votes = { print, acceptors: new Set() }));
      if (votes.print !== print) {
        this.#violate('one-value-per-ballot', `slot ${slot.slot}: two values in ballot ${key} (accepted by ${node})`);
        continue;
      }
      votes.acceptors.add(node);
      if (votes.acceptors.size < this.phase2Quorum) continue;
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
    const chosen = this.#chosen.get(slot);
    if (chosen !== print) {
      this.#violate(
        'learned-not-chosen',
        `${node} applied a value in slot ${slot} that ${chosen === undefined ? 'no quorum accepted' : 'differs from the chosen one'}`,
      );
    }
    const learned = this.#learned.get(slot);
    if (learned === undefined) this.#learned.set(slot, { print, by: node });
    else if (learned.print !== print) this.#violate('learned-values-agree', `${node} and ${learned.by} applied different values in slot ${slot}`);
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
