import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { lockFileName } from '../../../src/storage/file/dir-lock.js';
import { StorageLockedError } from '../../../src/storage/file/file-storage-errors.js';
import { nodeFileSystem, type FileOpenFlags, type FileSystem } from '../../../src/storage/file/file-system.js';
import { entriesFrom, plain, removeDir, tempDir } from './helpers.js';

/**
 * A file system that shows FileStorage the real directory `root` under the
 * made-up path `/virtual`: if any operation bypassed the injected file
 * system, it would look for `/virtual` on the real disk and fail.
 */
function rooted(root: string, calls: Map<string, number>, overrides: Partial<FileSystem> = {}): FileSystem {
  const real = (path: string): string => {
    if (!path.startsWith('/virtual')) throw new Error(`path outside the virtual root: ${path}`);
    return join(root, path.slice('/virtual'.length));
  };
  const counted =
    <A extends unknown[], R>(name: string, fn: (...args: A) => R) =>
    (...args: A): R => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return fn(...args);
    };
  const fs = nodeFileSystem;
  return {
    openSync: counted('openSync', (path: string, flags: FileOpenFlags) => fs.openSync(real(path), flags)),
    readSync: counted('readSync', fs.readSync),
    writeSync: counted('writeSync', fs.writeSync),
    fstatSync: counted('fstatSync', fs.fstatSync),
    ftruncateSync: counted('ftruncateSync', fs.ftruncateSync),
    fdatasyncSync: counted('fdatasyncSync', fs.fdatasyncSync),
    fdatasync: counted('fdatasync', fs.fdatasync),
    fsyncSync: counted('fsyncSync', fs.fsyncSync),
    closeSync: counted('closeSync', fs.closeSync),
    unlinkSync: counted('unlinkSync', (path: string) => fs.unlinkSync(real(path))),
    mkdirSync: counted('mkdirSync', (path: string, options: { readonly recursive: true }) => {
      const first = fs.mkdirSync(real(path), options);
      return first === undefined ? undefined : `/virtual${first.slice(root.length)}`;
    }),
    readdirSync: counted('readdirSync', (path: string) => fs.readdirSync(real(path))),
    readFileSync: counted('readFileSync', (path: string) => fs.readFileSync(real(path))),
    renameSync: counted('renameSync', (from: string, to: string) => fs.renameSync(real(from), real(to))),
    linkSync: counted('linkSync', (from: string, to: string) => fs.linkSync(real(from), real(to))),
    realpathSync: counted('realpathSync', (path: string) => path),
    fsyncDirectorySync: counted('fsyncDirectorySync', (path: string) => fs.fsyncDirectorySync(real(path))),
    lockOwnerId: nodeFileSystem.lockOwnerId,
    isLockOwnerAlive: (id) => nodeFileSystem.isLockOwnerAlive(id),
    ...overrides,
  };
}

describe('FileStorage on an injected file system', () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => removeDir(root));

  it('does every file operation through it, recovery and snapshots included', async () => {
    const calls = new Map<string, number>();
    const fs = rooted(root, calls);
    const s = await FileStorage.open('/virtual/n1', { fileSystem: fs, segmentBytes: 1024, cacheBytes: 0 });
    for (let i = 1; i <= 40; i++) s.append(entriesFrom(i, 1));
    s.setHardState({ term: 1, vote: 'n1', commit: 30 });
    await s.sync();
    s.createSnapshot(30, new Uint8Array([7]));
    s.compact(30);
    await s.sync();
    expect(s.entries(31, 41).length).toBe(10);
    await s.close();
    expect(readdirSync(join(root, 'n1')).some((n) => n.endsWith('.wal'))).toBe(true);

    const r = await FileStorage.open('/virtual/n1', { fileSystem: fs });
    expect(r.entries(31, 41).map(plain)).toEqual(entriesFrom(31, ...Array<number>(10).fill(1)).map(plain));
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 'n1', commit: 30 });
    await r.close();
    for (const op of ['fdatasync', 'fsyncSync', 'fsyncDirectorySync', 'renameSync', 'unlinkSync', 'readSync', 'readFileSync']) {
      expect(calls.get(op) ?? 0, op).toBeGreaterThan(0);
    }
  });

  it('fsyncs the parent of every directory it creates, so a power failure cannot take the data directory', async () => {
    const synced: string[] = [];
    const base = rooted(root, new Map());
    const fs: FileSystem = {
      ...base,
      fsyncDirectorySync: (path) => {
        synced.push(path);
        base.fsyncDirectorySync(path);
      },
    };
    await (await FileStorage.open('/virtual/a/b/n1', { fileSystem: fs })).close();
    expect(synced.slice(0, 3).sort()).toEqual(['/virtual', '/virtual/a', '/virtual/a/b']);
    synced.length = 0;
    await (await FileStorage.open('/virtual/a/b/n1', { fileSystem: fs })).close();
    expect(synced).not.toContain('/virtual/a/b');
  });

  it('asks the file system whether the recorded lock owner is alive', async () => {
    const alive = new Set([777]);
    const fs = rooted(root, new Map(), { lockOwnerId: 4242, isLockOwnerAlive: (id) => alive.has(id) });
    nodeFileSystem.mkdirSync(join(root, 'n1'), { recursive: true });
    writeFileSync(join(root, 'n1', lockFileName(1)), '777\n');

    const error: unknown = await FileStorage.open('/virtual/n1', { fileSystem: fs }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageLockedError);
    expect((error as StorageLockedError).ownerPid).toBe(777);

    alive.delete(777);
    const s = await FileStorage.open('/virtual/n1', { fileSystem: fs });
    expect(readFileSync(join(root, 'n1', lockFileName(2)), 'utf8')).toBe('4242\n');
    expect(existsSync(join(root, 'n1', lockFileName(1)))).toBe(false);
    // A second open through the same file system is refused while the first holds it…
    await expect(FileStorage.open('/virtual/n1', { fileSystem: fs })).rejects.toBeInstanceOf(StorageLockedError);
    await s.close();
    expect(readFileSync(join(root, 'n1', lockFileName(2)), 'utf8')).toBe('released');
    // …and allowed once it is closed.
    await (await FileStorage.open('/virtual/n1', { fileSystem: fs })).close();
  });

  it('a LOCK with its own owner id that this file system object does not hold is stale', async () => {
    const fs = rooted(root, new Map(), { lockOwnerId: 9, isLockOwnerAlive: (id) => id === 9 });
    nodeFileSystem.mkdirSync(join(root, 'n1'), { recursive: true });
    writeFileSync(join(root, 'n1', lockFileName(1)), '9\n');
    await (await FileStorage.open('/virtual/n1', { fileSystem: fs })).close();
  });
});
