import { existsSync } from 'node:fs';
import { nodeFileSystem, type FileSystem } from '@synod/core';

/** The errno-style error a failing disk gives, as `node:fs` would throw it. */
function eio(operation: string, trigger: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`EIO: i/o error, ${operation} (injected: ${trigger} exists)`);
  error.code = 'EIO';
  error.errno = -5;
  error.syscall = operation;
  return error;
}

/**
 * `node:fs` for FileStorage, except that while the file `trigger` exists
 * every write, sync, truncate, rename, link and unlink fails with EIO, the
 * way a dying disk answers. Reads keep working, so a restart after the
 * trigger is removed recovers from whatever reached the disk before.
 *
 * Behind `synod serve --inject-disk-faults FILE`, which the chaos suite
 * (tools/chaos) uses to check that a node whose disk fails stops instead of
 * acknowledging what it could not store. Checking for the file costs one
 * `stat` per operation, so the flag is for tests only.
 *
 * @example
 * ```ts
 * const storage = await FileStorage.open(dir, { fileSystem: diskFaultFileSystem('/tmp/n1.eio') });
 * // touch /tmp/n1.eio → the next append fails with EIO and the node fail-stops
 * ```
 */
export function diskFaultFileSystem(trigger: string): FileSystem {
  const failing = (): boolean => existsSync(trigger);
  const guard =
    <A extends unknown[], R>(name: string, operation: (...args: A) => R) =>
    (...args: A): R => {
      if (failing()) throw eio(name, trigger);
      return operation(...args);
    };
  const guardAsync =
    <A extends unknown[], R>(name: string, operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (failing()) throw eio(name, trigger);
      return operation(...args);
    };
  const fs = nodeFileSystem;
  return {
    ...fs,
    writeSync: guard('write', fs.writeSync.bind(fs)),
    write: guardAsync('write', fs.write.bind(fs)),
    ftruncateSync: guard('ftruncate', fs.ftruncateSync.bind(fs)),
    fdatasyncSync: guard('fdatasync', fs.fdatasyncSync.bind(fs)),
    fdatasync: guardAsync('fdatasync', fs.fdatasync.bind(fs)),
    fsyncSync: guard('fsync', fs.fsyncSync.bind(fs)),
    renameSync: guard('rename', fs.renameSync.bind(fs)),
    linkSync: guard('link', fs.linkSync.bind(fs)),
    unlinkSync: guard('unlink', fs.unlinkSync.bind(fs)),
    unlink: guardAsync('unlink', fs.unlink.bind(fs)),
    fsyncDirectorySync: guard('fsync', fs.fsyncDirectorySync.bind(fs)),
    fsyncDirectory: guardAsync('fsync', fs.fsyncDirectory.bind(fs)),
  };
}
