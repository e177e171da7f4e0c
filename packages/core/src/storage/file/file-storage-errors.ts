import { CorruptionError, SynodError } from '../../errors/errors.js';

/**
 * Errors raised by `FileStorage`. Code branches on the class (or `code`),
 * never on the message text.
 *
 * This one is thrown when stored data fails validation at a known place: a
 * checksum mismatch before the tail of the log, a missing or empty segment, a
 * wrong format version. Start-up stops rather than dropping data that may
 * have been acknowledged. It is a {@link CorruptionError}, so generic
 * handlers still catch it.
 *
 * @example
 * ```ts
 * try {
 *   const storage = await FileStorage.open('/var/lib/synod/n1');
 * } catch (err) {
 *   if (err instanceof StorageLockedError) console.error(`held by pid ${err.ownerPid}`);
 *   else if (err instanceof StorageCorruptionError) console.error(`${err.file} @ ${err.offset}`);
 *   else throw err;
 * }
 * ```
 */
export class StorageCorruptionError extends CorruptionError {
  constructor(
    /** The damaged file (or the data directory, when a file is missing). */
    readonly file: string,
    /** The byte offset in `file` where the damage starts. */
    readonly offset: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: at byte offset ${offset}: ${reason}`, options);
  }
}

/** Thrown when another process (or another `FileStorage` in this process) holds the data directory. */
export class StorageLockedError extends SynodError {
  readonly code = 'STORAGE_LOCKED';
  constructor(
    readonly dir: string,
    /** The pid written in the lock file; equal to `process.pid` when this process holds it. */
    readonly ownerPid: number,
    options?: { cause?: unknown },
  ) {
    super(
      ownerPid === process.pid
        ? `data directory ${dir} is already open in this process`
        : `data directory ${dir} is locked by running process ${ownerPid}`,
      options,
    );
  }
}

/** Thrown by writes (and by reads that need the disk) on a `FileStorage` that was closed. */
export class StorageClosedError extends SynodError {
  readonly code = 'STORAGE_CLOSED';
  constructor(message = 'storage closed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by every call after a write or fdatasync failed. After a failed
 * fsync the kernel may have dropped the dirty pages, so retrying could
 * report data durable that is not; the storage fails stop instead and must
 * be reopened (which re-reads what actually reached the disk).
 */
export class StorageFailedError extends SynodError {
  readonly code = 'STORAGE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
