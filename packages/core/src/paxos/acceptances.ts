import type { NodeId } from '../transport/transport.js';

/** One acceptor's acceptances of the leader's in-flight slots. */
interface AcceptorProgress {
  /** It accepted every in-flight slot up to here (slots at or below the chosen prefix need none). */
  match: number;
  /** Slots it accepted beyond a gap above `match` (rare: a lost or reordered accept). */
  beyond: Set<number> | undefined;
}

/**
 * Which acceptors accepted which of a leader's in-flight slots in its
 * ballot, kept as ranges rather than per slot: for each acceptor the highest
 * slot up to which it accepted every slot above the chosen prefix (its
 * match, as a Raft leader keeps per follower), and the few slots it accepted
 * past a gap in a set of their own until the gap closes.
 *
 * Why: acceptors accept in slot order and report runs of slots, so ranges
 * hold the usual case in one number per acceptor. A record per slot (an
 * object, and an array of acceptors once a second one answered) cost an
 * allocation or two per slot, which showed in garbage collection at
 * hundreds of thousands of slots a second.
 *
 * @example
 * const acceptances = new Acceptances();
 * acceptances.add('n1', 1, 0);
 * acceptances.add('n2', 1, 0);
 * acceptances.quorumMatch(['n1', 'n2', 'n3'], 2, 0); // 1: slot 1 has a quorum
 */
export class Acceptances {
  readonly #progress = new Map<NodeId, AcceptorProgress>();
  readonly #matches: number[] = [];

  /**
   * Records that `from` accepted `slot`; `floor` is the chosen prefix.
   * Returns true when the slot lies past a gap (then only {@link count}
   * tells whether it has a quorum; {@link quorumMatch} does not cover it).
   */
  add(from: NodeId, slot: number, floor: number): boolean {
    let progress = this.#progress.get(from);
    if (progress === undefined) {
      progress = { match: floor, beyond: undefined };
      this.#progress.set(from, progress);
    } else if (progress.match < floor) {
      progress.match = floor;
    }
    if (slot > progress.match + 1) {
      (progress.beyond ??= new Set()).add(slot);
      return true;
    }
    if (slot === progress.match + 1) progress.match = slot;
    // The gap may have closed (by this slot, or by the chosen prefix passing it).
    if (progress.beyond !== undefined) this.#absorb(progress);
    return false;
  }

  /** Moves `match` over the slots past the gap that now continue it, and drops those it passed. */
  #absorb(progress: AcceptorProgress): void {
    const beyond = progress.beyond!;
    while (beyond.delete(progress.match + 1)) progress.match++;
    for (const above of beyond) if (above <= progress.match) beyond.delete(above);
    if (beyond.size === 0) progress.beyond = undefined;
  }

  /**
   * Records that `from` accepted every slot from `first` to `last` when the
   * run continues (or overlaps) what it accepted before, and returns true;
   * otherwise records nothing and returns false (then {@link add} each).
   */
  addRun(from: NodeId, first: number, last: number, floor: number): boolean {
    const progress = this.#progress.get(from);
    const match = progress === undefined ? floor : Math.max(progress.match, floor);
    if (first > match + 1) return false;
    if (progress === undefined) {
      this.#progress.set(from, { match: Math.max(match, last), beyond: undefined });
      return true;
    }
    progress.match = Math.max(match, last);
    if (progress.beyond !== undefined) this.#absorb(progress);
    return true;
  }

  /** Whether `from` accepted `slot` (a slot above the chosen prefix). */
  has(from: NodeId, slot: number): boolean {
    const progress = this.#progress.get(from);
    return progress !== undefined && (slot <= progress.match || (progress.beyond !== undefined && progress.beyond.has(slot)));
  }

  /** How many of `voters` accepted `slot`. */
  count(voters: readonly NodeId[], slot: number): number {
    let count = 0;
    for (const voter of voters) if (this.has(voter, slot)) count++;
    return count;
  }

  /**
   * The highest slot up to which `quorum` of `voters` accepted every slot
   * above `floor` (`floor` when none did): the quorum-th highest match.
   */
  quorumMatch(voters: readonly NodeId[], quorum: number, floor: number): number {
    if (quorum <= 0 || voters.length < quorum) return floor;
    // Reused, sorted by insertion: this runs once per acceptance message.
    const matches = this.#matches;
    matches.length = 0;
    for (const voter of voters) {
      const progress = this.#progress.get(voter);
      const match = progress !== undefined && progress.match > floor ? progress.match : floor;
      let at = matches.length;
      matches.push(match);
      while (at > 0 && matches[at - 1]! < match) {
        matches[at] = matches[at - 1]!;
        at--;
      }
      matches[at] = match;
    }
    return matches[quorum - 1]!;
  }

  /** Forgets everything (a new ballot). */
  clear(): void {
    this.#progress.clear();
  }
}
