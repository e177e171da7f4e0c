import { join } from 'node:path';
import { errnoOf, StorageLockedError, withIo } from './file-storage-errors.js';
import type { FileSystem } from './file-system.js';

/**
 * Keeps one writer per data directory (internal).
 *
 * **Lock files.** The lock is a file `LOCK-<generation>` (16 hex digits)
 * holding its owner's id ({@link FileSystem.lockOwnerId}: the pid on a real
 * file system), or `released`. The one with the highest generation is the
 * lock; the owner of a live one keeps the directory (→
 * {@link StorageLockedError}). To take the directory, an opener that finds
 * the newest lock released or its owner dead ({@link
 * FileSystem.isLockOwnerAlive}: a crash left it behind) creates the next
 * generation, and wins only if it is still the newest once created.
 *
 * **Why that is atomic.** A name is never reused while the lock it stood for
 * matters: a generation is created once, by a hard link of a file that
 * already holds the owner's id (so nobody can read a half-written lock and
 * think its owner dead), which fails if the name exists; a release rewrites
 * the file as `released` rather than deleting it; and a winner deletes only
 * generations below its own. So the newest generation only ever grows, two
 * openers that judged the same lock stale race for the same name and one of
 * them gets `EEXIST`, and one whose name was freed by a later takeover sees
 * that later generation when it checks again. Deleting the stale lock and
 * creating a new one under the same name, as a single `LOCK` file would need,
 * lets a slow opener delete the lock a faster one had just taken.
 *
 * **Same id.** Our own id in the lock is ambiguous (a second open in this
 * process, or a dead predecessor that had the same pid, which is common for
 * pid 1 in containers), so a registry of directories held in this process
 * settles that case. The registry is kept per file-system object: a
 * simulated file system stands for another machine, and the one a simulated
 * crash returns for a new process, which holds nothing yet.
 *
 * The check is advisory: it assumes every writer uses this lock and shares
 * the pid namespace.
 */

const held = new WeakMap<FileSystem, Set<string>>();
const LOCK_NAME = /^LOCK-([0-9a-f]{16})$/;
const TEMP_NAME = /^LOCK-tmp-(\d+)-\d+$/;
const RELEASED = 'released';
let tempCounter = 0;

/** The lock file of generation `generation`. */
export function lockFileName(generation: number): string {
  return `LOCK-${generation.toString(16).padStart(16, '0')}`;
}

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
  readonly #generation: number;

  private constructor(
    readonly dir: string,
    fs: FileSystem,
    key: string,
    generation: number,
  ) {
    this.#fs = fs;
    this.#key = key;
    this.#generation = generation;
  }

  /** Takes the lock on `dir` (which must exist) or throws {@link StorageLockedError}. */
  static acquire(fs: FileSystem, dir: string): DirectoryLock {
    const key = withIo('resolving', dir, () => fs.realpathSync(dir));
    const me = fs.lockOwnerId;
    const registry = heldIn(fs);
    if (registry.has(key)) throw new StorageLockedError(dir, me);
    // A few attempts: each failed one means another opener created the
    // generation we wanted, and the next look tells whether it is alive.
    for (let attempt = 0; attempt < 4; attempt++) {
      const newest = newestLock(fs, dir);
      if (newest !== undefined && newest.owner !== undefined) {
        const owner = newest.owner;
        // Our own id, but not held by this process (checked above): a dead
        // predecessor with the same pid.
        if (owner !== me && fs.isLockOwnerAlive(owner)) throw new StorageLockedError(dir, owner);
      }
      const generation = (newest?.generation ?? 0) + 1;
      if (!createLock(fs, dir, generation, me)) continue;
      const after = newestLock(fs, dir);
      if (after !== undefined && after.generation > generation) {
        // A later takeover got in while we decided; it holds the directory.
        // Nobody can take our file for the newest lock, so it just goes.
        removeIfPresent(fs, join(dir, lockFileName(generation)));
        throw new StorageLockedError(dir, after.owner ?? -1);
      }
      registry.add(key);
      removeOlderLocks(fs, dir, generation);
      return new DirectoryLock(dir, fs, key, generation);
    }
    const newest = newestLock(fs, dir);
    throw new StorageLockedError(dir, newest?.owner ?? -1);
  }

  /** Releases the lock. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    heldIn(this.#fs).delete(this.#key);
    const name = lockFileName(this.#generation);
    // Rewritten, not deleted: the name must not be taken again (see above).
    // A later generation means ours was taken over already; leave it alone.
    const newest = newestLock(this.#fs, this.dir, false);
    if (newest?.generation !== this.#generation) return;
    try {
      writeWhole(this.#fs, join(this.dir, `${name}.released`), RELEASED);
      this.#fs.renameSync(join(this.dir, `${name}.released`), join(this.dir, name));
    } catch {
      // Best effort: an unreleased lock of a process that exits is stale anyway.
    }
  }
}

interface LockFile {
  readonly generation: number;
  /** The owner's id; undefined when released or unreadable (either way nobody holds it). */
  readonly owner: number | undefined;
}

function newestLock(fs: FileSystem, dir: string, typed = true): LockFile | undefined {
  const list = (): string[] => fs.readdirSync(dir);
  let generation = 0;
  for (const name of typed ? withIo('listing', dir, list) : list()) {
    const match = LOCK_NAME.exec(name);
    if (match !== null) generation = Math.max(generation, Number.parseInt(match[1]!, 16));
  }
  if (generation === 0) return undefined;
  return { generation, owner: readOwner(fs, join(dir, lockFileName(generation))) };
}

/** Creates generation `generation` holding `me`; false when it exists already. */
function createLock(fs: FileSystem, dir: string, generation: number, me: number): boolean {
  const temp = join(dir, `LOCK-tmp-${me}-${tempCounter++}`);
  const target = join(dir, lockFileName(generation));
  withIo('writing', temp, () => writeWhole(fs, temp, `${me}\n`));
  try {
    fs.linkSync(temp, target);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw withIo('creating', target, () => {
      throw error;
    });
  } finally {
    removeIfPresent(fs, temp);
  }
}

/** Deletes lock generations below ours and temp files of dead openers. */
function removeOlderLocks(fs: FileSystem, dir: string, generation: number): void {
  try {
    for (const name of fs.readdirSync(dir)) {
      const lock = LOCK_NAME.exec(name);
      if (lock !== null && Number.parseInt(lock[1]!, 16) < generation) removeIfPresent(fs, join(dir, name));
      const temp = TEMP_NAME.exec(name);
      if (temp !== null && !fs.isLockOwnerAlive(Number(temp[1]))) removeIfPresent(fs, join(dir, name));
    }
  } catch {
    // Tidying only: leftovers are ignored by the next opener.
  }
}

function writeWhole(fs: FileSystem, path: string, text: string): void {
  const fd = fs.openSync(path, 'w');
  try {
    const bytes = Buffer.from(text, 'latin1');
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, null);
  } finally {
    fs.closeSync(fd);
  }
}

function readOwner(fs: FileSystem, path: string): number | undefined {
  try {
    const text = fs.readFileSync(path).toString('utf8').trim();
    const pid = Number.parseInt(text, 10);
    return String(pid) === text && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function removeIfPresent(fs: FileSystem, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
}
