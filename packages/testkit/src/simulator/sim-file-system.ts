import { posix } from 'node:path';
import type { FileOpenFlags, FileSystem, Random } from '@synod/core';

/** Options for {@link SimFileSystem}. */
export interface SimFileSystemOptions {
  /**
   * Model a disk whose syncs lie: `fdatasync`, `fsync` and directory syncs
   * return without making anything durable, so a crash may lose anything.
   * Nothing stored on such a disk is safe; this exists to check that the
   * simulator notices.
   * @default false
   */
  readonly lyingSync?: boolean;
  /**
   * When a crash tears a write, sometimes keep its length but not its
   * bytes: the rest of that write reads as zeros, as on a file system that
   * made the new file size durable before the data.
   * @default true
   */
  readonly zeroFilledTails?: boolean;
  /**
   * Schedules the end of an asynchronous `fdatasync`: the writes made
   * before the call become durable, and the promise resolves, when
   * `complete` is called. A simulator passes a timer on its virtual clock,
   * so that a crash can land while a group commit is on its way to the disk
   * (and tear it). Without it the data is durable at the call and the
   * promise resolves on a microtask.
   */
  readonly scheduleSync?: (complete: () => void) => void;
}

/** Counters, for tests. */
export interface SimFileSystemStats {
  /** fdatasync/fsync calls on files. */
  readonly fileSyncs: number;
  /** fsync calls on directories. */
  readonly directorySyncs: number;
  /** Bytes handed to `writeSync`. */
  readonly bytesWritten: number;
}

/** What the last {@link SimFileSystem.crash} did to the disk, for tests and reports. */
export interface SimCrashReport {
  /** Files that kept only part of their unsynced writes, cut inside a write. */
  readonly tornFiles: number;
  /** Of those, the ones whose torn write reads as zeros past the cut. */
  readonly zeroFilledFiles: number;
  /** Unsynced bytes that did not survive. */
  readonly bytesLost: number;
  /** Directory changes (create, rename, unlink) that did not survive. */
  readonly entriesLost: number;
}

/** A growable byte array. */
class Bytes {
  #buf: Uint8Array;
  length = 0;

  constructor(initial?: Uint8Array) {
    this.#buf = new Uint8Array(Math.max(64, initial?.length ?? 0));
    if (initial !== undefined) {
      this.#buf.set(initial);
      this.length = initial.length;
    }
  }

  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  copy(): Bytes {
    return new Bytes(this.view());
  }

  write(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    this.#ensure(end);
    // Writing past the end leaves a hole that reads as zeros.
    if (position > this.length) this.#buf.fill(0, this.length, position);
    this.#buf.set(bytes, position);
    if (end > this.length) this.length = end;
  }

  truncate(length: number): void {
    if (length > this.length) {
      this.#ensure(length);
      this.#buf.fill(0, this.length, length);
    }
    this.length = length;
  }

  #ensure(capacity: number): void {
    if (capacity <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.#buf.length * 2));
    grown.set(this.view());
    this.#buf = grown;
  }
}

/** A change to a file's data that is not durable yet. */
type DataChange = { readonly seq: number } & (
  | { readonly kind: 'write'; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: 'truncate'; readonly length: number }
);

/** A change to a directory's entries that is not durable yet. */
type EntryChange =
  | { readonly kind: 'link'; readonly name: string; readonly node: Node }
  | { readonly kind: 'unlink'; readonly name: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string };

class FileNode {
  readonly kind = 'file';
  /** What reads see: the page cache. */
  readonly live: Bytes;
  /** What a crash keeps for certain. */
  readonly durable: Bytes;
  /** Changes not yet durable, oldest first: `durable` plus all of them is `live`. */
  pending: DataChange[] = [];
  /** Numbers the changes, so that a sync covers exactly those made before it started. */
  seq = 0;

  constructor(content?: Uint8Array) {
    this.live = new Bytes(content);
    this.durable = new Bytes(content);
  }

  write(position: number, bytes: Uint8Array): void {
    this.live.write(position, bytes);
    // A copy: callers reuse their buffers (and Buffer#slice would not copy).
    this.pending.push({ seq: ++this.seq, kind: 'write', position, bytes: new Uint8Array(bytes) });
  }

  truncate(length: number): void {
    this.live.truncate(length);
    this.pending.push({ seq: ++this.seq, kind: 'truncate', length });
  }

  /** Makes the changes up to number `upTo` durable. */
  sync(upTo = this.seq): void {
    let k = 0;
    while (k < this.pending.length && this.pending[k]!.seq <= upTo) apply(this.durable, this.pending[k++]!);
    this.pending = k === this.pending.length ? [] : this.pending.slice(k);
  }
}

class DirNode {
  readonly kind = 'dir';
  readonly live: Map<string, Node>;
  durable: Map<string, Node>;
  pending: EntryChange[] = [];

  constructor(entries = new Map<string, Node>()) {
    this.live = entries;
    this.durable = new Map(entries);
  }

  change(change: EntryChange): void {
    applyEntryChange(this.live, change);
    this.pending.push(change);
  }

  sync(): void {
    this.durable = new Map(this.live);
    this.pending = [];
  }
}

type Node = FileNode | DirNode;

interface OpenFile {
  readonly node: FileNode;
  readonly readable: boolean;
  readonly writable: boolean;
  position: number;
}

function apply(bytes: Bytes, change: DataChange): void {
  if (change.kind === 'write') bytes.write(change.position, change.bytes);
  else bytes.truncate(change.length);
}

function applyEntryChange(entries: Map<string, Node>, change: EntryChange): void {
  switch (change.kind) {
    case 'link':
      entries.set(change.name, change.node);
      break;
    case 'unlink':
      entries.delete(change.name);
      break;
    case 'rename': {
      const node = entries.get(change.from);
      entries.delete(change.from);
      if (node !== undefined) entries.set(change.to, node);
      break;
    }
  }
}

/** An `Error` shaped like the ones `node:fs` throws, with the errno name in `code`. */
function fsError(code: string, syscall: string, path?: string): Error {
  const error = new Error(`${code}: simulated ${syscall}${path === undefined ? '' : ` '${path}'`}`);
  return Object.assign(error, { code, syscall, ...(path === undefined ? {} : { path }) });
}

/**
 * An in-memory {@link FileSystem} that models durability the way the
 * storage code has to assume a real disk behaves, so that a simulated power
 * failure loses exactly what a real one may lose:
 *
 * - Every file has durable bytes and page-cache bytes. Reads see the page
 *   cache. `fdatasync`/`fsync` of a file make its whole content durable.
 * - Creating, renaming and unlinking a directory entry (files and
 *   directories alike) is durable only after the directory holding it is
 *   fsynced ({@link FileSystem.fsyncDirectorySync}). Syncing a file does not
 *   make its name durable.
 * - {@link SimFileSystem.crash} returns the disk a restarted machine sees.
 *   Each file keeps its durable bytes plus a random prefix of the writes
 *   made since its last sync, cut at any byte, so a log record can be torn
 *   anywhere; sometimes the rest of the torn write reads as zeros (see
 *   {@link SimFileSystemOptions.zeroFilledTails}). Each directory keeps its
 *   durable entries plus a random prefix of its unsynced changes, in order,
 *   as a journaling file system commits them.
 *
 * Every operation is synchronous (the one asynchronous one, `fdatasync`,
 * resolves on a microtask, or when the simulator's
 * {@link SimFileSystemOptions.scheduleSync} says), and all randomness comes
 * from the `Random` passed to `crash`, so simulations that use it stay
 * deterministic.
 *
 * Each instance stands for one machine and the process running on it:
 * {@link FileSystem.lockOwnerId} names that process, and only it is alive,
 * so a `LOCK` left by the process before a crash is stale to the next one.
 *
 * Renames must stay within one directory (FileStorage needs no other kind).
 *
 * @example
 * ```ts
 * const disk = new SimFileSystem();
 * const storage = await FileStorage.open('/n1', { fileSystem: disk });
 * storage.append(entries);
 * // a power failure before sync():
 * const after = disk.crash(new SeededRandom(7));
 * const recovered = await FileStorage.open('/n1', { fileSystem: after }); // torn tail cut off
 * ```
 */
export class SimFileSystem implements FileSystem {
  #owner = 1;
  #root = new DirNode();
  readonly #options: SimFileSystemOptions;
  readonly #fds = new Map<number, OpenFile>();
  #nextFd = 3;
  #fileSyncs = 0;
  #directorySyncs = 0;
  #bytesWritten = 0;
  #lastCrash: SimCrashReport = { tornFiles: 0, zeroFilledFiles: 0, bytesLost: 0, entriesLost: 0 };

  /** An empty disk: only `/` exists. */
  constructor(options: SimFileSystemOptions = {}) {
    this.#options = options;
  }

  /** The simulated process using this disk: 1 at first, one more after every crash. */
  get lockOwnerId(): number {
    return this.#owner;
  }

  /** Only the process of this instance is alive; earlier ones died in crashes. */
  isLockOwnerAlive(ownerId: number): boolean {
    return ownerId === this.lockOwnerId;
  }

  stats(): SimFileSystemStats {
    return { fileSyncs: this.#fileSyncs, directorySyncs: this.#directorySyncs, bytesWritten: this.#bytesWritten };
  }

  /** What the crash that produced this instance lost. */
  lastCrash(): SimCrashReport {
    return this.#lastCrash;
  }

  /**
   * A power failure now: returns the disk as the next process (with a new
   * {@link FileSystem.lockOwnerId}) finds it. This instance must not be used
   * afterwards; its open files belong to the process that died.
   */
  crash(random: Random): SimFileSystem {
    const zeroFill = this.#options.zeroFilledTails !== false;
    const copies = new Map<Node, Node>();
    let tornFiles = 0;
    let zeroFilledFiles = 0;
    let bytesLost = 0;
    let entriesLost = 0;

    const survivingFile = (file: FileNode): FileNode => {
      const bytes = file.durable.copy();
      const total = file.pending.reduce((sum, c) => sum + (c.kind === 'write' ? c.bytes.length : 1), 0);
      let keep = total === 0 ? 0 : cutPoint(random, total);
      bytesLost += total - keep;
      for (const change of file.pending) {
        if (keep === 0) break;
        if (change.kind === 'truncate') {
          apply(bytes, change);
          keep--;
        } else if (keep >= change.bytes.length) {
          apply(bytes, change);
          keep -= change.bytes.length;
        } else {
          // The write is torn: its first `keep` bytes made it to the disk.
          tornFiles++;
          if (zeroFill && random.int(4) === 0) {
            const torn = change.bytes.slice();
            torn.fill(0, keep);
            bytes.write(change.position, torn);
            zeroFilledFiles++;
          } else {
            bytes.write(change.position, change.bytes.subarray(0, keep));
          }
          keep = 0;
        }
      }
      return new FileNode(bytes.view());
    };

    const survivingDir = (dir: DirNode): DirNode => {
      const entries = new Map(dir.durable);
      const keep = dir.pending.length === 0 ? 0 : cutPoint(random, dir.pending.length);
      entriesLost += dir.pending.length - keep;
      for (const change of dir.pending.slice(0, keep)) applyEntryChange(entries, change);
      const copy = new DirNode();
      copies.set(dir, copy);
      for (const [name, node] of entries) copy.live.set(name, surviving(node));
      copy.sync();
      return copy;
    };

    const surviving = (node: Node): Node => {
      const known = copies.get(node);
      if (known !== undefined) return known;
      if (node.kind === 'dir') return survivingDir(node);
      const copy = survivingFile(node);
      copies.set(node, copy);
      return copy;
    };

    const next = new SimFileSystem(this.#options);
    next.#root = survivingDir(this.#root);
    next.#owner = this.#owner + 1;
    next.#lastCrash = { tornFiles, zeroFilledFiles, bytesLost, entriesLost };
    return next;
  }

  openSync(path: string, flags: FileOpenFlags): number {
    const { parent, name, node } = this.#lookup(path, 'open');
    if (node?.kind === 'dir') throw fsError('EISDIR', 'open', path);
    let file: FileNode;
    if (flags === 'r' || flags === 'r+') {
      if (node === undefined) throw fsError('ENOENT', 'open', path);
      file = node;
    } else if (flags === 'wx' || flags === 'wx+') {
      if (node !== undefined) throw fsError('EEXIST', 'open', path);
      file = new FileNode();
      parent.change({ kind: 'link', name, node: file });
    } else if (node === undefined) {
      file = new FileNode();
      parent.change({ kind: 'link', name, node: file });
    } else {
      file = node;
      if (file.live.length > 0) file.truncate(0);
    }
    const fd = this.#nextFd++;
    this.#fds.set(fd, { node: file, readable: flags === 'r' || flags.endsWith('+'), writable: flags !== 'r', position: 0 });
    return fd;
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const open = this.#fd(fd, 'read');
    if (!open.readable) throw fsError('EBADF', 'read');
    const content = open.node.live.view();
    const n = Math.max(0, Math.min(length, content.length - position));
    buffer.set(content.subarray(position, position + n), offset);
    return n;
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const open = this.#fd(fd, 'write');
    if (!open.writable) throw fsError('EBADF', 'write');
    const at = position ?? open.position;
    open.node.write(at, buffer.subarray(offset, offset + length));
    if (position === null) open.position = at + length;
    this.#bytesWritten += length;
    return length;
  }

  fstatSync(fd: number): { readonly size: number } {
    return { size: this.#fd(fd, 'fstat').node.live.length };
  }

  ftruncateSync(fd: number, length: number): void {
    const open = this.#fd(fd, 'ftruncate');
    if (!open.writable) throw fsError('EINVAL', 'ftruncate');
    open.node.truncate(length);
  }

  fdatasyncSync(fd: number): void {
    this.#syncFile(this.#fd(fd, 'fdatasync').node);
  }

  fdatasync(fd: number): Promise<void> {
    let file: FileNode;
    try {
      file = this.#fd(fd, 'fdatasync').node;
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const schedule = this.#options.scheduleSync;
    if (schedule === undefined) {
      this.#syncFile(file);
      return Promise.resolve();
    }
    const upTo = file.seq;
    return new Promise((resolve) => {
      schedule(() => {
        this.#syncFile(file, upTo);
        resolve();
      });
    });
  }

  fsyncSync(fd: number): void {
    this.#syncFile(this.#fd(fd, 'fsync').node);
  }

  closeSync(fd: number): void {
    this.#fd(fd, 'close');
    this.#fds.delete(fd);
  }

  unlinkSync(path: string): void {
    const { parent, name, node } = this.#lookup(path, 'unlink');
    if (node === undefined) throw fsError('ENOENT', 'unlink', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    parent.change({ kind: 'unlink', name });
  }

  mkdirSync(path: string, options: { readonly recursive: true }): string | undefined {
    if (options.recursive !== true) throw fsError('EINVAL', 'mkdir', path);
    let dir = this.#root;
    let at = '/';
    let first: string | undefined;
    for (const part of parts(path)) {
      at = posix.join(at, part);
      const node = dir.live.get(part);
      if (node === undefined) {
        const created = new DirNode();
        dir.change({ kind: 'link', name: part, node: created });
        first ??= at;
        dir = created;
      } else if (node.kind === 'dir') {
        dir = node;
      } else {
        throw fsError('ENOTDIR', 'mkdir', path);
      }
    }
    return first;
  }

  readdirSync(path: string): string[] {
    return [...this.#directory(path, 'scandir').live.keys()];
  }

  readFileSync(path: string): Buffer {
    const { node } = this.#lookup(path, 'open');
    if (node === undefined) throw fsError('ENOENT', 'open', path);
    if (node.kind === 'dir') throw fsError('EISDIR', 'read', path);
    return Buffer.from(node.live.view());
  }

  renameSync(from: string, to: string): void {
    const source = this.#lookup(from, 'rename');
    const target = this.#lookup(to, 'rename');
    if (source.node === undefined) throw fsError('ENOENT', 'rename', from);
    if (source.parent !== target.parent) throw fsError('EXDEV', 'rename', to);
    if (target.node?.kind === 'dir' || source.node.kind === 'dir') throw fsError('EISDIR', 'rename', to);
    if (source.name === target.name) return;
    source.parent.change({ kind: 'rename', from: source.name, to: target.name });
  }

  linkSync(from: string, to: string): void {
    const source = this.#lookup(from, 'link');
    const target = this.#lookup(to, 'link');
    if (source.node === undefined) throw fsError('ENOENT', 'link', from);
    if (source.node.kind === 'dir') throw fsError('EPERM', 'link', from);
    if (target.node !== undefined) throw fsError('EEXIST', 'link', to);
    target.parent.change({ kind: 'link', name: target.name, node: source.node });
  }

  realpathSync(path: string): string {
    const { node } = this.#lookup(path, 'realpath');
    if (node === undefined) throw fsError('ENOENT', 'realpath', path);
    return posix.resolve('/', path);
  }

  fsyncDirectorySync(path: string): void {
    const dir = this.#directory(path, 'fsync');
    if (this.#options.lyingSync === true) return;
    this.#directorySyncs++;
    dir.sync();
  }

  /** True when `path` names a file or directory (a convenience for tests). */
  exists(path: string): boolean {
    try {
      return this.#lookup(path, 'stat').node !== undefined;
    } catch {
      return false;
    }
  }

  #syncFile(file: FileNode, upTo?: number): void {
    if (this.#options.lyingSync === true) return;
    this.#fileSyncs++;
    file.sync(upTo);
  }

  #fd(fd: number, syscall: string): OpenFile {
    const open = this.#fds.get(fd);
    if (open === undefined) throw fsError('EBADF', syscall);
    return open;
  }

  #directory(path: string, syscall: string): DirNode {
    if (parts(path).length === 0) return this.#root;
    const { node } = this.#lookup(path, syscall);
    if (node === undefined) throw fsError('ENOENT', syscall, path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
    return node;
  }

  /** The directory that holds `path`, the last name in it and what that name is now, if anything. */
  #lookup(path: string, syscall: string): { parent: DirNode; name: string; node: Node | undefined } {
    const names = parts(path);
    const name = names.pop();
    if (name === undefined) throw fsError('EISDIR', syscall, path);
    let dir = this.#root;
    for (const part of names) {
      const next = dir.live.get(part);
      if (next === undefined) throw fsError('ENOENT', syscall, path);
      if (next.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
      dir = next;
    }
    return { parent: dir, name, node: dir.live.get(name) };
  }
}

function parts(path: string): string[] {
  return posix
    .resolve('/', path)
    .split('/')
    .filter((p) => p.length > 0);
}

/**
 * How much of `total` unsynced units survive: sometimes none, sometimes all
 * (as when only the process died, or the disk had written everything),
 * otherwise a uniformly random cut.
 */
function cutPoint(random: Random, total: number): number {
  const r = random.next();
  if (r < 0.2) return 0;
  if (r < 0.4) return total;
  return random.int(total + 1);
}
