import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/raft-core.js';
import type { Entry } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { SeededRandom } from '../../src/time/random.js';

/*
 * Issue 11, storage pipeline: a Ready hands out at most
 * maxCommittedBytesPerReady bytes of committed entries (one entry always),
 * the rest in the next Readies, so that a restart with a long unapplied
 * tail does not load it all at once (etcd's MaxCommittedSizePerReady).
 */

/** A restarted voter whose log holds `count` committed entries of `size` bytes each, none applied. */
function restartedWithTail(count: number, size: number, maxCommittedBytesPerReady?: number): RaftCore {
  const storage = new MemoryStorage();
  const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
    term: 1,
    index: i + 1,
    type: 'normal',
    data: new Uint8Array(size).fill(i % 256),
  }));
  storage.append(entries);
  storage.setHardState({ term: 1, vote: 'a', commit: count });
  return new RaftCore(
    { id: 'a', voters: ['a', 'b', 'c'], ...(maxCommittedBytesPerReady !== undefined ? { maxCommittedBytesPerReady } : {}) },
    storage,
    new SeededRandom(1),
  );
}

/** Runs Readies until none is left; returns the indexes of the committed entries of each. */
function committedPerReady(core: RaftCore): number[][] {
  const batches: number[][] = [];
  while (core.hasReady()) {
    const ready = core.ready();
    if (ready.committedEntries.length > 0) batches.push(ready.committedEntries.map((e) => e.index));
    core.advance(ready);
  }
  return batches;
}

describe('RaftCore: committed entries per Ready', () => {
  it('hands a long unapplied tail out in slices of at most maxCommittedBytesPerReady, each entry once and in order', () => {
    const batches = committedPerReady(restartedWithTail(100, 100, 1000));
    expect(batches).toHaveLength(10);
    for (const batch of batches) expect(batch).toHaveLength(10);
    expect(batches.flat()).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('hands out an entry larger than the limit on its own', () => {
    expect(committedPerReady(restartedWithTail(3, 5000, 1000))).toEqual([[1], [2], [3]]);
  });

  it('limits to maxMessageBytes (1 MiB) by default', () => {
    // 64 KiB entries: 16 fit in 1 MiB.
    const batches = committedPerReady(restartedWithTail(40, 64 * 1024));
    expect(batches.map((b) => b.length)).toEqual([16, 16, 8]);
  });

  it('does not wait for the application: the next slice is ready as soon as the previous one is advanced', () => {
    const core = restartedWithTail(30, 100, 1000);
    const first = core.ready();
    expect(first.committedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    core.advance(first);
    expect(core.hasReady()).toBe(true);
    expect(core.ready().committedEntries[0]?.index).toBe(11);
  });
});
