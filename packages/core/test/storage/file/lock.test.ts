import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { StorageLockedError } from '../../../src/storage/file/file-storage-errors.js';
import { nodeFileSystem, type FileSystem } from '../../../src/storage/file/file-system.js';
import { lockFileName } from '../../../src/storage/file/dir-lock.js';
import { buildCoreForChild, childScript } from './child-build.js';
import { removeDir, tempDir } from './helpers.js';

/** The content of the newest lock file (the one that counts). */
function newestLock(dir: string): string {
  const names = readdirSync(dir)
    .filter((n) => /^LOCK-[0-9a-f]{16}$/.test(n))
    .sort();
  return names.length === 0 ? '' : readFileSync(join(dir, names.at(-1)!), 'utf8').trim();
}

async function lockError(dir: string): Promise<StorageLockedError> {
  const error: unknown = await FileStorage.open(dir).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageLockedError);
  return error as StorageLockedError;
}

describe('FileStorage directory lock', () => {
  let buildDir: string;
  let modulePath: string;
  let dir: string;

  beforeAll(() => {
    buildDir = tempDir('synod-fs-build-');
    modulePath = buildCoreForChild(buildDir);
    // Transpiling the package takes seconds on a loaded machine.
  }, 60_000);
  afterAll(() => removeDir(buildDir));
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('a second open in the same process fails with StorageLockedError until the first closes', async () => {
    const s = await FileStorage.open(dir);
    const error = await lockError(dir);
    expect(error.ownerPid).toBe(process.pid);
    expect(error.code).toBe('STORAGE_LOCKED');
    // The failed open must not have released the holder's lock.
    expect(newestLock(dir)).toBe(String(process.pid));
    await s.close();
    expect(newestLock(dir)).toBe('released');
    const again = await FileStorage.open(dir);
    await again.close();
  });

  it('another process holding the directory keeps us out; after it is killed the stale lock is taken over', async () => {
    const child = spawn(process.execPath, [childScript, modulePath, dir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('ready') && resolve());
        child.on('exit', () => reject(new Error('holder exited early')));
      });
      const error = await lockError(dir);
      expect(error.ownerPid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The LOCK file is still there with a dead pid.
    expect(newestLock(dir)).toBe(String(child.pid));
    const s = await FileStorage.open(dir);
    expect(newestLock(dir)).toBe(String(process.pid));
    await s.close();
  });

  it('a child process cannot open a directory this process holds', async () => {
    const s = await FileStorage.open(dir);
    try {
      const result = spawnSync(process.execPath, [childScript, modulePath, dir, 'try-open'], { encoding: 'utf8' });
      expect(result.stdout.trim()).toBe(`error StorageLockedError ${process.pid}`);
    } finally {
      await s.close();
    }
    const result = spawnSync(process.execPath, [childScript, modulePath, dir, 'try-open'], { encoding: 'utf8' });
    expect(result.stdout.trim()).toBe('opened');
  });

  it('takes over a lock file that is empty or names a dead process', async () => {
    writeFileSync(join(dir, lockFileName(1)), '');
    await (await FileStorage.open(dir)).close();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, lockFileName(9)), `${dead}\n`);
    await (await FileStorage.open(dir)).close();
  });

  it('a lock file naming this process but not held by it is a stale one from an earlier process with the same pid', async () => {
    writeFileSync(join(dir, lockFileName(20)), `${process.pid}\n`);
    const s = await FileStorage.open(dir);
    await s.close();
  });
});

describe('FileStorage stale-lock takeover', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  /** A file system standing for process `id`; processes in `alive` are running. */
  const processFs = (id: number, alive: Set<number>, hooks: Partial<FileSystem> = {}): FileSystem => ({
    ...nodeFileSystem,
    lockOwnerId: id,
    isLockOwnerAlive: (owner) => alive.has(owner),
    ...hooks,
  });

  it('two openers racing to take over a stale lock never both win (one runs inside the other’s liveness check)', async () => {
    const alive = new Set([101, 201, 202]);
    // Process 101 opens the directory and dies without releasing it.
    const dead = await FileStorage.open(dir, { fileSystem: processFs(101, alive) });
    alive.delete(101);

    let inner: Promise<FileStorage> | undefined;
    const b = processFs(202, alive);
    const a = processFs(201, alive, {
      isLockOwnerAlive: (owner) => {
        // The deterministic interleaving: B runs its whole open between A's
        // reading of the stale owner and A's acting on it.
        inner ??= FileStorage.open(dir, { fileSystem: b });
        return alive.has(owner);
      },
    });
    const outer = FileStorage.open(dir, { fileSystem: a });
    const results = await Promise.allSettled([outer, inner ?? Promise.reject(new Error('B never ran'))]);
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners.length).toBe(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(StorageLockedError);
    // The winner is B, which finished first; A reports B as the owner.
    expect((loser.reason as StorageLockedError).ownerPid).toBe(202);
    await (winners[0] as PromiseFulfilledResult<FileStorage>).value.close();
    await dead.close().catch(() => undefined);
  });

  it('a slow taker whose lock name was freed by a later takeover still loses to that later taker', async () => {
    const alive = new Set([101, 201, 202, 203]);
    const dead = await FileStorage.open(dir, { fileSystem: processFs(101, alive) });
    alive.delete(101);
    const b = processFs(202, alive);
    const c = processFs(203, alive);
    let bStorage: Promise<FileStorage> | undefined;
    let cStorage: Promise<FileStorage> | undefined;
    const a = processFs(201, alive, {
      isLockOwnerAlive: (owner) => {
        if (bStorage === undefined) {
          // While A decides: B takes the stale lock over and dies too, then
          // C takes B's lock over and cleans up behind it.
          bStorage = FileStorage.open(dir, { fileSystem: b });
          alive.delete(202);
          cStorage = FileStorage.open(dir, { fileSystem: c });
        }
        return alive.has(owner);
      },
    });
    const outcome = await FileStorage.open(dir, { fileSystem: a }).then(
      async (s) => {
        await s.close();
        return 'A won';
      },
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(StorageLockedError);
    expect((outcome as StorageLockedError).ownerPid).toBe(203);
    await (await cStorage!).close();
    await (await bStorage!).close().catch(() => undefined);
    await dead.close().catch(() => undefined);
  });
});
