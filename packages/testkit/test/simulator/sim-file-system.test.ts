import { FileStorage, SeededRandom, StorageLockedError, type Random } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { SimFileSystem } from '../../src/simulator/sim-file-system.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Writes `content` to a new file `path` (appending at the file position). */
function write(fs: SimFileSystem, fd: number, content: string): void {
  const data = bytes(content);
  fs.writeSync(fd, data, 0, data.length, null);
}

function read(fs: SimFileSystem, path: string): string | undefined {
  return fs.exists(path) ? text(fs.readFileSync(path)) : undefined;
}

/** Every distinct outcome of `crash` over `seeds` seeds. */
function outcomes<T>(fs: SimFileSystem, seeds: number, observe: (after: SimFileSystem) => T): Set<T> {
  const seen = new Set<T>();
  for (let seed = 1; seed <= seeds; seed++) seen.add(observe(fs.crash(new SeededRandom(seed))));
  return seen;
}

/** A file `/d/f` with `synced` made durable (name included) and `unsynced` written after. */
function fileWithTail(synced: string, unsynced: string, zeroFilledTails = true): SimFileSystem {
  const fs = new SimFileSystem({ zeroFilledTails });
  fs.mkdirSync('/d', { recursive: true });
  fs.fsyncDirectorySync('/');
  const fd = fs.openSync('/d/f', 'wx');
  write(fs, fd, synced);
  fs.fdatasyncSync(fd);
  fs.fsyncDirectorySync('/d');
  write(fs, fd, unsynced);
  return fs;
}

describe('SimFileSystem: file data', () => {
  it('reads see unsynced writes at once', () => {
    const fs = fileWithTail('AB', 'CDEF');
    expect(read(fs, '/d/f')).toBe('ABCDEF');
    expect(fs.fstatSync(fs.openSync('/d/f', 'r')).size).toBe(6);
  });

  it('a crash keeps the synced bytes and a prefix of the unsynced ones, torn at any byte', () => {
    const fs = fileWithTail('AB', 'CDEFGH', false);
    const seen = outcomes(fs, 400, (after) => read(after, '/d/f'));
    expect([...seen].sort()).toEqual(['AB', 'ABC', 'ABCD', 'ABCDE', 'ABCDEF', 'ABCDEFG', 'ABCDEFGH']);
  });

  it('copies what is written: a caller reusing its Buffer changes neither the cache nor what a crash keeps', () => {
    const fs = fileWithTail('', '');
    const fd = fs.openSync('/d/f', 'r+');
    const buffer = Buffer.from('abcdef');
    fs.writeSync(fd, buffer.subarray(2), 0, 4, 0);
    buffer.fill(0x78);
    expect(read(fs, '/d/f')).toBe('cdef');
    expect(outcomes(fs, 100, (after) => read(after, '/d/f')).has('cdef')).toBe(true);
    for (const content of outcomes(fs, 100, (after) => read(after, '/d/f') ?? '')) expect(content).not.toContain('x');
  });

  it('keeps a prefix across several writes, in the order they were made', () => {
    const fs = fileWithTail('', 'one');
    const fd = fs.openSync('/d/f', 'r+');
    fs.writeSync(fd, bytes('two'), 0, 3, 3);
    fs.writeSync(fd, bytes('X'), 0, 1, 0);
    const seen = outcomes(fs, 600, (after) => read(after, '/d/f') ?? '');
    for (const content of seen) {
      const printable = content.replace(/\0/g, '.');
      // Either a prefix of "onetwo", or all of it with the later overwrite of byte 0,
      // possibly zero-filled past a cut.
      expect(['onetwo', 'Xnetwo'].some((full) => full.startsWith(printable.replace(/\.+$/, ''))), printable).toBe(true);
    }
    expect(seen.has('')).toBe(true);
    expect(seen.has('onetwo')).toBe(true);
    expect(seen.has('Xnetwo')).toBe(true);
  });

  it('sometimes keeps the length of a torn write but not its bytes (zero-filled tail)', () => {
    const fs = fileWithTail('AB', 'CDEFGH');
    const seen = outcomes(fs, 400, (after) => read(after, '/d/f'));
    const zeroFilled = [...seen].filter((c) => c !== undefined && c.includes('\0'));
    expect(zeroFilled.length).toBeGreaterThan(0);
    for (const content of zeroFilled) expect(content).toMatch(/^ABC*D*E*F*G*\0+$/);
  });

  it('fdatasync makes everything written before it durable; a truncation too', () => {
    const fs = fileWithTail('AB', 'CDEFGH');
    const fd = fs.openSync('/d/f', 'r+');
    fs.ftruncateSync(fd, 5);
    fs.fdatasyncSync(fd);
    expect(outcomes(fs, 50, (after) => read(after, '/d/f'))).toEqual(new Set(['ABCDE']));
    write(fs, fd, 'xyz');
    void fs.fdatasync(fd);
    expect(outcomes(fs, 50, (after) => read(after, '/d/f'))).toEqual(new Set(['xyzDE']));
  });

  it('an unsynced truncation may be undone by a crash', () => {
    const fs = fileWithTail('ABCDEF', '');
    fs.ftruncateSync(fs.openSync('/d/f', 'r+'), 2);
    expect(outcomes(fs, 100, (after) => read(after, '/d/f'))).toEqual(new Set(['AB', 'ABCDEF']));
  });

  it('lying syncs make nothing durable', () => {
    const fs = new SimFileSystem({ lyingSync: true, zeroFilledTails: false });
    fs.mkdirSync('/d', { recursive: true });
    fs.fsyncDirectorySync('/');
    const fd = fs.openSync('/d/f', 'wx');
    write(fs, fd, 'AB');
    fs.fdatasyncSync(fd);
    fs.fsyncDirectorySync('/d');
    const seen = outcomes(fs, 300, (after) => read(after, '/d/f'));
    expect(seen).toContain(undefined);
    expect(seen).toContain('A');
    expect(fs.stats().fileSyncs).toBe(0);
  });
});

describe('SimFileSystem: directory entries', () => {
  it('a new file may vanish in a crash until its directory is fsynced, whatever was synced of its data', () => {
    const fs = new SimFileSystem();
    fs.mkdirSync('/d', { recursive: true });
    fs.fsyncDirectorySync('/');
    const fd = fs.openSync('/d/f', 'wx');
    write(fs, fd, 'data');
    fs.fsyncSync(fd);
    expect(outcomes(fs, 100, (after) => read(after, '/d/f'))).toEqual(new Set([undefined, 'data']));
    fs.fsyncDirectorySync('/d');
    expect(outcomes(fs, 100, (after) => read(after, '/d/f'))).toEqual(new Set(['data']));
  });

  it('a new directory may vanish until its parent is fsynced', () => {
    const fs = new SimFileSystem();
    expect(fs.mkdirSync('/a/b', { recursive: true })).toBe('/a');
    expect(fs.mkdirSync('/a/b', { recursive: true })).toBeUndefined();
    expect(outcomes(fs, 100, (after) => `${after.exists('/a')} ${after.exists('/a/b')}`)).toEqual(
      new Set(['false false', 'true false', 'true true']),
    );
    fs.fsyncDirectorySync('/');
    fs.fsyncDirectorySync('/a');
    expect(outcomes(fs, 50, (after) => after.exists('/a/b'))).toEqual(new Set([true]));
  });

  it('a rename is atomic: a crash shows the old name or the new one, and the new one for certain once the directory is fsynced', () => {
    const fs = fileWithTail('old', '');
    const fd = fs.openSync('/d/f.tmp', 'w');
    write(fs, fd, 'new');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync('/d/f.tmp', '/d/f');
    expect(read(fs, '/d/f')).toBe('new');
    expect(fs.exists('/d/f.tmp')).toBe(false);
    const seen = outcomes(fs, 200, (after) => `${read(after, '/d/f')} ${read(after, '/d/f.tmp')}`);
    expect(seen).toEqual(new Set(['old undefined', 'old new', 'new undefined']));
    fs.fsyncDirectorySync('/d');
    expect(outcomes(fs, 50, (after) => `${read(after, '/d/f')} ${read(after, '/d/f.tmp')}`)).toEqual(
      new Set(['new undefined']),
    );
  });

  it('an unlinked file may come back until its directory is fsynced', () => {
    const fs = fileWithTail('keep', '');
    fs.unlinkSync('/d/f');
    expect(fs.readdirSync('/d')).toEqual([]);
    expect(outcomes(fs, 100, (after) => read(after, '/d/f'))).toEqual(new Set([undefined, 'keep']));
    fs.fsyncDirectorySync('/d');
    expect(outcomes(fs, 50, (after) => read(after, '/d/f'))).toEqual(new Set([undefined]));
  });

  it('reports errors the way node:fs does', () => {
    const fs = fileWithTail('x', '');
    const code = (f: () => unknown): unknown => {
      try {
        f();
        return undefined;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code;
      }
    };
    expect(code(() => fs.openSync('/d/f', 'wx'))).toBe('EEXIST');
    expect(code(() => fs.openSync('/d/missing', 'r'))).toBe('ENOENT');
    expect(code(() => fs.readFileSync('/nope/f'))).toBe('ENOENT');
    expect(code(() => fs.unlinkSync('/d/missing'))).toBe('ENOENT');
    expect(code(() => fs.closeSync(999))).toBe('EBADF');
    expect(code(() => fs.mkdirSync('/d/f/g', { recursive: true }))).toBe('ENOTDIR');
    expect(code(() => fs.writeSync(fs.openSync('/d/f', 'r'), bytes('y'), 0, 1, 0))).toBe('EBADF');
    expect(code(() => fs.readSync(fs.openSync('/d/g', 'wx'), new Uint8Array(1), 0, 1, 0))).toBe('EBADF');
    expect(code(() => fs.realpathSync('/d/missing'))).toBe('ENOENT');
    expect(fs.realpathSync('/d/../d/./f')).toBe('/d/f');
    expect(code(() => fs.linkSync('/d/f', '/d/f'))).toBe('EEXIST');
    expect(code(() => fs.linkSync('/d/missing', '/d/h'))).toBe('ENOENT');
  });

  it('a hard link is a second name for the same file, durable once its directory is fsynced', () => {
    const fs = fileWithTail('AB', '');
    fs.linkSync('/d/f', '/d/g');
    expect(fs.readFileSync('/d/g').toString()).toBe('AB');
    fs.fsyncDirectorySync('/d');
    const after = fs.crash(new SeededRandom(1));
    expect(after.readFileSync('/d/g').toString()).toBe('AB');
    expect(after.readFileSync('/d/f').toString()).toBe('AB');
  });

  it('crashes are deterministic: the same seed gives the same disk', () => {
    const fs = fileWithTail('AB', 'CDEFGHIJKLMNOP');
    for (let seed = 1; seed <= 20; seed++) {
      const a = fs.crash(new SeededRandom(seed));
      const b = fs.crash(new SeededRandom(seed));
      expect(read(a, '/d/f')).toBe(read(b, '/d/f'));
      expect(a.lastCrash()).toEqual(b.lastCrash());
    }
  });
});

describe('FileStorage on SimFileSystem', () => {
  const entry = (index: number, term = 1) => ({ index, term, type: 'normal' as const, data: new Uint8Array(40).fill(index) });

  it('a second open on the same disk is refused while the first holds the directory', async () => {
    const fs = new SimFileSystem();
    const storage = await FileStorage.open('/n1', { fileSystem: fs });
    await expect(FileStorage.open('/n1', { fileSystem: fs })).rejects.toBeInstanceOf(StorageLockedError);
    await storage.close();
    await (await FileStorage.open('/n1', { fileSystem: fs })).close();
  });

  it('a crash leaves a stale lock of the dead process, which the next one takes over', async () => {
    const fs = new SimFileSystem();
    const storage = await FileStorage.open('/n1', { fileSystem: fs });
    storage.append([entry(1)]);
    await storage.sync();
    // The lock is the file of the newest generation (see FileStorage's directory lock).
    expect(read(fs, '/n1/LOCK-0000000000000001')).toBe('1\n');
    // A crash that keeps every unsynced byte, so the lock survives whole.
    const keepAll: Random = { next: () => 0.3, int: (n) => n - 1, fork: () => keepAll };
    const after = fs.crash(keepAll);
    expect(read(after, '/n1/LOCK-0000000000000001')).toBe('1\n');
    expect([after.lockOwnerId, after.isLockOwnerAlive(1), after.isLockOwnerAlive(2)]).toEqual([2, false, true]);
    const recovered = await FileStorage.open('/n1', { fileSystem: after });
    expect(read(after, '/n1/LOCK-0000000000000002')).toBe('2\n');
    expect(after.exists('/n1/LOCK-0000000000000001')).toBe(false);
    expect(recovered.lastIndex()).toBe(1);
    await expect(FileStorage.open('/n1', { fileSystem: after })).rejects.toBeInstanceOf(StorageLockedError);
    await recovered.close();
  });

  it('keeps what was synced right after the data directory was created', async () => {
    const lost: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new SimFileSystem();
      const storage = await FileStorage.open('/data/n1', { fileSystem: fs });
      storage.append([entry(1), entry(2)]);
      storage.setHardState({ term: 1, vote: 'n1', commit: 1 });
      await storage.sync();
      const after = fs.crash(new SeededRandom(seed));
      const recovered = await FileStorage.open('/data/n1', { fileSystem: after });
      if (recovered.lastIndex() !== 2 || recovered.initialState().hardState.vote !== 'n1') lost.push(seed);
      await recovered.close();
    }
    expect(lost).toEqual([]);
  });

  it('after a crash mid-sync the restarted process takes over the stale LOCK, keeps the synced log and cuts the torn tail', async () => {
    let torn = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const inFlight: (() => void)[] = [];
      const fs = new SimFileSystem({ scheduleSync: (complete) => inFlight.push(complete) });
      const storage = await FileStorage.open('/n1', { fileSystem: fs, segmentBytes: 2048 });
      for (let i = 1; i <= 30; i++) storage.append([entry(i)]);
      storage.setHardState({ term: 1, vote: 'n1', commit: 20 });
      const synced = storage.sync();
      for (const complete of inFlight.splice(0)) complete();
      await synced;
      for (let i = 31; i <= 40; i++) storage.append([entry(i)]);
      storage.setHardState({ term: 2, vote: undefined, commit: 35 });
      // The batch is handed to the page cache and its fdatasync starts; the power fails before it ends.
      void storage.sync();
      expect(inFlight.length).toBe(1);
      const after = fs.crash(new SeededRandom(seed));
      const recovered = await FileStorage.open('/n1', { fileSystem: after, segmentBytes: 2048 });
      expect(recovered.lastIndex(), `seed ${seed}`).toBeGreaterThanOrEqual(30);
      expect(recovered.initialState().hardState.commit, `seed ${seed}`).toBeGreaterThanOrEqual(20);
      expect(Array.from(recovered.entries(30, 31)[0]!.data), `seed ${seed}`).toEqual(Array.from(entry(30).data));
      if (recovered.recovery().truncatedTail !== undefined) torn++;
      await recovered.close();
    }
    expect(torn).toBeGreaterThan(10);
  });
});

describe('FileStorage snapshots written in the background', () => {
  const logEntry = (index: number, term = 1) => ({ index, term, type: 'normal' as const, data: new Uint8Array(40).fill(index & 0xff) });
  const keepNothing: Random = { next: () => 0, int: () => 0, fork: () => keepNothing };

  it('a power failure before the snapshot file is durable keeps the compacted entries, even across rotations', async () => {
    const fs = new SimFileSystem();
    const storage = await FileStorage.open('/n1', { fileSystem: fs, segmentBytes: 1024, snapshotChunkBytes: 4096 });
    for (let i = 1; i <= 40; i++) storage.append([logEntry(i)]);
    storage.setHardState({ term: 1, vote: 'n1', commit: 40 });
    await storage.sync();
    storage.createSnapshot(30, new Uint8Array(64 * 1024).fill(3));
    storage.compact(30);
    expect(storage.firstIndex()).toBe(31);
    // New segments are created while the snapshot is still being written.
    for (let i = 41; i <= 80; i++) storage.append([logEntry(i)]);
    await storage.sync();
    const after = fs.crash(keepNothing);
    const recovered = await FileStorage.open('/n1', { fileSystem: after, segmentBytes: 1024 });
    expect([recovered.firstIndex(), recovered.lastIndex()]).toEqual([1, 80]);
    expect(recovered.snapshot().metadata.index).toBe(0);
    await recovered.close();
  });

  it('once the snapshot file is durable the compaction is written and old segments go', async () => {
    const fs = new SimFileSystem();
    const storage = await FileStorage.open('/n1', { fileSystem: fs, segmentBytes: 1024, snapshotChunkBytes: 4096 });
    for (let i = 1; i <= 40; i++) storage.append([logEntry(i)]);
    await storage.sync();
    storage.createSnapshot(30, new Uint8Array(64 * 1024).fill(3));
    storage.compact(30);
    const segmentsBefore = fs.readdirSync('/n1').filter((n) => n.endsWith('.wal')).length;
    await storage.snapshotsWritten();
    await storage.sync();
    expect(fs.readdirSync('/n1').filter((n) => n.endsWith('.wal')).length).toBeLessThan(segmentsBefore);
    const after = fs.crash(keepNothing);
    const recovered = await FileStorage.open('/n1', { fileSystem: after });
    expect([recovered.firstIndex(), recovered.lastIndex(), recovered.snapshot().metadata.index]).toEqual([31, 40, 30]);
    expect(recovered.snapshot().data.length).toBe(64 * 1024);
    await recovered.close();
  });
});
