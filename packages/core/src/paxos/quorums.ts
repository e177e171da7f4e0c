import { InvalidArgumentError } from '../errors/errors.js';

/**
 * Quorum sizes for a cluster of `n` acceptors.
 *
 * Classic Paxos uses a majority for both phases. Flexible Paxos (Howard,
 * Malkhi and Spiegelman 2016) only needs every phase-1 quorum to intersect
 * every phase-2 quorum: `phase1 + phase2 > n`. Phase 2 runs for every
 * command and phase 1 only on leader changes, so a small phase-2 quorum
 * buys latency and availability in the common case at the cost of a larger
 * phase-1 quorum when a leader takes over.
 *
 * Fast Paxos (Lamport 2006, §3.3) adds fast rounds in which acceptors accept
 * values straight from clients. Its quorums must satisfy two conditions:
 * any two classic quorums intersect, and any classic quorum intersects
 * every two fast quorums: `phase1 + 2 × fast > 2n`.
 */
export interface QuorumSizes {
  /** Acceptors that must promise before a proposer may use a ballot. */
  readonly phase1: number;
  /** Acceptors that must accept a value in a classic round for it to be chosen. */
  readonly phase2: number;
  /** Acceptors that must accept the same value in a fast round for it to be chosen (Fast Paxos only). */
  readonly fast?: number;
}

/** Optional overrides; a missing size defaults to a majority (fast: ⌈3n/4⌉). */
export interface QuorumOptions {
  readonly phase1?: number;
  readonly phase2?: number;
  readonly fast?: number;
}

/** The majority of `n`. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Resolves and checks quorum sizes for `n` acceptors. This is where the
 * intersection requirements are enforced, at configuration time, so that a
 * cluster that could choose two values never starts.
 *
 * @throws InvalidArgumentError when a size is out of range, or the quorums do not intersect.
 *
 * @example
 * ```ts
 * quorumSizes(5, { phase1: 4, phase2: 2 }); // { phase1: 4, phase2: 2 }: 4 + 2 > 5
 * quorumSizes(5, { phase1: 3, phase2: 2 }); // throws: a phase-1 and a phase-2 quorum may be disjoint
 * ```
 */
export function quorumSizes(n: number, options: QuorumOptions = {}): QuorumSizes {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`cluster size must be a positive integer, got ${n}`);
  const phase1 = size(options.phase1 ?? majority(n), n, 'phase1');
  const phase2 = size(options.phase2 ?? majority(n), n, 'phase2');
  if (phase1 + phase2 <= n) {
    throw new InvalidArgumentError(
      `phase-1 quorum ${phase1} and phase-2 quorum ${phase2} of ${n} acceptors may not intersect (need phase1 + phase2 > ${n})`,
    );
  }
  if (options.fast === undefined) return { phase1, phase2 };
  const fast = size(options.fast, n, 'fast');
  if (phase1 + 2 * fast <= 2 * n) {
    throw new InvalidArgumentError(
      `fast quorum ${fast} with phase-1 quorum ${phase1} of ${n} acceptors is unsafe (need phase1 + 2 × fast > ${2 * n})`,
    );
  }
  // Two classic quorums must intersect as well, or two leaders could both complete phase 1.
  if (2 * phase1 <= n) throw new InvalidArgumentError(`two phase-1 quorums of ${phase1} out of ${n} may not intersect`);
  return { phase1, phase2, fast };
}

/** The smallest fast quorum that is safe with a phase-1 quorum of `phase1` out of `n`. */
export function smallestFastQuorum(n: number, phase1 = majority(n)): number {
  return Math.floor((2 * n - phase1) / 2) + 1;
}

function size(value: number, n: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > n) {
    throw new InvalidArgumentError(`${name} quorum must be an integer from 1 to ${n}, got ${value}`);
  }
  return value;
}
