import { cpSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors/errors.js';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { nodeFileSystem, type FileSystem } from '../../../src/storage/file/file-system.js';
import { SEGMENT_HEADER_BYTES } from '../../../src/storage/file/segment-format.js';
import { StorageCorruptionError } from '../../../src/storage/file/file-storage-errors.js';
import { entry, removeDir, tempDir } from './helpers.js';

/**
 * Damage to data that a `sync()` had already reported durable (a disk that
 * lost writes, an operator who deleted or truncated files) must stop
 * start-up, never come back as a shorter log or an older hard state: a
 * node that forgets its vote can vote twice in one term, and one that
 * forgets acknowledged entries can lose committed data.
 */

const seg = (dir: string, seq: number): string => join(dir, `${seq.toString(16).padStart(16, '0')}.wal`);
const walFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
const confState = { voters: ['n1', 'n2', 'n3'], learners: [], votersOutgoing: [], autoLeave: false };

/** Entries 1..count in term 7, hard state term 7 / vote n2 / commit 90, all synced. */
async function writeSynced(dir: string, count = 100, segmentBytes = 64 * 1024): Promise<void> {
  const s = await FileStorage.open(dir, { segmentBytes });
  for (let i = 1; i <= count; i++) s.append([entry(i, 7, 20)]);
  s.setHardState({ term: 7, vote: 'n2', commit: Math.min(90, count) });
  await s.sync();
  await s.close();
}

async function openError(dir: string): Promise<StorageCorruptionError> {
  const error: unknown = await FileStorage.open(dir).then(
    async (s) => {
      const state = `opened with last index ${s.lastIndex()} and hard state ${JSON.stringify(s.hardState())}`;
      await s.close();
      return new Error(state);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageCorruptionError);
  return error as StorageCorruptionError;
}

describe('FileStorage refuses to drop synced state', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('a synced last segment cut mid-record is refused, not read back as an older term and vote', async () => {
    await writeSynced(dir);
    const size = readFileSync(seg(dir, 1)).length;
    // Cuts the hard state record and entries 92..100.
    truncateSync(seg(dir, 1), size - 500);
    const error = await openError(dir);
    expect(error.file).toBe(seg(dir, 1));
    expect(error.reason).toMatch(/synced/);
  });

  it('a synced vote is never rolled back silently, even by a crash right after the next commit (no close)', async () => {
    const s = await FileStorage.open(dir);
    for (let i = 1; i <= 5; i++) s.append([entry(i, 2, 20)]);
    await s.sync();
    s.setHardState({ term: 3, vote: 'n2', commit: 5 });
    await s.sync();
    s.append([entry(6, 3, 20)]);
    await s.sync();
    // What the disk holds now, as a crash would leave it (the open storage never closes its files).
    const crashed = tempDir();
    try {
      cpSync(dir, crashed, { recursive: true });
      const size = readFileSync(seg(crashed, 1)).length;
      // Cut entry 6 and the vote before it.
      truncateSync(seg(crashed, 1), size - 50 - 20);
      const error = await openError(crashed);
      expect(error.file).toBe(seg(crashed, 1));
      expect(error.reason).toMatch(/synced/);
    } finally {
      removeDir(crashed);
      await s.close();
    }
  });

  it('a synced last segment whose end was zero-filled is refused', async () => {
    await writeSynced(dir);
    const bytes = readFileSync(seg(dir, 1));
    bytes.fill(0, bytes.length - 500);
    writeFileSync(seg(dir, 1), bytes);
    const error = await openError(dir);
    expect(error.file).toBe(seg(dir, 1));
  });

  it('a synced log cut exactly at a record boundary is refused', async () => {
    await writeSynced(dir, 10);
    const size = readFileSync(seg(dir, 1)).length;
    // The last record is the hard state; the entries before it are intact.
    const hardStateRecord = 12 + 1 + 17 + 2;
    truncateSync(seg(dir, 1), size - hardStateRecord);
    expect((await openError(dir)).file).toBe(seg(dir, 1));
  });

  it('a last segment truncated to 0 bytes after a completed rotation is refused', async () => {
    await writeSynced(dir, 60, 1024);
    const files = walFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    truncateSync(join(dir, files.at(-1)!), 0);
    const error = await openError(dir);
    expect(error.file).toBe(join(dir, files.at(-1)!));
  });

  it('a deleted last segment is refused', async () => {
    await writeSynced(dir, 60, 1024);
    const files = walFiles(dir);
    unlinkSync(join(dir, files.at(-1)!));
    const error = await openError(dir);
    expect(error.file).toBe(join(dir, files.at(-1)!));
    expect(error.reason).toMatch(/missing/);
  });

  it('the only segment truncated to 0 bytes is refused', async () => {
    await writeSynced(dir, 10);
    truncateSync(seg(dir, 1), 0);
    expect((await openError(dir)).file).toBe(seg(dir, 1));
  });

  it('a data directory whose segments were all deleted is refused', async () => {
    await writeSynced(dir, 60, 1024);
    for (const name of walFiles(dir)) unlinkSync(join(dir, name));
    const error = await openError(dir);
    expect(error.reason).toMatch(/no segment/);
  });

  it('a compacted log whose snapshot file was deleted is refused', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 60; i++) s.append([entry(i, 2, 20)]);
    s.setHardState({ term: 2, vote: 'n1', commit: 60 });
    s.createSnapshot(55, new Uint8Array([1]), confState);
    s.compact(55);
    await s.close();
    unlinkSync(join(dir, 'snapshot-0000000000000037.snap'));
    const error = await openError(dir);
    expect(error.reason).toMatch(/snapshot/);
    expect(error.file).toBe(join(dir, 'snapshot-0000000000000037.snap'));
  });

  it('a log that starts after the newest snapshot is refused', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 60; i++) s.append([entry(i, 2, 20)]);
    s.setHardState({ term: 2, vote: 'n1', commit: 60 });
    s.createSnapshot(30, new Uint8Array([1]), confState);
    s.compact(30);
    s.createSnapshot(55, new Uint8Array([2]), confState);
    s.compact(55);
    await s.close();
    unlinkSync(join(dir, 'snapshot-0000000000000037.snap'));
    const error = await openError(dir);
    expect(error.reason).toMatch(/snapshot/);
  });

  it('compacting past the snapshot is refused, because reopening could not find those entries anywhere', async () => {
    const s = await FileStorage.open(dir);
    for (let i = 1; i <= 10; i++) s.append([entry(i, 2, 20)]);
    s.createSnapshot(5, new Uint8Array([1]), confState);
    expect(() => s.compact(6)).toThrow(InvalidArgumentError);
    s.compact(5);
    await s.close();
    const r = await FileStorage.open(dir);
    expect([r.firstIndex(), r.lastIndex()]).toEqual([6, 10]);
    await r.close();
  });

  it('one-entry commits without a close lose no more than the last 32 to a cut tail undetected', async () => {
    const s = await FileStorage.open(dir);
    for (let i = 1; i <= 70; i++) {
      s.append([entry(i, 2, 20)]);
      await s.sync();
    }
    const crashed = tempDir();
    try {
      cpSync(dir, crashed, { recursive: true });
      const size = readFileSync(seg(crashed, 1)).length;
      // Each entry record is 12 + 1 + 29 + 20 = 62 bytes: cut the last 40 commits.
      truncateSync(seg(crashed, 1), size - 40 * 62 - 10);
      expect((await openError(crashed)).reason).toMatch(/synced/);
    } finally {
      removeDir(crashed);
      await s.close();
    }
  });

  it('small commits rewrite the segment header at most once every 32 commits (its page costs each fdatasync a write)', async () => {
    const { fileSystem, headerWrites } = countingHeaderWrites();
    const s = await FileStorage.open(dir, { fileSystem });
    s.setHardState({ term: 2, vote: 'n1', commit: 0 });
    await s.sync();
    const before = headerWrites();
    for (let i = 1; i <= 256; i++) {
      s.append([entry(i, 2, 256)]);
      await s.sync();
    }
    expect(headerWrites() - before).toBeLessThanOrEqual(256 / 32);
    await s.close();
  });

  it('large group commits (about 36 KiB each) rewrite the segment header at most once every 16 commits', async () => {
    const { fileSystem, headerWrites } = countingHeaderWrites();
    const s = await FileStorage.open(dir, { fileSystem });
    s.setHardState({ term: 2, vote: 'n1', commit: 0 });
    await s.sync();
    const before = headerWrites();
    let index = 0;
    for (let commit = 1; commit <= 128; commit++) {
      // 128 proposers' entries, as the storage bench's 256-proposer group commits carry.
      for (let i = 0; i < 128; i++) s.append([entry(++index, 2, 256)]);
      await s.sync();
    }
    expect(headerWrites() - before).toBeLessThanOrEqual(128 / 16);
    await s.close();
  });

  it('synced state survives a reopen that is followed by more writes and another reopen', async () => {
    await writeSynced(dir, 20, 1024);
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    expect(s.hardState()).toEqual({ term: 7, vote: 'n2', commit: 20 });
    for (let i = 21; i <= 40; i++) s.append([entry(i, 8, 20)]);
    s.setHardState({ term: 8, vote: 'n3', commit: 40 });
    await s.close();
    const r = await FileStorage.open(dir);
    expect([r.lastIndex(), r.term(40)]).toEqual([40, 8]);
    expect(r.hardState()).toEqual({ term: 8, vote: 'n3', commit: 40 });
    await r.close();
  });
});

/** A file system that counts writes into a segment's header (where the sync mark lives). */
function countingHeaderWrites(): { readonly fileSystem: FileSystem; readonly headerWrites: () => number } {
  let writes = 0;
  const fileSystem: FileSystem = {
    ...nodeFileSystem,
    writeSync(fd, buffer, offset, length, position) {
      if (position !== null && position < SEGMENT_HEADER_BYTES) writes++;
      return nodeFileSystem.writeSync(fd, buffer, offset, length, position);
    },
  };
  return { fileSystem, headerWrites: () => writes };
}
