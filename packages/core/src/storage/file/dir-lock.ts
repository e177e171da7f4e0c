import { join } from 'node:path';
import { StorageLockedError } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';

/**
 * Keeps one writer per data directory (internal).
 *
 * The lock is a file `LOCK` created with `O_EXCL` that holds the owner's id
 * ({@link FileSystem.lockOwnerId}: the pid on a real file system). When it
 * exists, the owner decides: a live one keeps it (→
 * {@link StorageLockedError}); a dead one left it behind after a crash, so
 * we take it over ({@link FileSystem.isLockOwnerAlive} tells which). Our own
 * id in the file is ambiguous (a second open in this process, or a dead
 * predecessor that had the same pid, which is common for pid 1 in
 * containers), so a registry of directories held in this process settles
 * that case. The registry is kept per file-system object: a simulated file
 * system stands for another machine, and the one a simulated crash returns
 * for a new process, which holds nothing yet.
 *
 * The check is advisory: it assumes every writer uses this lock and shares
 * the pid namespace.
 */

const held = new WeakMap<FileSystem, Set<string>>();
export const LOCK_FILE = 'LOCK';

function heldIn(fs: FileSystem): Set<string> {
  let set = held.get(fs);
  if (set === undefined) {
    set = new Set();
    held.set(fs, set);
  }
  return set;
}

export class DirectoryLock {
  #released = false;
  readonly #key: string;
  readonly #fs: FileSystem;
  readonly #owner: number;

  private constructor(
    readonly dir: string,
    fs: FileSystem,
    key: string,
    owner: number,
  ) {
    this.#fs = fs;
    this.#key = key;
    this.#owner = owner;
  }

  /** Takes the lock on `dir` (which must exist) or throws {@link StorageLockedError}. */
  static acquire(fs: FileSystem, dir: string): DirectoryLock {
    const key = fs.realpathSync(dir);
    const me = fs.lockOwnerId;
    const registry = heldIn(fs);
    if (registry.has(key)) throw new StorageLockedError(dir, me);
    const path = join(dir, LOCK_FILE);
    // Two attempts: the second follows the removal of a stale lock. If
    // another process wins that race it holds the lock and we report it.
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = fs.openSync(path, 'wx');
        try {
          const bytes = Buffer.from(`${me}\n`, 'latin1');
          fs.writeSync(fd, bytes, 0, bytes.length, null);
        } finally {
          fs.closeSync(fd);
        }
        registry.add(key);
        return new DirectoryLock(dir, fs, key, me);
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
        const owner = readOwner(fs, path);
        if (attempt > 0 || (owner !== undefined && owner !== me && fs.isLockOwnerAlive(owner))) {
          throw new StorageLockedError(dir, owner ?? -1, { cause: error });
        }
        removeIfPresent(fs, path);
      }
    }
  }

  /** Releases the lock. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldIn(this.#fs).delete(this.#key);
    // Only remove the file if it is still ours (it always should be).
    const path = join(this.dir, LOCK_FILE);
    if (readOwner(this.#fs, path) === this.#owner) removeIfPresent(this.#fs, path);
  }
}

function readOwner(fs: FileSystem, path: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path).toString('utf8').trim(), 10);
    // An empty or garbled file is what a crash between create and write leaves.
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function removeIfPresent(fs: FileSystem, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
