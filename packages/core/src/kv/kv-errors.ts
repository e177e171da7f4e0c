import { SynodError } from '../errors/errors.js';

/**
 * Thrown by {@link KvStateMachine.validate} (and so before proposing) when a
 * key, value or client id exceeds the store's configured size limits.
 */
export class KvLimitExceededError extends SynodError {
  readonly code = 'KV_LIMIT_EXCEEDED';

  constructor(
    /** Which limit was exceeded. */
    readonly limit: 'key' | 'value' | 'client-id',
    readonly sizeBytes: number,
    readonly limitBytes: number,
    options?: { cause?: unknown },
  ) {
    super(`${limit} of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`, options);
  }
}

/**
 * Thrown when a watch asks to start at a revision whose events have already
 * left the bounded watch history, and passed to `onCancel` when a running
 * watch falls behind the history (after a restore that skipped past it).
 */
export class WatchCompactedError extends SynodError {
  readonly code = 'WATCH_COMPACTED';

  constructor(
    /** The first revision the watcher needed. */
    readonly requestedRevision: number,
    /** The newest revision no longer in history; the earliest possible start is `compactRevision + 1`. */
    readonly compactRevision: number,
    options?: { cause?: unknown },
  ) {
    super(
      `revision ${requestedRevision} has been compacted; the earliest available is ${compactRevision + 1}`,
      options,
    );
  }
}
