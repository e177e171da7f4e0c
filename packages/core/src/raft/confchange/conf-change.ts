import type { NodeId } from '../../transport/transport.js';
import type { ConfState } from '../types.js';

/**
 * Membership changes as they travel through the Raft log (Raft thesis
 * chapter 4). A change is a list of single steps plus a transition that
 * says how the cluster gets from the old configuration to the new one:
 *
 * - `simple`: one step at a time (thesis §4.1). The voters may change by at
 *   most one node, so every majority of the old voters overlaps every
 *   majority of the new ones and the switch can happen at once.
 * - `implicit`: joint consensus (thesis §4.3). The cluster first moves to
 *   the joint configuration C(old,new), in which every decision needs a
 *   majority of both halves, and the leader proposes the step out of it on
 *   its own as soon as the joint configuration is applied.
 * - `explicit-joint`: joint consensus that stays joint until someone calls
 *   leave-joint (an empty change list). Useful to act between the two steps
 *   (for example to move leadership).
 * - `auto` (default): `simple` when at most one voter changes, `implicit`
 *   otherwise.
 *
 * Every conf-change entry also carries the configuration that results from
 * it. Replicas adopt that configuration when they apply the entry, so a node
 * that joins with no configuration at all, or replays its log after a
 * restart, lands on exactly the leader's view (the leader validated the step
 * against the configuration in effect, and only one change is in flight at
 * a time, so the base it used is the one every replica has at that index).
 */

/** One step of a membership change. */
export type ConfChangeType =
  /** Make `node` a voter (a learner is promoted). */
  | 'add-voter'
  /** Make `node` a learner (a voter is demoted). */
  | 'add-learner'
  /** Make the learner `node` a voter; like `add-voter` but refuses nodes that are not learners. */
  | 'promote'
  /** Take `node` out of the configuration. */
  | 'remove';

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /**
   * Opaque bytes replicated with an `add-voter`, `add-learner` or
   * `promote` step, for the application: typically how to reach the
   * member (its address). RaftNode keeps the latest context of every member
   * (`RaftNode.memberContext`), in its snapshots too, so a node that
   * restarts or joins later knows it. Ignored on `remove`. At most
   * {@link MAX_CONF_CHANGE_CONTEXT_BYTES}.
   */
  readonly context?: Uint8Array;
}

/** The largest context one step may carry, in bytes. */
export const MAX_CONF_CHANGE_CONTEXT_BYTES = 4096;

/** How a change moves the cluster to its new configuration; see the module documentation. */
export type ConfChangeTransition = 'auto' | 'simple' | 'implicit' | 'explicit-joint';

/** What a caller asks for. An empty `changes` list means: leave the joint configuration. */
export interface ConfChangeRequest {
  readonly changes: readonly ConfChangeSingle[];
  /** @default 'auto' */
  readonly transition?: ConfChangeTransition;
}

/** The payload of a `conf-change` log entry. */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  readonly transition: ConfChangeTransition;
  /** The configuration in effect once the entry is applied. */
  readonly result: ConfState;
}

/** True when `conf` is a joint configuration (thesis §4.3). */
export function isJoint(conf: ConfState): boolean {
  return conf.votersOutgoing.length > 0;
}

/** True when `id` votes in `conf` (in either half of a joint configuration). */
export function isVoterIn(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.votersOutgoing.includes(id);
}

/** True when `id` is a voter or a learner of `conf`. */
export function isMemberOf(conf: ConfState, id: NodeId): boolean {
  return isVoterIn(conf, id) || conf.learners.includes(id);
}

/** Two configurations with the same members in the same roles (order does not matter). */
export function sameConfState(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean =>
    x.length === y.length && x.every((id) => y.includes(id));
  return (
    same(a.voters, b.voters) &&
    same(a.learners, b.learners) &&
    same(a.votersOutgoing, b.votersOutgoing) &&
    a.autoLeave === b.autoLeave
  );
}
