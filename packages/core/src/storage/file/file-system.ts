import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  linkSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

/**
 * The file-system operations {@link FileStorage} uses, and nothing more.
 *
 * The default, {@link nodeFileSystem}, calls `node:fs`. Another
 * implementation lets the same storage code, recovery included, run on a
 * disk that a test controls: `@synod/testkit`'s simulator uses an in-memory
 * one that models which bytes an `fdatasync` made durable, so a simulated
 * power failure tears the log the way a real one would.
 *
 * The methods mirror their `node:fs` namesakes (`openSync`, `readSync`, …)
 * and must report failures the same way: throw an `Error` whose `code` is
 * the errno name (`ENOENT`, `EEXIST`, …). Paths are whatever the caller
 * passed to {@link FileStorage.open}, joined with `/`.
 *
 * Durability contract the storage relies on:
 * - `fdatasyncSync`/`fdatasync`/`fsyncSync` make the data of that one file
 *   durable (its size included);
 * - creating, renaming and unlinking a directory entry is durable only after
 *   {@link FileSystem.fsyncDirectorySync} of the directory holding it;
 * - anything not yet durable may be lost on a crash, in part: a file may keep
 *   any prefix of the bytes written since its last sync.
 *
 * @example
 * ```ts
 * // Count group-commit fdatasyncs while delegating to the real file system.
 * let syncs = 0;
 * const counting: FileSystem = {
 *   ...nodeFileSystem,
 *   fdatasync(fd) {
 *     syncs++;
 *     return nodeFileSystem.fdatasync(fd);
 *   },
 * };
 * const storage = await FileStorage.open(dir, { fileSystem: counting });
 * ```
 */
export interface FileSystem {
  /**
   * Opens a file and returns its descriptor. Flags as for `fs.openSync`:
   * `r` read, `r+` read/write, `w` create or truncate for writing, `wx`
   * create exclusively for writing (throws `EEXIST`), `wx+` the same for
   * reading and writing.
   */
  openSync(path: string, flags: FileOpenFlags): number;
  /** Reads up to `length` bytes at `position` into `buffer[offset…]`; returns how many were read (0 at the end). */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /**
   * Writes `buffer[offset…offset+length)` at `position` (at the file position,
   * which then advances, when `position` is null); returns the bytes written.
   */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  /** The current size of the open file. */
  fstatSync(fd: number): { readonly size: number };
  /** Cuts or extends the open file to `length` bytes. */
  ftruncateSync(fd: number, length: number): void;
  /** Makes the file's data durable. */
  fdatasyncSync(fd: number): void;
  /** Makes the file's data durable; the group-commit path, so it must not block the event loop. */
  fdatasync(fd: number): Promise<void>;
  /** Makes the file's data and metadata durable. */
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  unlinkSync(path: string): void;
  /** Creates `path` and any missing parents; returns the first directory it created, or undefined if none. */
  mkdirSync(path: string, options: { readonly recursive: true }): string | undefined;
  /** The names in a directory, in no particular order. */
  readdirSync(path: string): string[];
  /** The whole content of a file. */
  readFileSync(path: string): Buffer;
  renameSync(from: string, to: string): void;
  /**
   * Creates `to` as a second name for the file `from`; throws `EEXIST` when
   * `to` exists. The directory lock relies on this being atomic: the new
   * name appears with the file's complete content, or not at all.
   */
  linkSync(from: string, to: string): void;
  /** The canonical path (symbolic links resolved): two opens of the same directory get the same one. */
  realpathSync(path: string): string;
  /** Makes the entries created, renamed or removed in directory `path` durable. */
  fsyncDirectorySync(path: string): void;
  /**
   * The id the data-directory lock records as its owner: the process id for
   * the real file system.
   */
  readonly lockOwnerId: number;
  /**
   * Whether the owner recorded in a `LOCK` file can still be using the
   * directory. False means it died, so the lock is stale and is taken over.
   * The real file system asks the operating system whether that process
   * exists; a simulated one answers for its simulated processes.
   */
  isLockOwnerAlive(ownerId: number): boolean;
}

/** Open flags used by {@link FileStorage}; see {@link FileSystem.openSync}. */
export type FileOpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'wx+';

/**
 * {@link FileSystem} over `node:fs`: the default of {@link FileStorage.open}.
 * One shared object, so that the lock's in-process registry (which is kept
 * per file-system object) sees every storage opened with the default.
 */
export const nodeFileSystem: FileSystem = Object.freeze({
  openSync: (path: string, flags: FileOpenFlags) => openSync(path, flags),
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    readSync(fd, buffer, offset, length, position),
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) =>
    writeSync(fd, buffer, offset, length, position),
  fstatSync: (fd: number) => fstatSync(fd),
  ftruncateSync: (fd: number, length: number) => ftruncateSync(fd, length),
  fdatasyncSync: (fd: number) => fdatasyncSync(fd),
  fdatasync: (fd: number) =>
    new Promise<void>((resolve, reject) => {
      fdatasync(fd, (error) => (error === null ? resolve() : reject(error)));
    }),
  fsyncSync: (fd: number) => fsyncSync(fd),
  closeSync: (fd: number) => closeSync(fd),
  unlinkSync: (path: string) => unlinkSync(path),
  mkdirSync: (path: string, options: { readonly recursive: true }) => mkdirSync(path, options),
  readdirSync: (path: string) => readdirSync(path),
  readFileSync: (path: string) => readFileSync(path),
  renameSync: (from: string, to: string) => renameSync(from, to),
  linkSync: (from: string, to: string) => linkSync(from, to),
  realpathSync: (path: string) => realpathSync(path),
  fsyncDirectorySync: (path: string) => {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
  get lockOwnerId() {
    return process.pid;
  },
  isLockOwnerAlive: (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      // EPERM: the process exists but belongs to someone else.
      return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
});
