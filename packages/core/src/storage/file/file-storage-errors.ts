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

/**
 * Thrown when the operating system refuses a file operation the storage
 * needs: a disk error (`EIO`), a read-only file system (`EROFS`), a file
 * that vanished or never existed (`ENOENT`), a directory where a file should
 * be (`EISDIR`), and so on. `path` names the file and `errno` the system
 * error code; the original error is the `cause`. Errors while writing or
 * syncing an open storage are wrapped in {@link StorageFailedError} instead,
 * whose `cause` is one of these.
 *
 * @example
 * ```ts
 * try {
 *   await FileStorage.open(dataDir);
 * } catch (err) {
 *   if (err instanceof StorageIoError && err.errno === 'EROFS') console.error(`${err.path} is read-only`);
 *   else throw err;
 * }
 * ```
 */
export class StorageIoError extends SynodError {
  readonly code = 'STORAGE_IO';
  constructor(
    /** What the storage was doing, for example `reading segment`. */
    readonly operation: string,
    /** The file or directory the operation was on. */
    readonly path: string,
    /** The system error code (`EIO`, `EROFS`, …), or `UNKNOWN` when the cause had none. */
    readonly errno: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${path} failed: ${errno}${describeCause(options?.cause)}`, options);
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return '';
  const syscall = (cause as NodeJS.ErrnoException).syscall;
  return syscall === undefined ? '' : ` (${syscall})`;
}

/** The `code` of a system error, or undefined when `error` is not one. */
export function errnoOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Runs a file-system call and turns a system error into a
 * {@link StorageIoError} naming `path`; typed storage errors pass through.
 */
export function withIo<T>(operation: string, path: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof SynodError) throw error;
    throw new StorageIoError(operation, path, errnoOf(error) ?? 'UNKNOWN', { cause: error });
  }
}
