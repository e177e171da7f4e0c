import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { StorageClosedError } from '../../../src/storage/file/file-storage-errors.js';
import { InvalidArgumentError } from '../../../src/errors/errors.js';
import { entriesFrom, entry, plain, removeDir, tempDir } from './helpers.js';

const confState = { voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [], autoLeave: false };
const walFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.wal'));

describe('FileStorage', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('keeps everything synced across close and reopen: entries, hard state, conf state and snapshot', async () => {
    const s = await FileStorage.open(dir);
    s.append(entriesFrom(1, 1, 1, 2, 2, 3));
    s.setHardState({ term: 3, vote: 'b', commit: 4 });
    s.createSnapshot(3, new Uint8Array([9, 9]), confState);
    s.compact(2);
    await s.sync();
    await s.close();

    const r = await FileStorage.open(dir);
    expect(r.firstIndex()).toBe(3);
    expect(r.lastIndex()).toBe(5);
    expect(r.term(2)).toBe(1);
    expect(r.entries(3, 6).map(plain)).toEqual(entriesFrom(3, 2, 2, 3).map(plain));
    expect(r.initialState()).toEqual({ hardState: { term: 3, vote: 'b', commit: 4 }, confState });
    expect(r.snapshot().metadata).toEqual({ index: 3, term: 2, confState });
    expect(Array.from(r.snapshot().data)).toEqual([9, 9]);
    expect(r.recovery().truncatedTail).toBeUndefined();
    await r.close();
  });

  it('an applied snapshot survives reopen and the log continues after it', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    s.append(entriesFrom(1, 1, 1, 1));
    s.applySnapshot({ metadata: { index: 20, term: 4, confState }, data: new Uint8Array([1, 2, 3]) });
    s.append(entriesFrom(21, 4, 5));
    await s.close();
    const r = await FileStorage.open(dir);
    expect([r.firstIndex(), r.lastIndex(), r.term(20), r.term(22)]).toEqual([21, 22, 4, 5]);
    expect(r.initialState().confState).toEqual(confState);
    expect(r.recovery().resetToSnapshot).toBe(false);
    await r.close();
  });

  it('uses the confState option until a snapshot exists', async () => {
    const s = await FileStorage.open(dir, { confState });
    expect(s.initialState().confState).toEqual(confState);
    await s.close();
  });

  it('rotates segments at the size threshold and reads old entries back from disk', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 4096, cacheBytes: 0 });
    for (let i = 1; i <= 200; i++) s.append([entry(i, 1 + (i >> 6), 100, i)]);
    await s.sync();
    expect(s.stats().segments).toBeGreaterThan(5);
    for (const name of walFiles(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(4096);
    const all = s.entries(1, 201);
    expect(all.map((e) => e.index)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(plain(all[149]!)).toEqual(plain(entry(150, 3, 100, 150)));
    expect(s.entries(10, 201, 1000).length).toBe(10);
    await s.close();
    const r = await FileStorage.open(dir, { segmentBytes: 4096 });
    expect(r.entries(1, 201).map(plain)).toEqual(all.map(plain));
    await r.close();
  });

  it('an entry larger than a segment gets a segment of its own', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    s.append([entry(1, 1, 10), entry(2, 1, 5000), entry(3, 1, 10)]);
    await s.close();
    const r = await FileStorage.open(dir, { segmentBytes: 1024 });
    expect(r.entries(1, 4).map((e) => e.data.length)).toEqual([10, 5000, 10]);
    await r.close();
  });

  it('compaction deletes whole segments below the first needed entry, once its marker is synced', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 2048 });
    for (let i = 1; i <= 100; i++) s.append([entry(i, 1, 100)]);
    await s.sync();
    const before = walFiles(dir).length;
    s.createSnapshot(60, new Uint8Array([6]));
    s.compact(60);
    // The segments stay until the snapshot file and then the compaction marker are durable.
    expect(walFiles(dir).length).toBe(before);
    await s.sync();
    expect(walFiles(dir).length).toBe(before);
    await s.snapshotsWritten();
    expect(walFiles(dir).length).toBe(before);
    await s.sync();
    const after = walFiles(dir).length;
    expect(after).toBeLessThan(before);
    expect(walFiles(dir)[0]).not.toBe('0000000000000001.wal');
    s.createSnapshot(100, new Uint8Array([10]));
    s.compact(100);
    await s.snapshotsWritten();
    await s.sync();
    expect(walFiles(dir).length).toBe(1);
    await s.close();
    const r = await FileStorage.open(dir, { segmentBytes: 2048 });
    expect([r.firstIndex(), r.lastIndex(), r.term(100)]).toEqual([101, 100, 1]);
    await r.close();
  });

  it('rebuilds the log after compaction deleted the segments a later truncation reached into', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 40; i++) s.append([entry(i, 1, 50)]);
    // Truncate far back into earlier segments, then compact just below the truncation point.
    s.append(entriesFrom(5, 2, 2, 2));
    s.setHardState({ term: 2, vote: 'a', commit: 5 });
    s.createSnapshot(4, new Uint8Array([4]));
    s.compact(4);
    await s.sync();
    await s.close();
    const r = await FileStorage.open(dir, { segmentBytes: 1024 });
    expect([r.firstIndex(), r.lastIndex(), r.term(4), r.term(5), r.term(7)]).toEqual([5, 7, 1, 2, 2]);
    expect(r.initialState().hardState).toEqual({ term: 2, vote: 'a', commit: 5 });
    await r.close();
  });

  it('a truncation followed by a rotation before the new entries is replayed correctly', async () => {
    const s = await FileStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 8; i++) s.append([entry(i, 1, 100)]);
    // Entry 6 replaces 6..8 and is large enough to force a rotation first.
    s.append([entry(6, 2, 900)]);
    await s.close();
    const r = await FileStorage.open(dir, { segmentBytes: 1024 });
    expect(r.lastIndex()).toBe(6);
    expect([r.term(5), r.term(6)]).toEqual([1, 2]);
    await r.close();
  });

  it('group commit: 256 concurrent append-and-sync proposers share a few fdatasyncs', async () => {
    const s = await FileStorage.open(dir);
    const before = s.stats().fsyncs;
    const rounds = 4;
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        for (let r = 0; r < rounds; r++) {
          s.append([entry(s.lastIndex() + 1, 1, 256)]);
          await s.sync();
        }
      }),
    );
    const fsyncs = s.stats().fsyncs - before;
    expect(s.lastIndex()).toBe(256 * rounds);
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan((256 * rounds) / 16);
    expect(s.stats().records).toBeGreaterThanOrEqual(256 * rounds);
    expect(s.stats().bytesWritten).toBeGreaterThan(256 * 256 * rounds);
    await s.close();
  });

  it('sync() issued during an fdatasync waits for the next one, which covers its writes', async () => {
    const s = await FileStorage.open(dir);
    s.append([entry(1, 1)]);
    const first = s.sync();
    s.append([entry(2, 1)]);
    const second = s.sync();
    const third = s.sync();
    expect(second).toBe(third);
    const before = s.stats().fsyncs;
    await Promise.all([first, second]);
    expect(s.stats().fsyncs - before).toBe(2);
    // Nothing new written: no fdatasync at all.
    await s.sync();
    expect(s.stats().fsyncs - before).toBe(2);
    await s.close();
  });

  it('hard state is covered by the same sync as entries and an unchanged hard state writes nothing', async () => {
    const s = await FileStorage.open(dir);
    s.setHardState({ term: 1, vote: 'a', commit: 0 });
    const records = s.stats().records;
    s.setHardState({ term: 1, vote: 'a', commit: 0 });
    expect(s.stats().records).toBe(records);
    await s.close();
    const r = await FileStorage.open(dir);
    expect(r.hardState()).toEqual({ term: 1, vote: 'a', commit: 0 });
    await r.close();
  });

  it('close is idempotent and later writes throw StorageClosedError', async () => {
    const s = await FileStorage.open(dir);
    s.append([entry(1, 1)]);
    const a = s.close();
    const b = s.close();
    expect(a).toBe(b);
    await a;
    expect(() => s.append([entry(2, 1)])).toThrow(StorageClosedError);
    expect(() => s.setHardState({ term: 9, vote: undefined, commit: 0 })).toThrow(StorageClosedError);
    expect(s.lastIndex()).toBe(1);
    await expect(s.sync()).resolves.toBeUndefined();
  });

  it('rejects invalid options and non-consecutive entries', async () => {
    await expect(FileStorage.open(dir, { segmentBytes: 10 })).rejects.toThrow(InvalidArgumentError);
    const s = await FileStorage.open(dir);
    expect(() => s.append([entry(1, 1), entry(3, 1)])).toThrow(InvalidArgumentError);
    expect(s.lastIndex()).toBe(0);
    await s.close();
  });

  it('createSnapshot writes a large file in chunks in the background, letting the event loop run', async () => {
    const s = await FileStorage.open(dir, { snapshotChunkBytes: 64 * 1024 });
    s.append(entriesFrom(1, 1, 1, 1));
    const data = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
    const snapshot = s.createSnapshot(3, data);
    expect(s.snapshot()).toBe(snapshot);
    expect(readdirSync(dir).some((n) => n === 'snapshot-0000000000000003.snap')).toBe(false);
    let turns = 0;
    const count = (): void => {
      turns++;
      if (turns < 1000) setImmediate(count);
    };
    setImmediate(count);
    await s.snapshotsWritten();
    // 64 chunks: the event loop ran between them.
    expect(turns).toBeGreaterThan(10);
    await s.close();
    const r = await FileStorage.open(dir);
    expect(r.snapshot().metadata.index).toBe(3);
    expect(Buffer.from(r.snapshot().data).equals(Buffer.from(data))).toBe(true);
    await r.close();
  });

  it('keeps only the newest snapshots', async () => {
    const s = await FileStorage.open(dir, { keepSnapshots: 2 });
    s.append(entriesFrom(1, 1, 1, 1, 1));
    for (let i = 1; i <= 4; i++) s.createSnapshot(i, new Uint8Array([i]));
    await s.snapshotsWritten();
    expect(readdirSync(dir).filter((n) => n.endsWith('.snap'))).toEqual([
      'snapshot-0000000000000003.snap',
      'snapshot-0000000000000004.snap',
    ]);
    await s.close();
  });
});
