/**
 * Typed errors shared by every Synod package. Code branches on the class (or
 * on `code`), never on the message text. Each error accepts an ES2022 `cause`.
 *
 * @example
 * ```ts
 * try {
 *   await node.propose(cmd);
 * } catch (err) {
 *   if (err instanceof NotLeaderError) retryOn(err.leaderHint);
 * }
 * ```
 */
export abstract class SynodError extends Error {
  /** A stable, machine-readable error code. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown when an operation needs the leader and this node is not it. */
export class NotLeaderError extends SynodError {
  readonly code = 'NOT_LEADER';
  /** The node this node believes is leader, if it knows one. */
  readonly leaderHint: string | undefined;

  constructor(leaderHint: string | undefined, options?: { cause?: unknown }) {
    super(
      leaderHint === undefined ? 'not the leader; leader unknown' : `not the leader; try ${leaderHint}`,
      options,
    );
    this.leaderHint = leaderHint;
  }
}

/**
 * Thrown when an operation did not finish within its deadline, or when a
 * follower lost the leader it forwarded a proposal to before the answer
 * came. Its outcome is unknown: retry with the same session.
 */
export class TimeoutError extends SynodError {
  readonly code = 'TIMEOUT';
  constructor(message = 'operation timed out', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when the caller's AbortSignal fired. The operation's outcome may be unknown. */
export class AbortError extends SynodError {
  readonly code = 'ABORTED';
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown by every call on, and every pending call of, a node that has been stopped. */
export class StoppedError extends SynodError {
  readonly code = 'STOPPED';
  constructor(message = 'node stopped', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by a call on a node that has not been started yet: it cannot know
 * a leader, and it persists nothing until its loop runs. Call `start()` first.
 */
export class NotStartedError extends SynodError {
  readonly code = 'NOT_STARTED';
  constructor(message = 'node not started; call start() first', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when a proposal was definitely not committed: it was dropped (for
 * example because leadership changed before it was appended, or a transfer is
 * in progress). It is safe to retry.
 */
export class ProposalDroppedError extends SynodError {
  readonly code = 'PROPOSAL_DROPPED';
  constructor(message = 'proposal dropped', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when an operation needs a node to be a voter and it is not: a
 * learner or a node outside the configuration cannot campaign, and
 * leadership cannot be handed to one.
 */
export class NotVoterError extends SynodError {
  readonly code = 'NOT_VOTER';
  constructor(
    /** The node that is not a voter. */
    readonly node: string,
    options?: { cause?: unknown },
  ) {
    super(`${node} is not a voter`, options);
  }
}

/** Thrown when an argument or configuration value is invalid. */
export class InvalidArgumentError extends SynodError {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a message exceeds a transport's or protocol's size limit. */
export class MessageTooLargeError extends SynodError {
  readonly code = 'MESSAGE_TOO_LARGE';
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
    options?: { cause?: unknown },
  ) {
    super(`message of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`, options);
  }
}

/** Thrown when using a transport that has been closed. */
export class TransportClosedError extends SynodError {
  readonly code = 'TRANSPORT_CLOSED';
  constructor(message = 'transport closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when a bounded queue or in-flight limit is full; retry later. */
export class BusyError extends SynodError {
  readonly code = 'BUSY';
  constructor(message = 'too many pending operations', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when a Raft safety invariant would be broken: a request to
 * truncate committed entries, or to commit past the end of the log. Either
 * means the log was corrupted, truncated or lost, or a peer is buggy; going
 * on could lose committed data. It is fatal: `RaftNode` reports it through
 * its `error` event and stops (etcd panics in the same places).
 */
export class RaftInvariantError extends SynodError {
  readonly code = 'RAFT_INVARIANT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Thrown when stored data fails validation (checksum, version, structure). */
export class CorruptionError extends SynodError {
  readonly code = 'CORRUPTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
