import { encodeKvCommand } from '@synod/core';
import { internalTestMutations, resetInternalTestMutations } from '@synod/core/internal/test-mutations';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster, type KvRaftNode } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 14: the Ready loop is pipelined. It takes the next Ready while the
 * sync of the previous one runs, so that
 * - proposals made during the leader's fdatasync reach the followers at once
 *   instead of after it, and
 * - an entry committed by acknowledgements that arrive during a later
 *   fdatasync is applied (and its caller answered) at once, instead of after
 *   that unrelated sync.
 * Before the change the loop awaited each sync before taking the next Ready,
 * and both cases below waited for the held sync.
 */

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  resetInternalTestMutations();
  await cluster?.stop();
  cluster = undefined;
});

/** Holds each sync of one node's storage until released, oldest first: a slow disk. */
function holdSyncs(cluster: RaftTestCluster, id: string): { releaseOldest(): void; releaseAll(): void; readonly held: number } {
  const storage = cluster.storageOf(id);
  const sync = storage.sync.bind(storage);
  const open: (() => void)[] = [];
  let holding = true;
  storage.sync = () => {
    if (!holding) return sync();
    return new Promise<void>((resolve) => open.push(() => void sync().then(resolve)));
  };
  return {
    releaseOldest() {
      open.shift()?.();
    },
    releaseAll() {
      holding = false;
      for (const finish of open.splice(0)) finish();
    },
    get held() {
      return open.length;
    },
  };
}

function track<T>(operation: Promise<T>): { readonly outcome: PromiseSettledResult<T> | undefined } {
  const tracked: { outcome: PromiseSettledResult<T> | undefined } = { outcome: undefined };
  operation.then(
    (value) => (tracked.outcome = { status: 'fulfilled', value }),
    (reason: unknown) => (tracked.outcome = { status: 'rejected', reason }),
  );
  return tracked;
}

async function leaderOf(size: number): Promise<{ cluster: RaftTestCluster; leader: KvRaftNode }> {
  cluster = new RaftTestCluster({ nodes: size });
  const leader = await cluster.waitForLeader();
  await cluster.run(100); // the leader's no-op is committed and applied everywhere
  return { cluster, leader };
}

describe('RaftNode: the Ready loop does not wait for one sync before taking the next Ready', () => {
  it.each([3, 5])('%i nodes: a proposal made during the leader’s sync reaches the followers before that sync ends', async (size) => {
    const { cluster, leader } = await leaderOf(size);
    const gate = holdSyncs(cluster, leader.id);
    const first = track(leader.propose(put('a', '1')));
    await cluster.run(20);
    expect(gate.held).toBe(1);
    const second = track(leader.propose(put('b', '2')));
    const secondIndex = leader.status().lastIndex;
    await cluster.run(20);
    // The first sync is still held, and yet the followers have the second entry durably.
    expect(gate.held).toBeGreaterThanOrEqual(1);
    for (const follower of cluster.followers()) {
      expect(follower.status().lastIndex).toBe(secondIndex);
      expect(cluster.storageOf(follower.id).durableLastIndex).toBe(secondIndex);
    }
    expect(first.outcome).toBeUndefined();
    gate.releaseAll();
    await cluster.driveUntil(() => first.outcome !== undefined && second.outcome !== undefined);
    expect(first.outcome?.status).toBe('fulfilled');
    expect(second.outcome?.status).toBe('fulfilled');
    cluster.assertSafe();
  });

  it('an entry committed while a later sync runs is applied and answered without waiting for that sync', async () => {
    const { cluster, leader } = await leaderOf(3);
    const gate = holdSyncs(cluster, leader.id);
    const first = track(leader.propose(put('a', '1')));
    await cluster.run(20);
    const second = track(leader.propose(put('b', '2')));
    await cluster.run(20);
    // Both syncs are waiting: the first (entry a) and the second (entry b).
    expect(gate.held).toBe(2);
    gate.releaseOldest();
    await cluster.run(20);
    // Entry a is durable on the leader and on the followers: it commits and
    // applies although the sync of entry b is still held.
    expect(gate.held).toBe(1);
    expect(first.outcome?.status).toBe('fulfilled');
    expect(cluster.stateOf(leader.id).get('a')).toMatchObject({ value: '1' });
    expect(second.outcome).toBeUndefined();
    gate.releaseAll();
    await cluster.driveUntil(() => second.outcome !== undefined);
    expect(second.outcome?.status).toBe('fulfilled');
    cluster.assertSafe();
  });

  it('a follower acknowledges nothing before its own sync, however many Readies run ahead', async () => {
    const { cluster, leader } = await leaderOf(3);
    const [follower, other] = cluster.followers();
    cluster.disconnect(other!.id);
    const gate = holdSyncs(cluster, follower!.id);
    const before = leader.status().commitIndex;
    const proposals = [track(leader.propose(put('a', '1')))];
    await cluster.run(20);
    proposals.push(track(leader.propose(put('b', '2'))));
    await cluster.run(200);
    // The follower has both entries but has synced neither: no quorum yet.
    expect(follower!.status().lastIndex).toBe(leader.status().lastIndex);
    expect(leader.status().commitIndex).toBe(before);
    expect(proposals.every((p) => p.outcome === undefined)).toBe(true);
    gate.releaseAll();
    await cluster.driveUntil(() => proposals.every((p) => p.outcome !== undefined));
    expect(proposals.map((p) => p.outcome?.status)).toEqual(['fulfilled', 'fulfilled']);
    cluster.assertSafe();
  });

  it('a read-index round does not wait for a follower’s fdatasync: heartbeats and their answers leave at once', async () => {
    const { cluster, leader } = await leaderOf(3);
    const [follower, other] = cluster.followers();
    cluster.disconnect(other!.id);
    const gate = holdSyncs(cluster, follower!.id);
    const write = track(leader.propose(put('a', '1')));
    await cluster.run(20);
    expect(gate.held).toBe(1);
    // The follower's sync of entry a is held; the read needs its heartbeat answer.
    const read = track(leader.read({ type: 'get', key: 'k' }));
    await cluster.run(20);
    expect(read.outcome?.status).toBe('fulfilled');
    expect(write.outcome).toBeUndefined();
    gate.releaseAll();
    await cluster.driveUntil(() => write.outcome !== undefined);
    expect(write.outcome?.status).toBe('fulfilled');
    cluster.assertSafe();
  });

  it('has teeth: acknowledging before the sync commits while the follower still syncs', async () => {
    const { cluster, leader } = await leaderOf(3);
    const [follower, other] = cluster.followers();
    cluster.disconnect(other!.id);
    const gate = holdSyncs(cluster, follower!.id);
    internalTestMutations.ackBeforeSync = true;
    const before = leader.status().commitIndex;
    void leader.propose(put('a', '1')).catch(() => undefined);
    await cluster.run(200);
    expect(leader.status().commitIndex).toBeGreaterThan(before);
    gate.releaseAll();
  });
});
