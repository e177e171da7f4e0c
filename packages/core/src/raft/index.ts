/**
 * Raft: the pure {@link RaftCore} (input a message or a tick, output a
 * {@link Ready}), the {@link RaftNode} driver that runs it on a clock with a
 * Transport, a Storage and a StateMachine, and the membership-change API.
 *
 * This is the whole public surface, chosen the way etcd-io/raft draws it:
 * what a user of the node or of the core reads, passes or catches. The
 * machinery behind it (quorum arithmetic, per-follower progress and inflight
 * windows, the in-memory log and its unstable tail, the read-only queue,
 * message validation, the conf-change entry encoder) stays inside the
 * package, so it can change without breaking anyone. Tests inside the
 * package import those modules by relative path.
 *
 * @module
 */

// Entries, hard/soft state, snapshots, ConfState, the Ready contract and the
// Raft messages (a transport or codec for Raft needs the message union).
export * from './types.js';
export type { CommitNotice, RaftConfig } from './raft-config.js';

// The core, for users who drive it themselves (etcd's RawNode).
export {
  RaftCore,
  type ConfChangeProposalOptions,
  type LeaseClock,
  type ProgressStatus,
  type ProposeResult,
  type RaftStatus,
} from './raft-core.js';
// Named by ProgressStatus.state.
export type { ProgressState } from './progress.js';

// The driver.
export * from './raft-node.js';

// Membership changes: the request and entry types, helpers on ConfState,
// planConfChange to check a change without proposing it, decodeConfChange to
// read a conf-change entry a RaftCore hands out, and the typed errors.
export {
  isJoint,
  MAX_CONF_CHANGE_CONTEXT_BYTES,
  isMemberOf,
  isVoterIn,
  sameConfState,
  type ConfChange,
  type ConfChangeRequest,
  type ConfChangeSingle,
  type ConfChangeTransition,
  type ConfChangeType,
} from './confchange/conf-change.js';
export { planConfChange } from './confchange/changer.js';
export { decodeConfChange } from './confchange/conf-change-codec.js';
export * from './confchange/conf-change-errors.js';
