import { encodeKvCommand } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

// Scenario tests in the style of a story: each builds a cluster on the
// simulator, does something to it, and checks an outcome. Every event also
// runs the safety invariants (RaftTestCluster), and each test ends with assertSafe().

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const ELECTION_MS = 100; // electionTicks 10 × tick 10 ms

describe('elections on the simulator', () => {
  it('initial election: one leader emerges, and the term stays put while nothing fails', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const term = leader.status().term;
    await cluster.run(20 * ELECTION_MS);
    expect(cluster.leaders()).toHaveLength(1);
    expect(cluster.leader()!.id).toBe(leader.id);
    expect(leader.status().term).toBe(term);
  });

  it('re-election: a new leader after the leader is lost, and the old one rejoins without disruption', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const first = await cluster.waitForLeader();
    cluster.disconnect(first.id);
    const second = await cluster.waitForLeader({ not: first.id });
    expect(second.id).not.toBe(first.id);
    cluster.connect(first.id);
    await cluster.run(10 * ELECTION_MS);
    // The rejoining node learns the higher term and follows; the leader is unchanged.
    expect(cluster.leader()!.id).toBe(second.id);
    expect(first.status().role).toBe('follower');
    // With no quorum (two of three gone), no leader is elected.
    const other = cluster.ids.find((id) => id !== first.id && id !== second.id)!;
    cluster.disconnect(second.id);
    cluster.disconnect(other);
    await cluster.run(10 * ELECTION_MS);
    expect(cluster.leaders().filter((n) => n.id !== second.id)).toEqual([]);
  });

  it('many elections with 3 of 7 nodes disconnected at random', async () => {
    cluster = new RaftTestCluster({ nodes: 7, seed: 5 });
    await cluster.waitForLeader();
    let pick = 17;
    for (let round = 0; round < 10; round++) {
      const down = new Set<string>();
      while (down.size < 3) down.add(cluster.ids[(pick = (pick * 31 + 7) % 97) % 7]!);
      for (const id of down) cluster.disconnect(id);
      // The four connected nodes are a majority and must have (or elect) a leader.
      const leader = await cluster.waitForLeader({ limitMs: 20 * ELECTION_MS });
      expect(down.has(leader.id)).toBe(false);
      for (const id of down) cluster.connect(id);
    }
    await cluster.waitForLeader();
  });

  it('PreVote: a partitioned node does not inflate its term or disrupt the leader when it rejoins', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { preVote: true, checkQuorum: true } });
    const leader = await cluster.waitForLeader();
    const loner = cluster.followers()[0]!;
    const termBefore = loner.status().term;
    cluster.disconnect(loner.id);
    await cluster.run(30 * ELECTION_MS);
    expect(loner.status().term).toBe(termBefore);
    cluster.connect(loner.id);
    await cluster.run(10 * ELECTION_MS);
    expect(cluster.leader()!.id).toBe(leader.id);
    expect(leader.status().term).toBe(termBefore);
  });

  it('without PreVote the same rejoin forces an election (the disruption PreVote prevents)', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { preVote: false, checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    const loner = cluster.followers()[0]!;
    const termBefore = leader.status().term;
    cluster.disconnect(loner.id);
    await cluster.run(30 * ELECTION_MS);
    expect(loner.status().term).toBeGreaterThan(termBefore);
    cluster.connect(loner.id);
    await cluster.waitForLeader();
    await cluster.run(5 * ELECTION_MS);
    expect(cluster.leader()!.status().term).toBeGreaterThan(termBefore);
  });

  it('CheckQuorum: a leader cut off from the majority steps down within an election timeout or two', async () => {
    cluster = new RaftTestCluster({ nodes: 5, raft: { checkQuorum: true } });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    await cluster.run(3 * ELECTION_MS);
    expect(leader.status().role).not.toBe('leader');
  });

  it('leadership transfer hands over to the target, which then serves writes', async () => {
    cluster = new RaftTestCluster({ nodes: 5 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[2]!;
    const transfer = await cluster.settle(leader.transferLeadership(target.id), 5 * ELECTION_MS);
    expect(transfer.status).toBe('fulfilled');
    expect(target.status().role).toBe('leader');
    const outcome = await cluster.settle(target.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'v' })));
    expect(outcome.status).toBe('fulfilled');
  });
});
