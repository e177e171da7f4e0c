import { SeededRandom, VirtualClock, type Entry } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { SimStorage } from '../../src/simulator/sim-storage.js';

const entry = (index: number, term = 1): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });

/** What the restarted node finds, over many crash seeds. */
function lastIndexesAfterCrash(make: () => SimStorage, seeds = 50): Set<number> {
  const seen = new Set<number>();
  for (let seed = 1; seed <= seeds; seed++) seen.add(make().crash(new SeededRandom(seed)).lastIndex());
  return seen;
}

describe('SimStorage with delayed syncs', () => {
  it('takes virtual time to sync: a crash before the sync completes may lose the writes, after it never', async () => {
    const clock = new VirtualClock();
    const delayed = (): SimStorage => new SimStorage(undefined, false, (complete) => clock.setTimeout(complete, 2));
    const inFlight = (): SimStorage => {
      const storage = delayed();
      storage.append([entry(1), entry(2)]);
      void storage.sync();
      return storage;
    };
    expect(lastIndexesAfterCrash(inFlight)).toEqual(new Set([0, 2])); // one append is one write

    const storage = delayed();
    storage.append([entry(1), entry(2)]);
    let synced = false;
    const sync = storage.sync().then(() => (synced = true));
    clock.advanceTo(1);
    await Promise.resolve();
    expect(synced).toBe(false);
    expect(storage.unsyncedWrites).toBe(1);
    clock.advanceTo(2);
    await sync;
    expect(storage.unsyncedWrites).toBe(0);
    expect(lastIndexesAfterCrash(() => storage, 1)).toEqual(new Set([2]));
  });

  it('makes durable only the writes made before the sync started, whatever order syncs complete in', async () => {
    const clock = new VirtualClock();
    const delays = [5, 1];
    const storage = new SimStorage(undefined, false, (complete) => clock.setTimeout(complete, delays.shift()!));
    storage.append([entry(1)]);
    const first = storage.sync();
    storage.setHardState({ term: 2, vote: 'n2', commit: 0 });
    storage.append([entry(2, 2)]);
    const second = storage.sync(); // completes first: covers everything so far
    storage.append([entry(3, 2)]);
    clock.advanceTo(1);
    await second;
    expect(storage.unsyncedWrites).toBe(1);
    clock.advanceTo(5);
    await first; // an older sync completing later must not undo or add anything
    expect(storage.unsyncedWrites).toBe(1);
    const after = storage.crash(new SeededRandom(3));
    expect(after.lastIndex()).toBeGreaterThanOrEqual(2);
    expect(after.initialState().hardState).toMatchObject({ term: 2, vote: 'n2' });
  });

  it('a crash loses the vote whose sync had not completed, in some outcomes', () => {
    const clock = new VirtualClock();
    const votes = new Set<string | undefined>();
    for (let seed = 1; seed <= 30; seed++) {
      const storage = new SimStorage(undefined, false, (complete) => clock.setTimeout(complete, 1));
      storage.setHardState({ term: 3, vote: 'n2', commit: 0 });
      void storage.sync();
      votes.add(storage.crash(new SeededRandom(seed)).initialState().hardState.vote);
    }
    expect(votes).toEqual(new Set([undefined, 'n2']));
  });

  it('completes a sync at once without a scheduler, as before', async () => {
    const storage = new SimStorage();
    storage.append([entry(1)]);
    await storage.sync();
    expect(storage.unsyncedWrites).toBe(0);
  });
});
