import type { NodeId } from '../transport/transport.js';

/**
 * A ballot number ("proposal number" in Paxos Made Simple §2.2): a round
 * and the id of the node that owns it. Ballots are totally ordered by round
 * first and node id second, so two proposers can never pick the same ballot
 * and every proposer can always pick a higher one.
 *
 * Round 0 belongs to nobody: {@link ZERO_BALLOT} is below every real ballot
 * and stands for "no promise yet" and "nothing accepted".
 *
 * @example
 * ```ts
 * const mine = nextBallot(seenHighest, 'n2'); // { round: seenHighest.round + 1, node: 'n2' }
 * compareBallots(mine, seenHighest) > 0; // true
 * ```
 */
export interface Ballot {
  readonly round: number;
  readonly node: NodeId;
}

/** Lower than every ballot a proposer can use. */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0, node: '' });

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

/** True when both are the same ballot. */
export function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

/** The larger of two ballots. */
export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

/** The smallest ballot owned by `node` that is above `above`. */
export function nextBallot(above: Ballot, node: NodeId): Ballot {
  return node > above.node ? { round: Math.max(1, above.round), node } : { round: above.round + 1, node };
}

/** `round.node`, for logs and errors. */
export function formatBallot(ballot: Ballot): string {
  return `${ballot.round}.${ballot.node}`;
}
