import { SynodError } from '../../errors/errors.js';

/**
 * Errors of membership changes. Code branches on the class (or `code`), and
 * {@link InvalidConfChangeError} carries a `reason` naming the rule that was
 * broken, so callers never parse messages.
 */

/** Why a membership change was refused. */
export type InvalidConfChangeReason =
  /** The change list names a node id that is empty or not a string. */
  | 'invalid-node'
  /** The same node appears twice in one change. */
  | 'duplicate-node'
  /** A joint configuration must be left before another change starts. */
  | 'in-joint'
  /** Leaving a joint configuration was asked for, but the configuration is not joint. */
  | 'not-joint'
  /** A `simple` change may change the voters by at most one. */
  | 'too-many-voter-changes'
  /** The change would leave no voter at all. */
  | 'no-voters'
  /** `add-voter` of a node that is already a voter. */
  | 'already-voter'
  /** `add-learner` of a node that is already a learner. */
  | 'already-learner'
  /** `promote` of a node that is not a learner. */
  | 'not-a-learner'
  /** `remove` of a node that is not a member. */
  | 'not-a-member'
  /** The resulting configuration would list a node both as voter and as learner. */
  | 'voter-and-learner'
  /** The change list is empty but the transition is not a leave (use `leaveJoint`). */
  | 'empty';

/** Thrown when a membership change is unsafe or makes no sense for the current configuration. */
export class InvalidConfChangeError extends SynodError {
  readonly code = 'INVALID_CONF_CHANGE';
  constructor(
    readonly reason: InvalidConfChangeReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Thrown when a membership change is proposed while an earlier one is still
 * uncommitted or unapplied (Raft thesis §4.1: one change at a time). Retry
 * once the earlier change has been applied.
 */
export class ConfChangePendingError extends SynodError {
  readonly code = 'CONF_CHANGE_PENDING';
  constructor(
    /** Index of the conf-change entry that is still pending. */
    readonly pendingIndex: number,
    options?: { cause?: unknown },
  ) {
    super(`a membership change at index ${pendingIndex} is not applied yet`, options);
  }
}

/** Thrown when a learner to be promoted lags the leader's log by more than allowed. */
export class LearnerNotCaughtUpError extends SynodError {
  readonly code = 'LEARNER_NOT_CAUGHT_UP';
  constructor(
    readonly node: string,
    /** Entries the learner is behind the leader's last index (Infinity when the leader has no progress for it). */
    readonly lag: number,
    readonly maxLag: number,
    options?: { cause?: unknown },
  ) {
    super(`learner ${node} is ${lag} entries behind the leader (at most ${maxLag} allowed)`, options);
  }
}

/** Thrown when the bytes of a conf-change entry cannot be decoded. */
export class ConfChangeDecodeError extends SynodError {
  readonly code = 'CONF_CHANGE_MALFORMED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
