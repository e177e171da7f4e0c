import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { StorageIoError } from '../../../src/storage/file/file-storage-errors.js';
import { nodeFileSystem, type FileSystem } from '../../../src/storage/file/file-system.js';
import { entry, removeDir, tempDir } from './helpers.js';

/**
 * A failing disk or a wrong path must surface as a typed storage error that
 * names the file and keeps the system error as its `cause`, never as a raw
 * `Error: EIO` from deep inside recovery.
 */

const seg = (dir: string, seq: number): string => join(dir, `${seq.toString(16).padStart(16, '0')}.wal`);

function errno(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated, ${syscall} '${path ?? ''}'`);
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  return error;
}

async function ioError(open: Promise<FileStorage>): Promise<StorageIoError> {
  const error: unknown = await open.then(
    async (s) => {
      await s.close();
      return new Error('opened');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageIoError);
  return error as StorageIoError;
}

describe('FileStorage turns system errors on read into typed storage errors', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    const s = await FileStorage.open(dir);
    for (let i = 1; i <= 10; i++) s.append([entry(i, 1, 20)]);
    s.createSnapshot(5, new Uint8Array([1]));
    await s.close();
  });
  afterEach(() => removeDir(dir));

  it('EISDIR: a directory where a segment should be', async () => {
    mkdirSync(seg(dir, 2));
    const error = await ioError(FileStorage.open(dir));
    expect(error.path).toBe(seg(dir, 2));
    expect(error.errno).toBe('EISDIR');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EISDIR');
    expect(error.code).toBe('STORAGE_IO');
    expect(error.message).toContain(seg(dir, 2));
  });

  it('EROFS: a read-only file system when opening the last segment for writing', async () => {
    const fs: FileSystem = {
      ...nodeFileSystem,
      openSync: (path, flags) => {
        if (flags !== 'r') throw errno('EROFS', 'open', path);
        return nodeFileSystem.openSync(path, flags);
      },
    };
    const error = await ioError(FileStorage.open(dir, { fileSystem: fs }));
    expect(error.errno).toBe('EROFS');
    expect(error.path.startsWith(dir)).toBe(true);
  });

  it('ENOENT: a snapshot that vanished between listing and reading', async () => {
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFileSync: (path) => {
        if (path.endsWith('.snap')) throw errno('ENOENT', 'open', path);
        return nodeFileSystem.readFileSync(path);
      },
    };
    const error = await ioError(FileStorage.open(dir, { fileSystem: fs }));
    expect(error.errno).toBe('ENOENT');
    expect(error.path).toBe(join(dir, 'snapshot-0000000000000005.snap'));
  });

  it('EIO: a segment that cannot be read during recovery', async () => {
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFileSync: (path) => {
        if (path.endsWith('.wal')) throw errno('EIO', 'read');
        return nodeFileSystem.readFileSync(path);
      },
    };
    const error = await ioError(FileStorage.open(dir, { fileSystem: fs }));
    expect(error.errno).toBe('EIO');
    expect(error.path).toBe(seg(dir, 1));
  });

  it('EIO: an entry read from disk after start-up', async () => {
    let failReads = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readSync: (fd, buffer, offset, length, position) => {
        if (failReads) throw errno('EIO', 'read');
        return nodeFileSystem.readSync(fd, buffer, offset, length, position);
      },
    };
    const s = await FileStorage.open(dir, { fileSystem: fs, cacheBytes: 0 });
    failReads = true;
    let error: unknown;
    try {
      s.entries(1, 3);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StorageIoError);
    expect((error as StorageIoError).path).toBe(seg(dir, 1));
    expect((error as StorageIoError).errno).toBe('EIO');
    failReads = false;
    await s.close();
  });

  it('ENOENT: the data directory cannot be listed', async () => {
    const fs: FileSystem = {
      ...nodeFileSystem,
      readdirSync: (path) => {
        throw errno('ENOENT', 'scandir', path);
      },
    };
    const error = await ioError(FileStorage.open(dir, { fileSystem: fs }));
    expect(error.path).toBe(dir);
  });
});
