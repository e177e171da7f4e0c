import { encodeKvCommand, type Entry, type HardState, type Snapshot } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/**
 * Counts, on one node's storage, the syncs that had nothing to make durable
 * but a new commit index: etcd's MustSync skips those, because the commit
 * index is learnt from the leader again after a restart.
 */
function watchSyncs(cluster: RaftTestCluster, id: string): { commitOnlyWrites: number; commitOnlySyncs: number; syncs: number } {
  const storage = cluster.storageOf(id);
  const counts = { commitOnlyWrites: 0, commitOnlySyncs: 0, syncs: 0 };
  let needed = false;
  let commitWritten = false;
  const append = storage.append.bind(storage);
  storage.append = (entries: readonly Entry[]) => {
    if (entries.length > 0) needed = true;
    append(entries);
  };
  const applySnapshot = storage.applySnapshot.bind(storage);
  storage.applySnapshot = (snapshot: Snapshot) => {
    needed = true;
    applySnapshot(snapshot);
  };
  const setHardState = storage.setHardState.bind(storage);
  storage.setHardState = (hardState: HardState) => {
    const previous = storage.initialState().hardState;
    if (hardState.term !== previous.term || hardState.vote !== previous.vote) needed = true;
    else if (hardState.commit !== previous.commit) {
      commitWritten = true;
      counts.commitOnlyWrites++;
    }
    setHardState(hardState);
  };
  const sync = storage.sync.bind(storage);
  storage.sync = () => {
    counts.syncs++;
    if (!needed && commitWritten) counts.commitOnlySyncs++;
    needed = false;
    commitWritten = false;
    return sync();
  };
  return counts;
}

describe('RaftNode storage syncs (MustSync)', () => {
  it('a Ready that changes only the commit index does not force a sync', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    const leader = cluster.leader()!;
    await cluster.run(100);
    const follower = cluster.followers()[0]!;
    const counts = watchSyncs(cluster, follower.id);
    for (let i = 0; i < 5; i++) {
      const outcome = await cluster.settle(leader.propose(put(`k${i}`, 'v')));
      expect(outcome.status).toBe('fulfilled');
    }
    await cluster.run(300);
    // The follower learnt new commit indexes on their own (heartbeats, or
    // appends after the entries it already had)...
    expect(counts.commitOnlyWrites).toBeGreaterThan(0);
    expect(follower.status().commitIndex).toBe(leader.status().commitIndex);
    // ...and none of them cost a sync; the entries did.
    expect(counts.commitOnlySyncs).toBe(0);
    expect(counts.syncs).toBeGreaterThan(0);
  });
});
