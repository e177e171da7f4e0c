import { TimeoutError, encodeKvCommand, type KvResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/**
 * Raft thesis §6.3: a client that times out cannot tell whether its command
 * was applied, so it retries; client sessions make the retry harmless. Here
 * the leader changes between the first attempt and the retry.
 */

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const session = { clientId: 'client-7', sequence: 1 };
const command = encodeKvCommand({ type: 'put', key: 'balance', value: '100', session });

describe('exactly-once application across leader changes', () => {
  it('applies a command once when the client retries it on a new leader after the old one was cut off mid-request', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const old = await cluster.waitForLeader();
    const first = old.propose(command, { timeoutMs: 300 });
    // Let the entry reach the followers, then cut the leader off before it learns the entry committed.
    await cluster.driveUntil(() => cluster!.followers().every((n) => n.status().lastIndex >= old.status().lastIndex), 100);
    cluster.disconnect(old.id);
    const firstOutcome = await cluster.settle(first);
    expect(firstOutcome.status).toBe('rejected');
    expect((firstOutcome as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);

    const next = await cluster.waitForLeader({ not: old.id });
    const retry = await cluster.settle(next.propose(command, { timeoutMs: 2000 }));
    expect(retry.status).toBe('fulfilled');
    const result = (retry as PromiseFulfilledResult<KvResult>).value;
    expect(result.type).toBe('put');

    cluster.connect(old.id);
    const expectedRevision = result.type === 'put' ? result.revision : -1;
    await cluster.driveUntil(() => cluster!.running().every((n) => cluster!.stateOf(n.id).get('balance')?.value === '100'), 3000);
    for (const node of cluster.running()) {
      const kv = cluster.stateOf(node.id);
      // One put, one revision: the retry answered from the session cache.
      expect(kv.revision).toBe(1);
      expect(kv.get('balance')?.version).toBe(1);
      expect(kv.get('balance')?.modRevision).toBe(expectedRevision);
    }
  });

  it('applies a command once when the first attempt was lost with the old leader and only the retry commits', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const old = await cluster.waitForLeader();
    cluster.disconnect(old.id);
    const first = old.propose(command, { timeoutMs: 300 });
    expect((await cluster.settle(first)).status).toBe('rejected');
    const next = await cluster.waitForLeader({ not: old.id });
    expect((await cluster.settle(next.propose(command, { timeoutMs: 2000 }))).status).toBe('fulfilled');
    // The old leader comes back: its uncommitted copy is overwritten, never applied.
    cluster.connect(old.id);
    await cluster.driveUntil(() => cluster!.running().every((n) => cluster!.stateOf(n.id).revision === 1), 3000);
    await cluster.run(500);
    for (const node of cluster.running()) expect(cluster.stateOf(node.id).revision).toBe(1);
  });
});
