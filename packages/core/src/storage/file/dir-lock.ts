import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StorageLockedError } from './file-storage-errors.js';

/**
 * Keeps one writer per data directory (internal).
 *
 * The lock is a file `LOCK` created with `O_EXCL` that holds the owner's pid.
 * When it exists, the pid decides: a live process keeps it (→
 * {@link StorageLockedError}); a dead one left it behind after a crash, so
 * we take it over. Our own pid in the file is ambiguous (a second open in
 * this process, or a dead predecessor that had the same pid, which is common
 * for pid 1 in containers), so a per-process registry of held directories
 * settles that case.
 *
 * The check is advisory: it assumes every writer uses this lock and shares
 * the pid namespace.
 */

const heldInThisProcess = new Set<string>();
export const LOCK_FILE = 'LOCK';

export class DirectoryLock {
  #released = false;
  readonly #key: string;

  private constructor(
    readonly dir: string,
    key: string,
  ) {
    this.#key = key;
  }

  /** Takes the lock on `dir` (which must exist) or throws {@link StorageLockedError}. */
  static acquire(dir: string): DirectoryLock {
    const key = realpathSync(dir);
    if (heldInThisProcess.has(key)) throw new StorageLockedError(dir, process.pid);
    const path = join(dir, LOCK_FILE);
    // Two attempts: the second follows the removal of a stale lock. If
    // another process wins that race it holds the lock and we report it.
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        heldInThisProcess.add(key);
        return new DirectoryLock(dir, key);
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
        const owner = readOwner(path);
        if (attempt > 0 || (owner !== undefined && owner !== process.pid && isAlive(owner))) {
          throw new StorageLockedError(dir, owner ?? -1, { cause: error });
        }
        removeIfPresent(path);
      }
    }
  }

  /** Releases the lock. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldInThisProcess.delete(this.#key);
    // Only remove the file if it is still ours (it always should be).
    if (readOwner(join(this.dir, LOCK_FILE)) === process.pid) removeIfPresent(join(this.dir, LOCK_FILE));
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    // An empty or garbled file is what a crash between create and write leaves.
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return isCode(error, 'EPERM');
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
