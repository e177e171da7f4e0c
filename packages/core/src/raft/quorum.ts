import type { NodeId } from '../transport/transport.js';

/**
 * Quorum arithmetic, kept apart from the state machine so that joint
 * consensus (Raft thesis §4.3: a decision needs a majority of the old AND of
 * the new configuration) plugs in without touching election or commit code.
 *
 * A {@link MajorityConfig} is a plain set of voter ids; a {@link JointConfig}
 * is an incoming and an outgoing majority config, where an empty outgoing
 * config means "not in a joint configuration".
 */

/** The outcome of an election (or of any yes/no poll of the voters). */
export type VoteResult = 'won' | 'lost' | 'pending';

/** A set of voters decided by simple majority. */
export type MajorityConfig = ReadonlySet<NodeId>;

/** Two majority configs that must both agree (joint consensus). */
export interface JointConfig {
  readonly incoming: MajorityConfig;
  /** Empty unless a configuration change is in progress. */
  readonly outgoing: MajorityConfig;
}

/**
 * The largest value that a majority of `voters` has reached, where
 * `valueOf(id)` is what voter `id` acknowledged (undefined counts as 0).
 *
 * Used with match indexes this is the commit point (§5.3, §5.4.2 adds the
 * current-term check on top); used with contact times it is the moment a
 * quorum last confirmed the leader (lease reads).
 *
 * An empty config returns `Infinity` so that it never constrains the
 * minimum taken over a joint config.
 */
export function majorityValue(voters: MajorityConfig, valueOf: (id: NodeId) => number | undefined): number {
  if (voters.size === 0) return Infinity;
  const values: number[] = [];
  for (const id of voters) values.push(valueOf(id) ?? 0);
  // Sort descending; the value at position floor(n/2) is held by at least
  // floor(n/2)+1 voters, which is a majority.
  values.sort((a, b) => b - a);
  return values[Math.floor(values.length / 2)]!;
}

/**
 * The poll result among `voters`: won once a majority said yes, lost once a
 * majority can no longer say yes, pending otherwise. An empty config wins,
 * so that it is neutral inside a joint config.
 */
export function majorityVoteResult(voters: MajorityConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  if (granted >= quorum) return 'won';
  if (granted + missing >= quorum) return 'pending';
  return 'lost';
}

/** {@link majorityValue} over a joint config: the smaller of the two halves. */
export function jointValue(config: JointConfig, valueOf: (id: NodeId) => number | undefined): number {
  const value = Math.min(majorityValue(config.incoming, valueOf), majorityValue(config.outgoing, valueOf));
  // Both halves empty means there are no voters at all: nothing is agreed.
  return value === Infinity ? 0 : value;
}

/** {@link majorityVoteResult} over a joint config: both halves must win; either losing loses. */
export function jointVoteResult(config: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVoteResult(config.incoming, votes);
  const b = majorityVoteResult(config.outgoing, votes);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}

/** Every voter of a joint config, incoming first, without duplicates. */
export function jointVoters(config: JointConfig): NodeId[] {
  const ids = new Set<NodeId>(config.incoming);
  for (const id of config.outgoing) ids.add(id);
  return [...ids];
}
