import type { NodeId } from '../../transport/transport.js';
import type { ConfState } from '../types.js';
import { isJoint } from './conf-change.js';
import type { ConfChangeRequest, ConfChangeSingle, ConfChangeTransition } from './conf-change.js';
import { InvalidConfChangeError, LearnerNotCaughtUpError } from './conf-change-errors.js';

/**
 * Computes the configuration a change leads to from `current`, or throws
 * {@link InvalidConfChangeError} when the change is unsafe. Pure: the
 * leader calls it before proposing, so that only valid changes ever enter
 * the log.
 *
 * Rules (thesis §4.1 and §4.3):
 * - An empty change list leaves a joint configuration: the incoming voters
 *   become the voters, and outgoing voters that were demoted stay learners.
 * - Any other change needs a non-joint configuration.
 * - `simple` may add or remove at most one voter; anything more needs joint
 *   consensus (`auto` picks it for you).
 * - The new configuration keeps at least one voter, and no node is both a
 *   voter and a learner of the incoming configuration. (A demoted voter is
 *   a learner and an outgoing voter at once while joint: it still counts
 *   for the old majority.)
 */
export function planConfChange(current: ConfState, request: ConfChangeRequest): ConfState {
  if (request.changes.length === 0) return leaveJoint(current, request.transition);
  if (isJoint(current)) {
    throw new InvalidConfChangeError('in-joint', 'the configuration is joint; leave it before changing it again');
  }
  const voters = new Set<NodeId>(current.voters);
  const learners = new Set<NodeId>(current.learners);
  const seen = new Set<NodeId>();
  for (const change of request.changes) {
    checkNode(change, seen);
    applySingle(voters, learners, change);
  }
  if (voters.size === 0) throw new InvalidConfChangeError('no-voters', 'the change would leave no voters');
  for (const id of voters) {
    if (learners.has(id)) throw new InvalidConfChangeError('voter-and-learner', `${id} would be both voter and learner`);
  }
  const changedVoters = symmetricDifference(current.voters, voters);
  const transition = resolveTransition(request.transition ?? 'auto', changedVoters);
  if (transition === 'simple') {
    if (changedVoters > 1) {
      throw new InvalidConfChangeError(
        'too-many-voter-changes',
        `a simple change may change one voter, this one changes ${changedVoters}; use joint consensus`,
      );
    }
    return { voters: [...voters], learners: [...learners], votersOutgoing: [], autoLeave: false };
  }
  return {
    voters: [...voters],
    learners: [...learners],
    votersOutgoing: [...current.voters],
    autoLeave: transition === 'implicit',
  };
}

/** The transition `auto` stands for, given how many voters change. */
export function resolveTransition(
  transition: ConfChangeTransition,
  changedVoters: number,
): Exclude<ConfChangeTransition, 'auto'> {
  if (transition !== 'auto') return transition;
  return changedVoters <= 1 ? 'simple' : 'implicit';
}

/**
 * Throws {@link LearnerNotCaughtUpError} when a node that `request` makes a
 * voter is a learner whose `match` lags `lastIndex` by more than `maxLag`.
 */
export function checkLearnersCaughtUp(
  current: ConfState,
  request: ConfChangeRequest,
  matchOf: (id: NodeId) => number | undefined,
  lastIndex: number,
  maxLag: number,
): void {
  for (const change of request.changes) {
    if (change.type !== 'add-voter' && change.type !== 'promote') continue;
    if (!current.learners.includes(change.node)) continue;
    const match = matchOf(change.node);
    const lag = match === undefined ? Infinity : lastIndex - match;
    if (lag > maxLag) throw new LearnerNotCaughtUpError(change.node, lag, maxLag);
  }
}

function leaveJoint(current: ConfState, transition: ConfChangeTransition | undefined): ConfState {
  if (transition !== undefined && transition !== 'auto' && transition !== 'explicit-joint' && transition !== 'implicit') {
    throw new InvalidConfChangeError('empty', `a change with no steps leaves joint consensus; '${transition}' makes no sense`);
  }
  if (!isJoint(current)) throw new InvalidConfChangeError('not-joint', 'the configuration is not joint');
  // Outgoing voters that were demoted are already listed as learners; the
  // ones that were removed simply disappear with the outgoing half.
  return { voters: [...current.voters], learners: [...current.learners], votersOutgoing: [], autoLeave: false };
}

function checkNode(change: ConfChangeSingle, seen: Set<NodeId>): void {
  if (typeof change.node !== 'string' || change.node.length === 0) {
    throw new InvalidConfChangeError('invalid-node', 'node ids must be non-empty strings');
  }
  if (seen.has(change.node)) {
    throw new InvalidConfChangeError('duplicate-node', `${change.node} appears more than once in the change`);
  }
  seen.add(change.node);
}

function applySingle(voters: Set<NodeId>, learners: Set<NodeId>, change: ConfChangeSingle): void {
  const { node } = change;
  switch (change.type) {
    case 'add-voter':
      if (voters.has(node)) throw new InvalidConfChangeError('already-voter', `${node} is already a voter`);
      learners.delete(node);
      voters.add(node);
      return;
    case 'promote':
      if (!learners.has(node)) throw new InvalidConfChangeError('not-a-learner', `${node} is not a learner`);
      learners.delete(node);
      voters.add(node);
      return;
    case 'add-learner':
      if (learners.has(node)) throw new InvalidConfChangeError('already-learner', `${node} is already a learner`);
      voters.delete(node);
      learners.add(node);
      return;
    case 'remove':
      if (!voters.has(node) && !learners.has(node)) {
        throw new InvalidConfChangeError('not-a-member', `${node} is not a member`);
      }
      voters.delete(node);
      learners.delete(node);
      return;
    default:
      throw new InvalidConfChangeError('invalid-node', `unknown change type '${String((change as { type: unknown }).type)}'`);
  }
}

function symmetricDifference(before: readonly NodeId[], after: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const id of before) if (!after.has(id)) n++;
  for (const id of after) if (!before.includes(id)) n++;
  return n;
}
