import { SynodError } from '../errors/errors.js';

/**
 * Errors raised by `Storage` implementations. The Raft core catches the two
 * bounds errors and reacts (for example by sending a snapshot when a
 * follower needs compacted entries), so they are distinct classes rather
 * than message strings.
 */

/** Thrown when the requested index was discarded by compaction or replaced by a snapshot. */
export class CompactedError extends SynodError {
  readonly code = 'LOG_COMPACTED';
  constructor(
    readonly index: number,
    options?: { cause?: unknown },
  ) {
    super(`log index ${index} has been compacted`, options);
  }
}

/** Thrown when the requested index is past the last entry in storage. */
export class UnavailableError extends SynodError {
  readonly code = 'LOG_UNAVAILABLE';
  constructor(
    readonly index: number,
    options?: { cause?: unknown },
  ) {
    super(`log index ${index} is not available yet`, options);
  }
}

/** Thrown when applying or creating a snapshot older than the one already held. */
export class SnapshotOutOfDateError extends SynodError {
  readonly code = 'SNAPSHOT_OUT_OF_DATE';
  constructor(
    readonly index: number,
    readonly currentIndex: number,
    options?: { cause?: unknown },
  ) {
    super(`snapshot at index ${index} is not newer than the current snapshot at ${currentIndex}`, options);
  }
}
