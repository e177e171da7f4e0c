import { NotLeaderError, StoppedError, TimeoutError, type KvResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { PaxosNodeCluster, put, type KvPaxosNode } from './paxos-node-cluster.js';

// Scenarios in the style of the classic Paxos course labs, on MultiPaxosNode
// with the memory network and a virtual clock. Every scenario also runs the
// simulator's invariants (one value chosen per slot, learned values agree,
// applied sequences identical) on every acceptance and apply.

let cluster: PaxosNodeCluster;
afterEach(async () => {
  expect(cluster.invariants.violations).toEqual([]);
  await cluster.stop();
});

async function proposeAll(leader: KvPaxosNode, count: number, prefix = 'v'): Promise<KvResult[]> {
  const calls = Array.from({ length: count }, (_, i) => leader.propose(put(`k${i % 7}`, `${prefix}${i}`)));
  return cluster.settle(Promise.all(calls));
}

describe('Multi-Paxos scenarios', () => {
  it('basic agreement: proposals on the leader are applied in the same order everywhere', async () => {
    cluster = new PaxosNodeCluster(3);
    const leader = await cluster.waitForLeader();
    const results = await proposeAll(leader, 10);
    expect(results.every((r) => r.type === 'put')).toBe(true);
    await cluster.run(100);
    const applied = cluster.applied();
    expect(new Set(applied).size).toBe(1);
    const read = await cluster.settle(leader.read({ type: 'get', key: 'k3' }));
    expect(read).toMatchObject({ type: 'get', kv: { value: 'v3' } });
  });

  it('deaf replicas: with one deaf the rest decide; with a majority deaf nothing is decided until they hear again', async () => {
    cluster = new PaxosNodeCluster(5);
    const leader = await cluster.waitForLeader();
    const deaf = cluster.ids.filter((id) => id !== leader.id).slice(0, 1);
    for (const from of cluster.ids) for (const to of deaf) cluster.network.cutLink(from, to);
    await proposeAll(leader, 5, 'a');
    const others = cluster.ids.filter((id) => id !== leader.id && !deaf.includes(id));
    // Two more deaf: only leader + one other hear anything. Nothing can be chosen.
    for (const from of cluster.ids) for (const to of others.slice(0, 2)) cluster.network.cutLink(from, to);
    const stuck = leader.propose(put('x', 'stuck'), { timeoutMs: 500 });
    await expect(cluster.settle(stuck)).rejects.toBeInstanceOf(Error);
    cluster.network.heal();
    const newLeader = await cluster.waitForLeader();
    await cluster.settle(newLeader.propose(put('x', 'after')));
    await cluster.run(200);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('forgetting: once every node has applied, checkpoints truncate the log, and a node that was away catches up from one', async () => {
    cluster = new PaxosNodeCluster(3, { snapshots: { entries: 10, retainEntries: 0 } });
    const leader = await cluster.waitForLeader();
    await proposeAll(leader, 40);
    await cluster.run(100);
    for (const id of cluster.ids) expect(cluster.node(id).status().compactedTo).toBeGreaterThan(0);
    const away = cluster.ids.find((id) => id !== leader.id)!;
    await cluster.crash(away);
    await proposeAll(leader, 40, 'w');
    await cluster.run(50);
    const back = cluster.restart(away);
    await cluster.run(500);
    expect(back.status().appliedIndex).toBe(leader.status().appliedIndex);
    const read = await cluster.settle(back.read({ type: 'get', key: 'k1' }, { consistency: 'serializable' }));
    expect(read).toMatchObject({ kv: { value: 'w36' } });
  });

  it('many concurrent instances: 500 proposals in flight are all chosen, in one order everywhere', async () => {
    cluster = new PaxosNodeCluster(3, { paxos: { window: 64 } });
    const leader = await cluster.waitForLeader();
    const results = await proposeAll(leader, 500);
    expect(results).toHaveLength(500);
    await cluster.run(100);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('old instances: a replica far behind learns long-decided slots, and a replayed old accept changes nothing', async () => {
    cluster = new PaxosNodeCluster(3);
    const leader = await cluster.waitForLeader();
    const behind = cluster.ids.find((id) => id !== leader.id)!;
    cluster.network.isolate(behind);
    await proposeAll(leader, 100);
    const commit = leader.status().commitIndex;
    cluster.network.heal();
    await cluster.run(300);
    expect(cluster.node(behind).status().appliedIndex).toBe(commit);
    // A stale accept for slot 2 in ballot 1 from a long-gone leader is refused.
    cluster.node(behind).receive({
      clusterId: 'c',
      from: 'n9',
      to: behind,
      protocol: 'paxos',
      payload: { type: 'accept', from: 'n9', to: behind, ballot: { round: 1, node: 'n0' }, entries: [{ slot: 2, type: 'normal', data: new Uint8Array([9]) }], commit: 2 },
    });
    await cluster.run(100);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('partitions: with {n1,n3} / {n2,n4} / {n5} nothing is decided; once {n1,n2,n3} forms, it decides', async () => {
    cluster = new PaxosNodeCluster(5);
    await cluster.waitForLeader();
    await cluster.run(100);
    const before = Math.max(...cluster.applied());
    cluster.network.partition([['n1', 'n3'], ['n2', 'n4'], ['n5']]);
    await cluster.run(300); // leaders step down (check quorum)
    const attempts = cluster.ids.map((id) => cluster.node(id).propose(put('p', id), { timeoutMs: 1000 }).catch((e: unknown) => e));
    await cluster.run(2000);
    expect(Math.max(...cluster.applied())).toBe(before);
    for (const outcome of await Promise.all(attempts)) expect(outcome).toBeInstanceOf(Error);
    expect(cluster.leader()).toBeUndefined();
    cluster.network.partition([['n1', 'n2', 'n3'], ['n4'], ['n5']]);
    const leader = await cluster.waitForLeader(['n1', 'n2', 'n3']);
    await cluster.settle(leader.propose(put('p', 'majority')));
    cluster.network.heal();
    await cluster.run(500);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('an unreliable network (loss, duplicates, reordering): every client retry ends decided exactly once', async () => {
    cluster = new PaxosNodeCluster(5, { seed: 7 });
    cluster.network.setFaults({
      dropRate: 0.2,
      duplicateRate: 0.1,
      delay: { kind: 'uniform', minMs: 1, maxMs: 20 },
      reorder: { rate: 0.2, maxExtraDelayMs: 10 },
    });
    let done = 0;
    for (let i = 0; i < 20; i++) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const leader = cluster.leader() ?? (await cluster.waitForLeader(cluster.ids, 20_000));
        try {
          await cluster.settle(leader.propose(put('counter', String(i)), { timeoutMs: 1000 }), 20_000);
          done++;
          break;
        } catch (error) {
          if (!(error instanceof NotLeaderError || error instanceof TimeoutError || error instanceof Error)) throw error;
        }
      }
    }
    expect(done).toBe(20);
    cluster.network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 3 } });
    await cluster.run(1000);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('dueling proposers: nodes that keep preempting each other converge on one leader that decides', async () => {
    cluster = new PaxosNodeCluster(3);
    await cluster.waitForLeader();
    for (let round = 0; round < 5; round++) {
      void cluster.node('n1').campaign({ timeoutMs: 300 }).catch(() => undefined);
      void cluster.node('n2').campaign({ timeoutMs: 300 }).catch(() => undefined);
      await cluster.run(5);
    }
    const leader = await cluster.waitForLeader();
    await cluster.settle(leader.propose(put('duel', 'won')));
    await cluster.run(300);
    expect(cluster.ids.filter((id) => cluster.node(id).status().role === 'leader')).toHaveLength(1);
    expect(new Set(cluster.applied()).size).toBe(1);
  });

  it('a stopped node rejects every pending call with StoppedError', async () => {
    cluster = new PaxosNodeCluster(3);
    const leader = await cluster.waitForLeader();
    cluster.network.isolate(leader.id);
    const pending = leader.propose(put('a', 'b'));
    const read = leader.read({ type: 'get', key: 'a' });
    await leader.stop();
    await expect(pending).rejects.toBeInstanceOf(StoppedError);
    await expect(read).rejects.toBeInstanceOf(StoppedError);
    cluster.nodes.delete(leader.id);
  });
});
