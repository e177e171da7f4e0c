import { ProposalDroppedError, encodeKvCommand, type KvResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/**
 * The transport may duplicate any message (DESIGN.md), including a proposal
 * a follower forwards to the leader; the leader then appends it twice.
 * RaftNode must apply it once. Found by the membership simulator (seed 62,
 * 5 voters): a put applied again after a later delete brought the key back.
 */

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const put = (key: string, value: string) => encodeKvCommand({ type: 'put', key, value });

/** A leader, and a cluster whose followers all know it (so they forward). */
async function settledLeader(c: RaftTestCluster) {
  const leader = await c.waitForLeader();
  await c.driveUntil(() => c.followers().every((n) => n.status().leader === leader.id), 2000);
  return leader;
}

describe('duplicated proposals', () => {
  it('applies a forwarded proposal once when every message is delivered twice', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await settledLeader(cluster);
    const follower = cluster.followers()[0]!;
    cluster.network.setFaults({ duplicateRate: 1 });
    const results: PromiseSettledResult<KvResult>[] = [];
    for (let i = 0; i < 10; i++) results.push(await cluster.settle(follower.propose(put(`k${i}`, `v${i}`))));
    expect(results.map((r) => (r.status === "fulfilled" ? "ok" : String(r.reason)))).toEqual(Array(10).fill("ok"));
    // Both copies of every proposal are in the log…
    await cluster.driveUntil(() => cluster!.running().every((n) => n.status().appliedIndex === leader.status().lastIndex), 2000);
    expect(leader.status().lastIndex).toBeGreaterThanOrEqual(20);
    // …but each applied once: ten puts, ten revisions, version 1 each.
    for (const node of cluster.running()) {
      const kv = cluster.stateOf(node.id);
      expect(kv.revision, node.id).toBe(10);
      for (let i = 0; i < 10; i++) expect(kv.get(`k${i}`)?.version, `${node.id} k${i}`).toBe(1);
    }
  });

  it('does not bring back a deleted key when a duplicated put arrives after the delete', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await settledLeader(cluster);
    const follower = cluster.followers()[0]!;
    // Each forwarded put is delivered twice, each copy after 1 to 400 ms:
    // often the second copy lands after the put returned and the delete ran.
    cluster.network.setLinkFaults(follower.id, leader.id, {
      duplicateRate: 1,
      delay: { kind: 'uniform', minMs: 1, maxMs: 400 },
    });
    for (let i = 0; i < 10; i++) {
      expect((await cluster.settle(follower.propose(put(`k${i}`, 'v')))).status).toBe('fulfilled');
      expect((await cluster.settle(leader.propose(encodeKvCommand({ type: 'delete', key: `k${i}` })))).status).toBe('fulfilled');
    }
    await cluster.run(1000);
    for (const node of cluster.running()) {
      for (let i = 0; i < 10; i++) expect(cluster.stateOf(node.id).get(`k${i}`), `${node.id} k${i}`).toBeUndefined();
    }
  });

  it('keeps what applied across a snapshot, so a node restored from it skips the same copies', async () => {
    cluster = new RaftTestCluster({ nodes: 3, node: { snapshots: { entries: 4, retainEntries: 0 } } });
    const leader = await settledLeader(cluster);
    const follower = cluster.followers()[0]!;
    const lagging = cluster.followers()[1]!;
    cluster.disconnect(lagging.id);
    cluster.network.setFaults({ duplicateRate: 1 });
    for (let i = 0; i < 12; i++) expect((await cluster.settle(follower.propose(put(`k${i}`, 'v')))).status).toBe('fulfilled');
    cluster.network.setFaults({ duplicateRate: 0 });
    cluster.connect(lagging.id);
    await cluster.driveUntil(() => lagging.status().appliedIndex === leader.status().appliedIndex, 5000);
    expect(cluster.storageOf(lagging.id).snapshot().metadata.index).toBeGreaterThan(0);
    expect(cluster.stateOf(lagging.id).revision).toBe(12);
    // A proposal after the catch-up applies normally everywhere.
    expect((await cluster.settle(follower.propose(put('after', 'x')))).status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.running().every((n) => cluster!.stateOf(n.id).revision === 13), 2000);
  });

  it('fails a forwarded proposal that the network let a later one overtake, and applies exactly the others', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await settledLeader(cluster);
    const follower = cluster.followers()[0]!;
    cluster.network.setLinkFaults(follower.id, leader.id, { delay: { kind: 'uniform', minMs: 1, maxMs: 100 } });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cluster!.settle(follower.propose(put(`k${i}`, 'v')))),
    );
    const applied = outcomes.filter((o) => o.status === 'fulfilled').length;
    const dropped = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ProposalDroppedError).length;
    expect(applied + dropped).toBe(20);
    expect(dropped).toBeGreaterThan(0);
    await cluster.driveUntil(() => cluster!.running().every((n) => n.status().appliedIndex === leader.status().lastIndex), 2000);
    for (const node of cluster.running()) expect(cluster.stateOf(node.id).revision, node.id).toBe(applied);
  });
});
