import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { StorageLockedError } from '../../../src/storage/file/file-storage-errors.js';
import { buildCoreForChild, childScript } from './child-build.js';
import { removeDir, tempDir } from './helpers.js';

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
  });
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
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    await s.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
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
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(child.pid));
    const s = await FileStorage.open(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
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
    writeFileSync(join(dir, 'LOCK'), '');
    await (await FileStorage.open(dir)).close();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'LOCK'), `${dead}\n`);
    await (await FileStorage.open(dir)).close();
  });

  it('a lock file naming this process but not held by it is a stale one from an earlier process with the same pid', async () => {
    writeFileSync(join(dir, 'LOCK'), `${process.pid}\n`);
    const s = await FileStorage.open(dir);
    await s.close();
  });
});
