import { encodeKvCommand, type KvQueryResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });
const valueOf = (r: KvQueryResult): string | undefined => (r.type === 'get' ? r.kv?.value : undefined);

describe.each(['linearizable', 'lease'] as const)('%s reads under partitions', (consistency) => {
  it('never return a value older than the last write acknowledged before the read began', async () => {
    cluster = new RaftTestCluster({ nodes: 5, raft: { checkQuorum: true, leaseReads: true } });
    const oldLeader = await cluster.waitForLeader();
    expect((await cluster.settle(oldLeader.propose(put('k', 'v1')))).status).toBe('fulfilled');
    // Cut the old leader (and one follower) off; the majority elects a new leader and writes v2.
    const buddy = cluster.followers()[0]!;
    const majority = cluster.ids.filter((id) => id !== oldLeader.id && id !== buddy.id);
    cluster.network.partition([[oldLeader.id, buddy.id], majority]);
    const newLeader = await cluster.waitForLeader({ not: oldLeader.id });
    expect((await cluster.settle(newLeader.propose(put('k', 'v2')))).status).toBe('fulfilled');
    // A read on the minority side must not answer v1: it fails or times out instead.
    for (const node of [oldLeader, buddy]) {
      const outcome = await cluster.settle(node.read({ type: 'get', key: 'k' }, { consistency, timeoutMs: 500 }));
      if (outcome.status === 'fulfilled') expect(valueOf(outcome.value)).toBe('v2');
    }
    // On the majority side every read sees v2.
    for (const id of majority) {
      const outcome = await cluster.settle(cluster.node(id).read({ type: 'get', key: 'k' }, { consistency }));
      expect(outcome.status).toBe('fulfilled');
      expect(valueOf((outcome as PromiseFulfilledResult<KvQueryResult>).value)).toBe('v2');
    }
  });
});
