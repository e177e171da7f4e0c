import { describe, expect, it } from 'vitest';
import type { ConfState, HardState, Snapshot } from '../../../src/raft/types.js';
import type { Storage } from '../../../src/storage/storage.js';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from '../../../src/storage/storage-errors.js';
import { entriesFrom, entry, plain } from './helpers.js';

/** The Storage contract plus the two helpers both implementations offer. */
export interface ContractStorage extends Storage {
  createSnapshot(index: number, data: Uint8Array, confState?: ConfState): Snapshot;
  hardState(): HardState;
}

export interface ContractSubject {
  readonly storage: ContractStorage;
  /** Releases files and directories; the storage may already be closed. */
  cleanup(): Promise<void>;
}

const confState: ConfState = { voters: ['a'], learners: [], votersOutgoing: [], autoLeave: false };

/**
 * The behaviour every Storage must share, run against MemoryStorage and
 * FileStorage alike so that the durable one can't drift from the reference.
 * `create` returns an empty storage.
 */
export function storageContractSuite(name: string, create: () => Promise<ContractSubject>): void {
  async function withStorage(...args: [terms: number[], body: (s: ContractStorage) => Promise<void> | void]): Promise<void> {
    const [terms, body] = args;
    const subject = await create();
    try {
      if (terms.length > 0) subject.storage.append(entriesFrom(1, ...terms));
      await body(subject.storage);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`Storage contract: ${name}`, () => {
    it('starts empty with index 0 of term 0 as the snapshot point', () =>
      withStorage([], (s) => {
        expect(s.firstIndex()).toBe(1);
        expect(s.lastIndex()).toBe(0);
        expect(s.term(0)).toBe(0);
        expect(s.initialState().hardState).toEqual({ term: 0, vote: undefined, commit: 0 });
        expect(s.initialState().confState.voters).toEqual([]);
        expect(s.entries(1, 1)).toEqual([]);
      }));

    it('append truncates the conflicting suffix starting at the first new entry (§5.3)', () =>
      withStorage([1, 1, 2, 2], (s) => {
        s.append(entriesFrom(3, 3, 3, 3));
        expect([1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([1, 1, 3, 3, 3]);
        s.append([entry(2, 4)]);
        expect(s.lastIndex()).toBe(2);
        expect(s.term(2)).toBe(4);
        expect(() => s.term(3)).toThrow(UnavailableError);
        s.append(entriesFrom(3, 5, 5));
        expect(s.entries(1, 5).map((e) => [e.index, e.term])).toEqual([
          [1, 1],
          [2, 4],
          [3, 5],
          [4, 5],
        ]);
      }));

    it('append ignores entries already covered by compaction and rejects gaps', () =>
      withStorage([1, 1, 1, 1], (s) => {
        s.createSnapshot(3, new Uint8Array(), s.snapshot().metadata.confState);
        s.compact(3);
        s.append(entriesFrom(2, 1, 1, 2));
        expect(s.firstIndex()).toBe(4);
        expect(s.term(4)).toBe(2);
        s.append(entriesFrom(1, 1, 1));
        expect(s.lastIndex()).toBe(4);
        expect(() => s.append([entry(7, 2)])).toThrow(/gap/);
      }));

    it('term() throws CompactedError below the snapshot point and UnavailableError past the end', () =>
      withStorage([1, 2, 3], (s) => {
        s.createSnapshot(2, new Uint8Array(), s.snapshot().metadata.confState);
        s.compact(2);
        expect(s.term(2)).toBe(2);
        expect(() => s.term(1)).toThrow(CompactedError);
        expect(() => s.term(4)).toThrow(UnavailableError);
      }));

    it('entries() honours bounds and the byte limit, always returning at least one entry', () =>
      withStorage([], (s) => {
        s.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10), entry(4, 1, 10)]);
        expect(s.entries(1, 5).map((e) => e.index)).toEqual([1, 2, 3, 4]);
        expect(s.entries(1, 5, 25).map((e) => e.index)).toEqual([1, 2]);
        expect(s.entries(1, 5, 0).map((e) => e.index)).toEqual([1]);
        expect(s.entries(2, 2)).toEqual([]);
        expect(() => s.entries(2, 6)).toThrow(UnavailableError);
        expect(plain(s.entries(3, 4)[0]!)).toEqual(plain(entry(3, 1, 10)));
        s.createSnapshot(2, new Uint8Array(), s.snapshot().metadata.confState);
        s.compact(2);
        expect(() => s.entries(2, 4)).toThrow(CompactedError);
        expect(s.entries(3, 5).map((e) => e.index)).toEqual([3, 4]);
      }));

    it('compact keeps the term of the last compacted entry and rejects out-of-range indexes', () =>
      withStorage([1, 2, 3, 4], (s) => {
        s.createSnapshot(2, new Uint8Array(), s.snapshot().metadata.confState);
        s.compact(2);
        expect(s.firstIndex()).toBe(3);
        expect(s.lastIndex()).toBe(4);
        expect(() => s.compact(2)).toThrow(CompactedError);
        expect(() => s.compact(5)).toThrow(UnavailableError);
        s.createSnapshot(4, new Uint8Array(), s.snapshot().metadata.confState);
        s.compact(4);
        expect(s.firstIndex()).toBe(5);
        expect(s.lastIndex()).toBe(4);
        expect(s.term(4)).toBe(4);
        s.append(entriesFrom(5, 5));
        expect(s.term(5)).toBe(5);
      }));

    it('applySnapshot replaces the log; an older snapshot is refused', () =>
      withStorage([1, 1, 1], (s) => {
        s.applySnapshot({ metadata: { index: 10, term: 3, confState }, data: new Uint8Array([1]) });
        expect(s.firstIndex()).toBe(11);
        expect(s.lastIndex()).toBe(10);
        expect(s.term(10)).toBe(3);
        expect(s.snapshot().metadata.index).toBe(10);
        expect(Array.from(s.snapshot().data)).toEqual([1]);
        expect(s.initialState().confState.voters).toEqual(['a']);
        expect(() => s.applySnapshot({ metadata: { index: 5, term: 2, confState }, data: new Uint8Array() })).toThrow(
          SnapshotOutOfDateError,
        );
        s.append(entriesFrom(11, 3, 4));
        expect(s.entries(11, 13).map((e) => e.term)).toEqual([3, 4]);
      }));

    it('createSnapshot records the term of the index and refuses stale or missing indexes', () =>
      withStorage([1, 2, 2], (s) => {
        const snap = s.createSnapshot(2, new Uint8Array([7]));
        expect(snap.metadata).toMatchObject({ index: 2, term: 2 });
        expect(s.snapshot()).toEqual(snap);
        expect(s.lastIndex()).toBe(3);
        expect(() => s.createSnapshot(1, new Uint8Array())).toThrow(SnapshotOutOfDateError);
        expect(() => s.createSnapshot(9, new Uint8Array())).toThrow(UnavailableError);
      }));

    it('hard state is visible at once through initialState() and hardState()', () =>
      withStorage([], async (s) => {
        s.setHardState({ term: 2, vote: 'a', commit: 0 });
        expect(s.initialState().hardState).toEqual({ term: 2, vote: 'a', commit: 0 });
        s.setHardState({ term: 3, vote: undefined, commit: 0 });
        await s.sync();
        expect(s.hardState()).toEqual({ term: 3, vote: undefined, commit: 0 });
      }));

    it('writes are readable before sync, and sync and close resolve', () =>
      withStorage([], async (s) => {
        s.append(entriesFrom(1, 1, 1));
        expect(s.lastIndex()).toBe(2);
        await expect(s.sync()).resolves.toBeUndefined();
        await expect(s.sync()).resolves.toBeUndefined();
        await expect(s.close()).resolves.toBeUndefined();
      }));
  });
}
