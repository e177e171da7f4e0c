import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../src/errors/errors.js';
import { RaftLog } from '../../src/raft/raft-log.js';
import type { Entry } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

const entry = (index: number, term: number, bytes = 0): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(bytes),
});
const run = (from: number, ...terms: number[]): Entry[] => terms.map((t, i) => entry(from + i, t));

function logWith(stable: number[], unstable: number[] = []): { log: RaftLog; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.append(run(1, ...stable));
  const log = new RaftLog(storage);
  log.append(run(stable.length + 1, ...unstable));
  return { log, storage };
}

describe('RaftLog', () => {
  it('reads terms across storage and the unstable tail, undefined outside the log', () => {
    const { log } = logWith([1, 1, 2], [3, 3]);
    expect([0, 1, 2, 3, 4, 5].map((i) => log.term(i))).toEqual([0, 1, 1, 2, 3, 3]);
    expect(log.term(6)).toBeUndefined();
    expect(log.lastIndex()).toBe(5);
    expect(log.persistedIndex()).toBe(3);
  });

  it('§5.4.1 up-to-date compares last terms first, then lengths', () => {
    const { log } = logWith([1, 2, 2]);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('§5.3 maybeAppend rejects a mismatch at prevLogIndex, truncates conflicts and commits min(commit, last new)', () => {
    const { log } = logWith([1, 1, 1, 1]);
    expect(log.maybeAppend(4, 2, 4, run(5, 2))).toBeUndefined();
    expect(log.maybeAppend(2, 1, 10, run(3, 2, 2))).toBe(4);
    expect([1, 2, 3, 4].map((i) => log.term(i))).toEqual([1, 1, 2, 2]);
    expect(log.committed).toBe(4);
    // Entries already present (same index and term) are not truncated by a shorter, older append.
    log.append(run(5, 2, 2));
    expect(log.maybeAppend(2, 1, 0, run(3, 2))).toBe(3);
    expect(log.lastIndex()).toBe(6);
  });

  it('maybeAppend never truncates committed entries: a request to is a RaftInvariantError (issue 11, item 7)', () => {
    // Before the fix it was handled as an ordinary rejection (undefined).
    const { log } = logWith([1, 1, 1]);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, run(2, 2, 2))).toThrow(RaftInvariantError);
    expect(() => log.maybeAppend(1, 1, 3, run(2, 2, 2))).toThrow(/conflicts with committed entry/);
    expect(log.term(3)).toBe(1);
    expect(log.lastIndex()).toBe(3);
  });

  it('commitTo past the last index is a RaftInvariantError, not a silent clamp (issue 11, item 7)', () => {
    // Before the fix commitTo(9) on a 3-entry log committed 3 and said nothing.
    const { log } = logWith([1, 1, 1]);
    expect(() => log.commitTo(9)).toThrow(RaftInvariantError);
    expect(() => log.commitTo(9)).toThrow(/past the last index 3/);
    expect(log.committed).toBe(0);
    expect(log.commitTo(3)).toBe(true);
  });

  it('findConflictByTerm returns the last index at or below the given one with a term no greater', () => {
    const { log } = logWith([1, 1, 2, 2, 5, 5, 5]);
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 4, term: 2 });
    expect(log.findConflictByTerm(7, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(3, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(100, 0)).toEqual({ index: 0, term: 0 });
  });

  it('hands out committed entries only once they are persisted', () => {
    const { log, storage } = logWith([1], [1, 1]);
    log.commitTo(3);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1]);
    storage.append(log.unstable.entriesToPersist());
    log.unstable.markHanded();
    log.unstable.stableTo(3, 1);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1, 2, 3]);
    log.appliedTo(3);
    expect(log.hasNextCommittedEntries()).toBe(false);
  });

  it('stableTo ignores an acknowledgement for entries that were replaced meanwhile', () => {
    const { log } = logWith([1], [1, 1]);
    log.unstable.markHanded();
    log.append(run(3, 2));
    log.unstable.stableTo(3, 1);
    expect(log.persistedIndex()).toBe(1);
    expect(log.unstable.entriesToPersist().map((e) => e.index)).toEqual([3]);
  });

  it('slice honours the byte limit across storage and the unstable tail, and reports compaction', () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10)]);
    const log = new RaftLog(storage);
    log.append([entry(4, 1, 10), entry(5, 1, 10)]);
    expect(log.slice(2, 6, 35)?.map((e) => e.index)).toEqual([2, 3, 4]);
    expect(log.slice(1, 6)?.length).toBe(5);
    storage.compact(2);
    const compacted = new RaftLog(storage);
    expect(compacted.slice(1, 3)).toBeUndefined();
    expect(compacted.term(2)).toBe(1);
    expect(compacted.term(1)).toBeUndefined();
  });
});
