import {
  AbortError,
  BusyError,
  KvStateMachine,
  MemoryStorage,
  NotLeaderError,
  NotVoterError,
  StoppedError,
  RaftNode,
  SeededRandom,
  TimeoutError,
  VirtualClock,
  encodeKvCommand,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

// RaftTestCluster: 10 ms ticks, electionTicks 10, so one election timeout is 100 ms.
const ELECTION_MS = 100;

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function expectRejected<T>(outcome: PromiseSettledResult<T>): unknown {
  expect(outcome.status).toBe('rejected');
  return (outcome as PromiseRejectedResult).reason;
}

/** Records every settlement of `operation`, to show that it settles once. */
function record<T>(operation: Promise<T>): string[] {
  const seen: string[] = [];
  operation.then(
    () => seen.push('resolved'),
    (error: unknown) => seen.push(error instanceof Error ? error.name : 'other'),
  );
  return seen;
}

describe('RaftNode.transferLeadership', () => {
  it('resolves once the target leads, and the old leader follows it', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    await cluster.settle(leader.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' })));
    const outcome = await cluster.settle(leader.transferLeadership(target.id), 5 * ELECTION_MS);
    expect(outcome.status).toBe('fulfilled');
    expect(target.status().role).toBe('leader');
    expect(leader.status()).toMatchObject({ role: 'follower', leader: target.id });
  });

  it('resolves at once for a leader asked to hand over to itself', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await expect(leader.transferLeadership(leader.id)).resolves.toBeUndefined();
  });

  it('rejects on a follower with NotLeaderError naming the leader', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50); // the followers hear from the leader
    const follower = cluster.followers()[0]!;
    const error = await follower.transferLeadership(leader.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBe(leader.id);
  });

  it('rejects with NotVoterError for a learner or an unknown node', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'] });
    const leader = await cluster.waitForLeader();
    expect((await cluster.settle(leader.addLearner('n4'))).status).toBe('fulfilled');
    await expect(leader.transferLeadership('n4')).rejects.toBeInstanceOf(NotVoterError);
    const unknown = await leader.transferLeadership('nobody').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NotVoterError);
    expect((unknown as NotVoterError).node).toBe('nobody');
    expect(leader.status().role).toBe('leader');
  });

  it('rejects with TimeoutError when the core abandons the transfer after an election timeout', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    cluster.disconnect(target.id);
    await cluster.settle(leader.propose(encodeKvCommand({ type: 'put', key: 'a', value: '1' })));
    const started = cluster.clock.now();
    const error = expectRejected(await cluster.settle(leader.transferLeadership(target.id, { timeoutMs: 10_000 })));
    expect(error).toBeInstanceOf(TimeoutError);
    // The core's election timeout, well before the call's own deadline.
    expect(cluster.clock.now() - started).toBeLessThanOrEqual(2 * ELECTION_MS);
    expect(leader.status().role).toBe('leader');
    // Proposals are accepted again.
    const after = await cluster.settle(leader.propose(encodeKvCommand({ type: 'put', key: 'b', value: '2' })));
    expect(after.status).toBe('fulfilled');
  });

  it("rejects with TimeoutError at the call's deadline", async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    cluster.disconnect(target.id);
    const started = cluster.clock.now();
    const error = expectRejected(await cluster.settle(leader.transferLeadership(target.id, { timeoutMs: 30 })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(cluster.clock.now() - started).toBe(30);
  });

  it('rejects with AbortError when the signal fires, and at once for a fired signal', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    cluster.disconnect(target.id);
    const controller = new AbortController();
    const transfer = leader.transferLeadership(target.id, { signal: controller.signal });
    const seen = record(transfer);
    await cluster.run(20);
    controller.abort();
    await cluster.run(2 * ELECTION_MS);
    expect(seen).toEqual(['AbortError']);
    await expect(leader.transferLeadership(target.id, { signal: controller.signal })).rejects.toBeInstanceOf(
      AbortError,
    );
  });

  it('refuses a second transfer to another node with BusyError; one to the same node joins', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const [first, second] = cluster.followers();
    cluster.disconnect(first!.id);
    const one = record(leader.transferLeadership(first!.id));
    const again = record(leader.transferLeadership(first!.id));
    await expect(leader.transferLeadership(second!.id)).rejects.toBeInstanceOf(BusyError);
    await cluster.run(3 * ELECTION_MS);
    expect([one, again]).toEqual([['TimeoutError'], ['TimeoutError']]);
  });

  it('rejects with StoppedError on stop and settles nothing after', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    cluster.disconnect(target.id);
    const seen = record(leader.transferLeadership(target.id, { timeoutMs: 1000 }));
    await cluster.run(10);
    await leader.stop();
    await cluster.run(2000);
    expect(seen).toEqual(['StoppedError']);
    await expect(leader.transferLeadership(target.id)).rejects.toBeInstanceOf(StoppedError);
  });
});

describe('RaftNode.stepDown', () => {
  it('resolves once this node no longer leads; another node takes over', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    expect((await cluster.settle(leader.stepDown(), 5 * ELECTION_MS)).status).toBe('fulfilled');
    expect(leader.status().role).not.toBe('leader');
    const next = await cluster.waitForLeader();
    expect(next.id).not.toBe(leader.id);
  });

  it('resolves at once on a node that is not leader', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    await expect(cluster.followers()[0]!.stepDown()).resolves.toBeUndefined();
  });

  it('rejects with TimeoutError when no voter can take over within an election timeout', async () => {
    // Without CheckQuorum the isolated leader would otherwise keep leading.
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    const error = expectRejected(await cluster.settle(leader.stepDown({ timeoutMs: 10_000 })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(leader.status().role).toBe('leader');
  });

  it('rejects with AbortError or StoppedError while the hand-over is pending', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    const controller = new AbortController();
    const aborted = record(leader.stepDown({ signal: controller.signal }));
    const stopped = record(leader.stepDown({ timeoutMs: 1000 }));
    await cluster.run(10);
    controller.abort();
    await cluster.run(10);
    await leader.stop();
    await cluster.run(2000);
    expect([aborted, stopped]).toEqual([['AbortError'], ['StoppedError']]);
  });
});

describe('RaftNode.campaign', () => {
  it('resolves once this node has won the election', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    // Nobody's election timeout has passed yet at time 0.
    const node = cluster.node('n2');
    expect((await cluster.settle(node.campaign(), ELECTION_MS)).status).toBe('fulfilled');
    expect(node.status().role).toBe('leader');
  });

  it('resolves for a single voter only once its new term and vote are synced', async () => {
    // A lone voter elects itself inside the core at once; the election is not
    // real until the term and vote are durable, or a crash would forget it.
    let releaseSync: (() => void) | undefined;
    class GatedStorage extends MemoryStorage {
      gated = false;
      override sync(): Promise<void> {
        if (!this.gated) return super.sync();
        return new Promise((resolve) => (releaseSync = resolve));
      }
    }
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ clock, random: new SeededRandom(1), clusterId: 'c' });
    const storage = new GatedStorage();
    const node = new RaftNode({
      raft: { id: 'n1', voters: ['n1'], electionTicks: 1000 },
      clusterId: 'c',
      transport: network.endpoint('n1'),
      storage,
      stateMachine: new KvStateMachine(),
      clock,
      random: new SeededRandom(2),
    });
    node.start();
    storage.gated = true;
    const campaign = record(node.campaign({ timeoutMs: 1000 }));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(releaseSync).toBeDefined();
    // Written, but not synced: the call waits.
    expect(campaign).toEqual([]);
    storage.gated = false;
    releaseSync!();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(campaign).toEqual(['resolved']);
    expect(storage.hardState()).toMatchObject({ term: 1, vote: 'n1' });
    await node.stop();
    await network.close();
  });

  it('resolves at once on the leader', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await expect(leader.campaign()).resolves.toBeUndefined();
  });

  it('rejects with NotLeaderError naming the healthy leader that PreVote protects', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50);
    const follower = cluster.followers()[0]!;
    const error = expectRejected(await cluster.settle(follower.campaign()));
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBe(leader.id);
    expect(leader.status().role).toBe('leader');
  });

  it('rejects with NotVoterError on a learner', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'] });
    const leader = await cluster.waitForLeader();
    expect((await cluster.settle(leader.addLearner('n4'))).status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.membership('n4').learners.includes('n4'));
    await expect(cluster.node('n4').campaign()).rejects.toBeInstanceOf(NotVoterError);
  });

  it('rejects with TimeoutError at the deadline when it cannot win', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    const follower = cluster.followers()[0]!;
    cluster.disconnect(follower.id);
    const started = cluster.clock.now();
    const error = expectRejected(await cluster.settle(follower.campaign({ timeoutMs: 3 * ELECTION_MS })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(cluster.clock.now() - started).toBe(3 * ELECTION_MS);
  });

  it('rejects with AbortError or StoppedError while the election is pending, once each', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    const follower = cluster.followers()[0]!;
    cluster.disconnect(follower.id);
    const controller = new AbortController();
    const aborted = record(follower.campaign({ signal: controller.signal }));
    const stopped = record(follower.campaign({ timeoutMs: 1000 }));
    await cluster.run(10);
    controller.abort();
    await cluster.run(10);
    await follower.stop();
    await cluster.run(2000);
    expect([aborted, stopped]).toEqual([['AbortError'], ['StoppedError']]);
    await expect(follower.campaign()).rejects.toBeInstanceOf(StoppedError);
  });
});

describe('RaftNode: proposals forwarded to a leader that is lost', () => {
  it('fail as outcome-unknown once the follower sees its leader go, not at their deadline', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50); // the followers hear from the leader
    const follower = cluster.followers()[0]!;
    cluster.disconnect(leader.id);
    const put = follower.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'v' }), { timeoutMs: 100 * ELECTION_MS });
    const outcome = await cluster.settle(put, 10 * ELECTION_MS);
    const error = expectRejected(outcome);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(new RegExp(`forwarded to \\(${leader.id}\\) was lost.*outcome is unknown`));
    // By then a new leader is there, and the retry commits.
    const next = await cluster.waitForLeader({ not: leader.id });
    expect((await cluster.settle(next.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'v' })))).status).toBe('fulfilled');
  });

  it('a proposal that committed before its leader was lost stays answered by its commit, once', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    await cluster.run(50);
    const follower = cluster.followers()[0]!;
    const seen = record(follower.propose(encodeKvCommand({ type: 'put', key: 'x', value: '1' }), { timeoutMs: 100 * ELECTION_MS }));
    await cluster.run(30); // forwarded, appended, committed and applied everywhere
    expect(seen).toEqual(['resolved']);
    await cluster.crash(leader.id);
    await cluster.waitForLeader({ not: leader.id });
    expect(seen).toEqual(['resolved']); // settled once, by its commit
  });
});
