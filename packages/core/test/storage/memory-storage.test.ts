import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from '../../src/storage/storage-errors.js';

const entry = (index: number, term: number, bytes = 0): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(bytes),
});

function storageWith(...terms: number[]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => entry(i + 1, t)));
  return s;
}

describe('MemoryStorage', () => {
  it('starts empty with index 0 of term 0 as the snapshot point', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState().hardState).toEqual({ term: 0, vote: undefined, commit: 0 });
    expect(s.initialState().confState.voters).toEqual([]);
  });

  it('append truncates the conflicting suffix starting at the first new entry (§5.3)', () => {
    const s = storageWith(1, 1, 2, 2);
    s.append([entry(3, 3), entry(4, 3), entry(5, 3)]);
    expect([1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([1, 1, 3, 3, 3]);
    // A shorter append also drops everything after it.
    s.append([entry(2, 4)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(4);
  });

  it('append ignores entries already covered by compaction and rejects gaps', () => {
    const s = storageWith(1, 1, 1, 1);
    s.compact(3);
    s.append([entry(2, 1), entry(3, 1), entry(4, 2)]);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(4)).toBe(2);
    expect(() => s.append([entry(7, 2)])).toThrow(/gap/);
  });

  it('term() throws CompactedError below the snapshot point and UnavailableError past the end', () => {
    const s = storageWith(1, 2, 3);
    s.compact(2);
    expect(s.term(2)).toBe(2);
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.term(4)).toThrow(UnavailableError);
  });

  it('entries() honours bounds and the byte limit, always returning at least one entry', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10), entry(4, 1, 10)]);
    expect(s.entries(1, 5).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(s.entries(1, 5, 25).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 5, 0).map((e) => e.index)).toEqual([1]);
    expect(s.entries(2, 2)).toEqual([]);
    expect(() => s.entries(2, 6)).toThrow(UnavailableError);
    s.compact(2);
    expect(() => s.entries(2, 4)).toThrow(CompactedError);
    expect(s.entries(3, 5).map((e) => e.index)).toEqual([3, 4]);
  });

  it('compact keeps the term of the last compacted entry and rejects out-of-range indexes', () => {
    const s = storageWith(1, 2, 3, 4);
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.lastIndex()).toBe(4);
    expect(() => s.compact(2)).toThrow(CompactedError);
    expect(() => s.compact(5)).toThrow(UnavailableError);
  });

  it('applySnapshot replaces the log; an older snapshot is refused', () => {
    const s = storageWith(1, 1, 1);
    const confState = { voters: ['a'], learners: [], votersOutgoing: [], autoLeave: false };
    s.applySnapshot({ metadata: { index: 10, term: 3, confState }, data: new Uint8Array([1]) });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(3);
    expect(s.initialState().confState.voters).toEqual(['a']);
    expect(() => s.applySnapshot({ metadata: { index: 5, term: 2, confState }, data: new Uint8Array() })).toThrow(
      SnapshotOutOfDateError,
    );
  });

  it('createSnapshot records the term of the index and refuses stale or missing indexes', () => {
    const s = storageWith(1, 2, 2);
    const snap = s.createSnapshot(2, new Uint8Array([7]));
    expect(snap.metadata).toMatchObject({ index: 2, term: 2 });
    expect(s.snapshot()).toBe(snap);
    expect(() => s.createSnapshot(1, new Uint8Array())).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(9, new Uint8Array())).toThrow(UnavailableError);
  });

  it('errors carry stable codes', () => {
    expect(new CompactedError(1).code).toBe('LOG_COMPACTED');
    expect(new UnavailableError(1).code).toBe('LOG_UNAVAILABLE');
    expect(new SnapshotOutOfDateError(1, 2).code).toBe('SNAPSHOT_OUT_OF_DATE');
  });

  it('sync and close resolve at once', async () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 2, vote: 'a', commit: 0 });
    await expect(s.sync()).resolves.toBeUndefined();
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 'a', commit: 0 });
    await expect(s.close()).resolves.toBeUndefined();
  });
});
