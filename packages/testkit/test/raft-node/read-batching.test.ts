import { encodeKvCommand } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 14: linearizable reads that start in the same turn of the event
 * loop share one read-index request, so the leader confirms its leadership
 * with one heartbeat round for all of them (etcd batches its reads the same
 * way). Before, each read cost a round: 2 heartbeats and 2 responses in a
 * 3-node cluster, 80 messages for the 20 reads below.
 */

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('RaftNode: concurrent linearizable reads share one read-index round', () => {
  it.each(['leader', 'follower'] as const)('20 reads started together on the %s cost one round', async (where) => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.settle(leader.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'v1' })));
    await cluster.run(50);
    const node = where === 'leader' ? leader : cluster.followers()[0]!;
    // Between two ticks: no regular heartbeat falls inside the measurement.
    cluster.network.resetStats();
    const reads = Array.from({ length: 20 }, () => node.read({ type: 'get', key: 'k' }));
    const outcomes = await cluster.settle(Promise.all(reads));
    const sent = cluster.network.stats().byProtocol.get('raft')?.sent ?? 0;
    expect(outcomes.status).toBe('fulfilled');
    for (const result of (outcomes as PromiseFulfilledResult<unknown[]>).value) expect(result).toMatchObject({ type: 'get', kv: { value: 'v1' } });
    // One round (4 messages), plus a forwarded request and its answer from a follower; a tick may add a heartbeat round.
    expect(sent).toBeLessThanOrEqual(where === 'leader' ? 8 : 10);
    expect(node.status().pendingReads).toBe(0);
  });

  it('a read that starts after a write was acknowledged sees it, even with reads of an earlier batch in flight', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50);
    const early = leader.read({ type: 'get', key: 'k' });
    const write = await cluster.settle(leader.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'after' })));
    expect(write.status).toBe('fulfilled');
    const late = await cluster.settle(leader.read({ type: 'get', key: 'k' }));
    expect(late).toMatchObject({ status: 'fulfilled', value: { kv: { value: 'after' } } });
    await cluster.settle(early);
  });

  it('reads of a batch fail together when no leader is known, and leave nothing pending', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50);
    const follower = cluster.followers()[0]!;
    for (const id of cluster.ids) if (id !== follower.id) cluster.disconnect(id);
    await cluster.run(5_000); // the follower's election timeout passes: it campaigns and forgets the leader
    expect(follower.status().leader).not.toBe(leader.id);
    const reads = Array.from({ length: 5 }, () => cluster!.settle(follower.read({ type: 'get', key: 'k' }, { timeoutMs: 1_000 })));
    for (const outcome of await Promise.all(reads)) expect(outcome.status).toBe('rejected');
    expect(follower.status().pendingReads).toBe(0);
  });
});
