import {
  AbortError,
  BusyError,
  NotLeaderError,
  ProposalDroppedError,
  StoppedError,
  TimeoutError,
  type KvResult,
} from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeKvCommand } from '@synod/core';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function expectFulfilled<T>(outcome: PromiseSettledResult<T>): T {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

function expectRejected<T>(outcome: PromiseSettledResult<T>): unknown {
  expect(outcome.status).toBe('rejected');
  return (outcome as PromiseRejectedResult).reason;
}

describe('RaftNode propose', () => {
  it('resolves with the state machine result once applied on the leader', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const result = expectFulfilled(await cluster.settle(leader.propose(put('a', '1'))));
    expect(result).toMatchObject({ type: 'put', kv: { key: 'a', value: '1' } });
  });

  it('forwards a follower proposal to the leader and resolves on the follower', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    await cluster.waitForLeader();
    const follower = cluster.followers()[0]!;
    await cluster.run(50); // let the follower hear from the leader
    const result = expectFulfilled(await cluster.settle(follower.propose(put('b', '2'))));
    expect(result).toMatchObject({ type: 'put', kv: { value: '2' } });
  });

  it('rejects on a follower with NotLeaderError and a leader hint when forwarding is off', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { forwardProposals: false } });
    const leader = await cluster.waitForLeader();
    const follower = cluster.followers()[0]!;
    await cluster.run(50); // let the follower hear from the leader
    const error = expectRejected(await cluster.settle(follower.propose(put('c', '3'))));
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBe(leader.id);
  });

  it('leaves nothing pending after a refused proposal', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { forwardProposals: false } });
    await cluster.waitForLeader();
    const follower = cluster.followers()[0]!;
    await cluster.run(50);
    expectRejected(await cluster.settle(follower.propose(put('c', '3'))));
    expect(follower.status().pendingProposals).toBe(0);
  });

  it('times out with TimeoutError when the leader has lost its quorum', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    const error = expectRejected(await cluster.settle(leader.propose(put('d', '4'), { timeoutMs: 300 })));
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('rejects at once with AbortError for an aborted signal, and on abort while waiting', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const aborted = AbortSignal.abort(new Error('caller gave up'));
    expect(expectRejected(await cluster.settle(leader.propose(put('e', '5'), { signal: aborted })))).toBeInstanceOf(
      AbortError,
    );
    cluster.disconnect(leader.id);
    const controller = new AbortController();
    const pending = leader.propose(put('e', '6'), { signal: controller.signal, timeoutMs: 10_000 });
    let outcome: unknown;
    pending.catch((error: unknown) => (outcome = error));
    await cluster.run(50);
    controller.abort();
    await cluster.run(1);
    expect(outcome).toBeInstanceOf(AbortError);
  });

  it('rejects every pending call with StoppedError on stop, and later calls too', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    const settled: string[] = [];
    const proposal = leader.propose(put('f', '7'), { timeoutMs: 10_000 });
    const read = leader.read({ type: 'get', key: 'f' }, { timeoutMs: 10_000 });
    proposal.then(
      () => settled.push('resolved'),
      (e: unknown) => settled.push(e instanceof StoppedError ? 'stopped' : 'other'),
    );
    read.then(
      () => settled.push('resolved'),
      (e: unknown) => settled.push(e instanceof StoppedError ? 'stopped' : 'other'),
    );
    await cluster.run(20);
    await leader.stop();
    await cluster.run(20_000); // the timeouts would have fired by now: nothing settles twice
    expect(settled).toEqual(['stopped', 'stopped']);
    await expect(leader.propose(put('g', '8'))).rejects.toBeInstanceOf(StoppedError);
    await expect(leader.campaign()).rejects.toBeInstanceOf(StoppedError);
  });

  it('refuses new operations with BusyError past maxPendingOperations', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false }, maxPendingOperations: 2 });
    const leader = await cluster.waitForLeader();
    cluster.disconnect(leader.id);
    const a = leader.propose(put('h', '1'), { timeoutMs: 100 });
    const b = leader.propose(put('h', '2'), { timeoutMs: 100 });
    a.catch(() => undefined);
    b.catch(() => undefined);
    expect(expectRejected(await cluster.settle(leader.propose(put('h', '3'))))).toBeInstanceOf(BusyError);
  });

  it('fails fast with ProposalDroppedError when another entry is committed at its index', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false, preVote: false } });
    const oldLeader = await cluster.waitForLeader();
    cluster.disconnect(oldLeader.id);
    const lost = oldLeader.propose(put('x', 'lost'), { timeoutMs: 60_000 });
    let outcome: unknown;
    lost.then(
      (value) => (outcome = value),
      (error: unknown) => (outcome = error),
    );
    // The majority elects a new leader and commits other entries at that index.
    const newLeader = await cluster.waitForLeader({ not: oldLeader.id });
    expectFulfilled(await cluster.settle(newLeader.propose(put('x', 'kept'))));
    cluster.network.heal();
    await cluster.driveUntil(() => outcome !== undefined, 5000);
    expect(outcome).toBeInstanceOf(ProposalDroppedError);
  });
});

describe('RaftNode read', () => {
  it('serves a linearizable read that sees the latest committed write, from any node', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.propose(put('k', 'v1'))));
    for (const node of cluster.running()) {
      const result = expectFulfilled(await cluster.settle(node.read({ type: 'get', key: 'k' })));
      expect(result).toMatchObject({ type: 'get', kv: { value: 'v1' } });
    }
  });

  it('never answers a linearizable read from a leader cut off in a minority', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { checkQuorum: false } });
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.propose(put('k', 'old'))));
    cluster.disconnect(leader.id);
    const stale = leader.read({ type: 'get', key: 'k' }, { timeoutMs: 500 });
    const outcome = await cluster.settle(stale);
    expect(outcome.status).toBe('rejected');
  });

  it('answers a serializable read from local state without a round trip', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.propose(put('s', '1'))));
    cluster.disconnect(leader.id);
    await expect(leader.read({ type: 'get', key: 's' }, { consistency: 'serializable' })).resolves.toMatchObject({
      kv: { value: '1' },
    });
  });

  it('serves lease reads on the leader while its lease holds', async () => {
    cluster = new RaftTestCluster({ nodes: 3, raft: { leaseReads: true, checkQuorum: true } });
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.propose(put('l', '1'))));
    const result = expectFulfilled(await cluster.settle(leader.read({ type: 'get', key: 'l' }, { consistency: 'lease' })));
    expect(result).toMatchObject({ kv: { value: '1' } });
  });
});

describe('RaftNode leadership and events', () => {
  it('reports role, leader, commit and apply events', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const events: string[] = [];
    const node = cluster.node('n1');
    node.on('leader', (e) => events.push(`leader:${e.leader ?? '-'}`));
    node.on('commit', () => events.push('commit'));
    node.on('apply', () => events.push('apply'));
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.propose(put('e', '1'))));
    await cluster.driveUntil(() => node.status().appliedIndex >= leader.status().commitIndex);
    expect(events).toContain(`leader:${leader.id}`);
    expect(events).toContain('commit');
    expect(events).toContain('apply');
  });

  it('transfers leadership to a chosen follower', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const target = cluster.followers()[0]!;
    expectFulfilled(await cluster.settle(leader.propose(put('t', '1'))));
    expectFulfilled(await cluster.settle(leader.transferLeadership(target.id), 2000));
    expect(target.status().role).toBe('leader');
    expect(leader.status().role).toBe('follower');
  });

  it('steps down on request and another node takes over', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    expectFulfilled(await cluster.settle(leader.stepDown(), 3000));
    await cluster.driveUntil(() => {
      const now = cluster!.leader();
      return now !== undefined && now.id !== leader.id;
    }, 3000);
    const result = expectFulfilled(await cluster.settle(cluster.leader()!.propose(put('after', 'step-down'))));
    expect((result as KvResult).type).toBe('put');
  });
});
