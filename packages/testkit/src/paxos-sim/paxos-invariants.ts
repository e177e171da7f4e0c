import type { AcceptedSlot, NodeId } from '@synod/core';
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

  /** A node restarted (from its storage) or installed a checkpoint: its next applied slot follows `applied`. */
  onReset(node: NodeId, applied: number): void {
    this.#lastApplied.set(node, applied);
  }

  #violate(invariant: PaxosViolation['invariant'], message: string): void {
    this.violations.push({ invariant, message, atMs: this.now() });
  }
}
