import type { FileSystem } from '@synod/core';

/**
 * `base` with every fdatasync and fsync timed: `observe` gets each one's
 * duration in seconds, failed ones included (a dying disk is slow too).
 * FileStorage syncs through its FileSystem, so this measures exactly the
 * syncs a commit waits for, for `synod_storage_fsync_duration_seconds`.
 *
 * @example
 * ```ts
 * const storage = await FileStorage.open(dir, { fileSystem: timedFileSystem(nodeFileSystem, (s) => histogram.observe(s)) });
 * ```
 */
export function timedFileSystem(base: FileSystem, observe: (seconds: number) => void, now: () => number = () => performance.now()): FileSystem {
  const timed =
    <A extends unknown[]>(operation: (...args: A) => void) =>
    (...args: A): void => {
      const started = now();
      try {
        operation(...args);
      } finally {
        observe((now() - started) / 1000);
      }
    };
  const timedAsync =
    <A extends unknown[]>(operation: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const started = now();
      try {
        await operation(...args);
      } finally {
        observe((now() - started) / 1000);
      }
    };
  return {
    ...base,
    fdatasyncSync: timed(base.fdatasyncSync.bind(base)),
    fdatasync: timedAsync(base.fdatasync.bind(base)),
    fsyncSync: timed(base.fsyncSync.bind(base)),
    fsyncDirectorySync: timed(base.fsyncDirectorySync.bind(base)),
    fsyncDirectory: timedAsync(base.fsyncDirectory.bind(base)),
  };
}
