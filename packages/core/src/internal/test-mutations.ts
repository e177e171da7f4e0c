/**
 * TEST ONLY: deliberate bugs that the simulator's mutation tests switch on,
 * to prove that the simulator catches each of them (see the testkit README,
 * "Mutation tests"). Every flag is `false` by default and nothing in the
 * library sets one; production code must never touch this object. It is not
 * part of the public API (`@synod/core` does not export it); tests reach it
 * through the `@synod/core/internal/test-mutations` entry point.
 *
 * Each flag is read by a one-line check at the place where the bug would
 * live, so that the hook costs one property read and stays out of the way.
 *
 * @example
 * ```ts
 * import { internalTestMutations } from '@synod/core/internal/test-mutations';
 *
 * internalTestMutations.doubleVote = true;
 * try {
 *   // run simulator seeds; one of them must report an election-safety violation
 * } finally {
 *   resetInternalTestMutations();
 * }
 * ```
 */
export interface InternalTestMutations {
  /** RaftNode sends a Ready's messages (votes, acknowledgements) before its writes are synced. */
  ackBeforeSync: boolean;
  /** A leader commits an entry of an older term by counting its replicas (no §5.4.2 / Figure 8 rule). */
  commitOlderTermByCount: boolean;
  /** A voter grants a second vote in a term in which it already voted for another candidate. */
  doubleVote: boolean;
  /** The leader lease stays valid after the leader sent TimeoutNow for a leadership transfer. */
  leaseAfterTransfer: boolean;
  /** A follower treats every entry it appended as committed, and applies it before the leader commits it. */
  applyBeforeCommit: boolean;
  /**
   * A leader counts its own entries toward a commit as soon as it appends
   * them, before its write is synced. Caught by the RaftNode test
   * `leader-parallel-write`, not by the simulator: RaftNode sends nothing
   * else until that sync completes, so the early commit cannot leave the
   * leader before it becomes true (200 random seeds survived).
   */
  selfAckBeforeSync: boolean;
  /**
   * A read-index request that arrived while a heartbeat round was on its
   * way is answered when that round is confirmed, though the round's
   * heartbeats left before the request arrived (so they prove nothing about
   * the leadership at the request's time).
   */
  readJoinsRoundInFlight: boolean;
}

/** The live switches; see {@link InternalTestMutations}. Test-only. */
export const internalTestMutations: InternalTestMutations = {
  ackBeforeSync: false,
  commitOlderTermByCount: false,
  doubleVote: false,
  leaseAfterTransfer: false,
  applyBeforeCommit: false,
  selfAckBeforeSync: false,
  readJoinsRoundInFlight: false,
};

/** The names of the mutations, for tests that run each in turn. */
export type InternalTestMutation = keyof InternalTestMutations;

/** Turns every mutation off again. */
export function resetInternalTestMutations(): void {
  for (const name of Object.keys(internalTestMutations) as InternalTestMutation[]) internalTestMutations[name] = false;
}
