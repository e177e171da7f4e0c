import { encodeKvCommand, type KvResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster, type KvRaftNode } from '../../src/cluster/raft-test-cluster.js';

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const ELECTION_MS = 100;
const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

/** Proposes and drives time until it settles; true when it committed and applied. */
async function commits(c: RaftTestCluster, node: KvRaftNode, key: string, value: string, limitMs = 5000): Promise<boolean> {
  const outcome = await c.settle(node.propose(put(key, value), { timeoutMs: limitMs }), limitMs + 100);
  return outcome.status === 'fulfilled';
}

/** Drives time until every running node has applied `key = value`. */
async function everyoneHas(c: RaftTestCluster, key: string, value: string, limitMs = 3000): Promise<void> {
  await c.driveUntil(() => c.running().every((n) => c.stateOf(n.id).get(key)?.value === value), limitMs);
}

describe('log replication on the simulator', () => {
  it('agrees despite a failed follower, and the follower catches up when it returns', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    expect(await commits(cluster, leader, 'a', '1')).toBe(true);
    const follower = cluster.followers()[0]!;
    cluster.disconnect(follower.id);
    for (let i = 2; i <= 5; i++) expect(await commits(cluster, cluster.leader()!, 'a', String(i))).toBe(true);
    cluster.connect(follower.id);
    await everyoneHas(cluster, 'a', '5');
  });

  it('does not commit without a majority (3 of 5 disconnected), and commits again once they return', async () => {
    cluster = new RaftTestCluster({ nodes: 5, raft: { checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    expect(await commits(cluster, leader, 'b', '1')).toBe(true);
    const others = cluster.followers().slice(0, 3);
    for (const n of others) cluster.disconnect(n.id);
    const commitBefore = leader.status().commitIndex;
    expect(await commits(cluster, leader, 'b', 'minority', 10 * ELECTION_MS)).toBe(false);
    expect(leader.status().commitIndex).toBe(commitBefore);
    for (const n of others) cluster.connect(n.id);
    const next = await cluster.waitForLeader();
    expect(await commits(cluster, next, 'b', '3')).toBe(true);
    await everyoneHas(cluster, 'b', '3');
  });

  it('commits concurrent proposals from many clients, each exactly once, in one order everywhere', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const proposals = Array.from({ length: 50 }, (_, i) => leader.propose(put(`c${i}`, String(i))));
    const outcome = await cluster.settle(Promise.all(proposals));
    expect(outcome.status).toBe('fulfilled');
    const revisions = (outcome as PromiseFulfilledResult<KvResult[]>).value.map((r) => r.type === 'put' && r.revision);
    expect(new Set(revisions).size).toBe(50);
    await cluster.driveUntil(() => cluster!.running().every((n) => cluster!.stateOf(n.id).size === 50), 2000);
  });

  it('a partitioned leader’s stale entries are discarded when it rejoins', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false } });
    const leader1 = await cluster.waitForLeader();
    expect(await commits(cluster, leader1, 'r', 'base')).toBe(true);
    cluster.disconnect(leader1.id);
    // The old leader appends entries it can never commit.
    const doomed = ['x', 'y', 'z'].map((v) => leader1.propose(put('r', `stale-${v}`), { timeoutMs: 60_000 }));
    for (const p of doomed) p.catch(() => undefined);
    const leader2 = await cluster.waitForLeader({ not: leader1.id });
    expect(await commits(cluster, leader2, 'r', 'new')).toBe(true);
    // Leader 2 is cut off too; leader 1 comes back and must not win with its stale log.
    cluster.disconnect(leader2.id);
    cluster.connect(leader1.id);
    const leader3 = await cluster.waitForLeader({ not: leader2.id, limitMs: 20 * ELECTION_MS });
    expect(await commits(cluster, leader3, 'r', 'newer')).toBe(true);
    cluster.connect(leader2.id);
    await everyoneHas(cluster, 'r', 'newer');
    const outcomes = await Promise.allSettled(doomed);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  });

  it('fast backup: a follower 50 entries into a conflicting branch is brought in line quickly', async () => {
    cluster = new RaftTestCluster({ nodes: 5, raft: { checkQuorum: false } });
    const leader1 = await cluster.waitForLeader();
    expect(await commits(cluster, leader1, 'f', '0')).toBe(true);
    // Leader 1 and one follower form a minority and append 50 entries that never commit.
    const partner = cluster.followers()[0]!;
    const majority = cluster.ids.filter((id) => id !== leader1.id && id !== partner.id);
    cluster.network.partition([[leader1.id, partner.id], majority]);
    const doomed = Array.from({ length: 50 }, (_, i) => leader1.propose(put('f', `lost${i}`), { timeoutMs: 60_000 }));
    for (const p of doomed) p.catch(() => undefined);
    await cluster.run(ELECTION_MS);
    // The majority commits 50 entries of its own.
    const leader2 = await cluster.waitForLeader({ not: leader1.id });
    const kept = Array.from({ length: 50 }, (_, i) => leader2.propose(put('f', `kept${i}`)));
    expect((await cluster.settle(Promise.all(kept))).status).toBe('fulfilled');
    cluster.heal();
    const healedAt = cluster.clock.now();
    await everyoneHas(cluster, 'f', 'kept49');
    // Conflict hints let the leader skip the whole divergent branch in a few round trips.
    expect(cluster.clock.now() - healedAt).toBeLessThan(5 * ELECTION_MS);
  });
});

describe('faults on the simulator', () => {
  it('Figure 8 with crashes on an unreliable network keeps every committed entry', async () => {
    cluster = new RaftTestCluster({ nodes: 5, seed: 8, raft: { checkQuorum: true } });
    cluster.network.setFaults({ dropRate: 0.1, duplicateRate: 0.05, delay: { kind: 'uniform', minMs: 1, maxMs: 20 }, reorder: { rate: 0.1, maxExtraDelayMs: 30 } });
    let committed = 0;
    let x = 11;
    const next = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
    for (let round = 0; round < 40; round++) {
      const leader = cluster.leader();
      if (leader !== undefined) {
        const p = leader.propose(put('fig8', String(round)), { timeoutMs: 500 });
        p.then(() => committed++, () => undefined);
      }
      await cluster.run(next(2) === 0 ? 13 * next(10) : ELECTION_MS * next(5));
      if (leader !== undefined && next(2) === 0) await cluster.crash(leader.id);
      const down = cluster.ids.filter((id) => !cluster!.running().some((n) => n.id === id));
      if (down.length > 0 && (cluster.running().length < 3 || next(3) === 0)) cluster.restart(down[next(down.length)]!);
    }
    cluster.network.setFaults({});
    for (const id of cluster.ids) cluster.restart(id);
    const leader = await cluster.waitForLeader({ limitMs: 50 * ELECTION_MS });
    expect(await commits(cluster, leader, 'fig8', 'final', 50 * ELECTION_MS)).toBe(true);
    await everyoneHas(cluster, 'fig8', 'final', 50 * ELECTION_MS);
    expect(committed).toBeGreaterThan(0);
  });

  it('churn: crashes, restarts and partitions, then every node converges', async () => {
    cluster = new RaftTestCluster({ nodes: 5, seed: 21 });
    cluster.network.setFaults({ dropRate: 0.05, delay: { kind: 'uniform', minMs: 1, maxMs: 10 } });
    let x = 5;
    const next = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
    let writes = 0;
    for (let round = 0; round < 60; round++) {
      const target = cluster.running()[next(Math.max(1, cluster.running().length))];
      if (target !== undefined) target.propose(put(`churn${next(5)}`, String(round)), { timeoutMs: 400 }).then(() => writes++, () => undefined);
      switch (next(6)) {
        case 0:
          if (cluster.running().length > 3) await cluster.crash(cluster.running()[next(cluster.running().length)]!.id);
          break;
        case 1:
          for (const id of cluster.ids) cluster.restart(id);
          break;
        case 2: {
          const shuffled = [...cluster.ids].sort(() => next(3) - 1);
          cluster.network.partition([shuffled.slice(0, 2), shuffled.slice(2)]);
          break;
        }
        case 3:
          cluster.heal();
          break;
        default:
          break;
      }
      await cluster.run(20 + next(200));
    }
    cluster.heal();
    cluster.network.setFaults({});
    for (const id of cluster.ids) cluster.restart(id);
    const leader = await cluster.waitForLeader({ limitMs: 50 * ELECTION_MS });
    expect(await commits(cluster, leader, 'churn', 'end', 50 * ELECTION_MS)).toBe(true);
    await everyoneHas(cluster, 'churn', 'end', 50 * ELECTION_MS);
    expect(writes).toBeGreaterThan(0);
  });
});
