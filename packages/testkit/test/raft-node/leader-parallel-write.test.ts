import { encodeKvCommand } from '@synod/core';
import { internalTestMutations, resetInternalTestMutations } from '@synod/core/internal/test-mutations';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster, type KvRaftNode } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 11, storage pipeline: the leader writes its entries in parallel with
 * replicating them (etcd's leader-parallel write). Its appends leave before
 * its own sync completes, and its own copy counts toward a commit only once
 * that sync is done. Before the change the leader sent nothing until its
 * sync returned, so the first case below never committed while the sync was
 * held; a leader that counted itself before its sync fails the second.
 */

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  resetInternalTestMutations();
  await cluster?.stop();
  cluster = undefined;
});

/**
 * Holds every sync of one node's storage open until `release()`: the writes
 * made before each sync become durable only then, as with a slow disk.
 */
function holdSyncs(cluster: RaftTestCluster, id: string): { release(): void; readonly held: number } {
  const storage = cluster.storageOf(id);
  const sync = storage.sync.bind(storage);
  let open: (() => void)[] = [];
  let holding = true;
  storage.sync = () => {
    if (!holding) return sync();
    // The sync covers what was written before it was called, not what comes while it is held.
    return new Promise<void>((resolve) => open.push(() => void sync().then(resolve)));
  };
  return {
    release() {
      holding = false;
      const waiting = open;
      open = [];
      for (const finish of waiting) finish();
    },
    get held() {
      return open.length;
    },
  };
}

/** Records how a promise settles, without driving the clock (the test does that). */
function track<T>(operation: Promise<T>): { readonly outcome: PromiseSettledResult<T> | undefined } {
  const tracked: { outcome: PromiseSettledResult<T> | undefined } = { outcome: undefined };
  operation.then(
    (value) => (tracked.outcome = { status: 'fulfilled', value }),
    (reason: unknown) => (tracked.outcome = { status: 'rejected', reason }),
  );
  return tracked;
}

async function leaderOf(size: number) {
  cluster = new RaftTestCluster({ nodes: size });
  const leader = await cluster.waitForLeader();
  await cluster.run(100); // the leader's no-op is committed and applied everywhere
  return { cluster, leader };
}

describe("RaftNode: the leader's disk write runs in parallel with replication", () => {
  it.each([3, 5])('%i nodes: an entry commits on follower acknowledgements while the leader still syncs it', async (size) => {
    const { cluster, leader } = await leaderOf(size);
    const followers = cluster.followers();
    const gate = holdSyncs(cluster, leader.id);
    const index = leader.status().lastIndex + 1;
    const proposal = track(leader.propose(put('k', 'v')));
    await cluster.run(50);
    expect(gate.held).toBeGreaterThan(0);
    // The followers got the entry and synced it, and their acknowledgements
    // are a quorum without the leader.
    for (const follower of followers) expect(follower.status().lastIndex).toBe(index);
    // (A commit index alone is written without a sync, so check the entries.)
    expect(cluster.storageOf(followers[0]!.id).durableLastIndex).toBe(index);
    expect(leader.status().commitIndex).toBe(index);
    // The leader applies only what it has persisted itself: the caller waits for the sync.
    expect(proposal.outcome).toBeUndefined();
    expect(leader.status().appliedIndex).toBe(index - 1);
    gate.release();
    await cluster.driveUntil(() => proposal.outcome !== undefined);
    expect(proposal.outcome?.status).toBe('fulfilled');
    expect(cluster.stateOf(leader.id).get('k')).toMatchObject({ value: 'v' });
    cluster.assertSafe();
  });

  it.each([
    { size: 3, down: 1 },
    { size: 5, down: 2 },
  ])(
    '$size nodes, $down down: with one acknowledgement short of a quorum nothing commits until the leader has synced',
    async ({ size, down }) => {
      const { cluster, leader } = await leaderOf(size);
      const { live, gate, index, proposal } = await proposeWithFollowersDown(cluster, leader, down);
      // The live followers hold the entry durably: with the leader's own
      // copy they would be a quorum, but that copy is not durable yet.
      for (const follower of live) expect(follower.status().lastIndex).toBe(index);
      expect(leader.status().commitIndex).toBe(index - 1);
      for (const follower of live) expect(follower.status().commitIndex).toBe(index - 1);
      expect(proposal.outcome).toBeUndefined();
      gate.release();
      await cluster.driveUntil(() => proposal.outcome !== undefined);
      expect(proposal.outcome?.status).toBe('fulfilled');
      expect(leader.status().commitIndex).toBeGreaterThanOrEqual(index);
      cluster.assertSafe();
    },
  );

  it('has teeth: a leader that counts its own copy before the sync commits one acknowledgement short', async () => {
    const { cluster, leader } = await leaderOf(3);
    internalTestMutations.selfAckBeforeSync = true;
    const { gate, index } = await proposeWithFollowersDown(cluster, leader, 1);
    expect(leader.status().commitIndex).toBe(index);
    gate.release();
  });
});

/** Disconnects `down` followers, holds the leader's syncs and proposes; returns after 200 ms of virtual time. */
async function proposeWithFollowersDown(cluster: RaftTestCluster, leader: KvRaftNode, down: number) {
  const followers = cluster.followers();
  for (const follower of followers.slice(0, down)) cluster.disconnect(follower.id);
  const live = followers.slice(down);
  const gate = holdSyncs(cluster, leader.id);
  const index = leader.status().lastIndex + 1;
  const proposal = track(leader.propose(put('k', 'v')));
  await cluster.run(200);
  expect(gate.held).toBeGreaterThan(0);
  return { live, gate, index, proposal };
}
