import {
  ConfChangePendingError,
  InvalidConfChangeError,
  LearnerNotCaughtUpError,
  NotLeaderError,
  encodeKvCommand,
  type ConfState,
} from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster, type KvRaftNode } from '../../src/cluster/raft-test-cluster.js';

/**
 * Membership stories, in the spirit of the single-change, joint-consensus
 * and leader-replacement scenarios that etcd's raft keeps as test scripts,
 * told again on our simulator cluster.
 */

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });
const sorted = (ids: readonly string[]): string[] => [...ids].sort();
const voters = (conf: ConfState): string[] => sorted(conf.voters);

async function settled<T>(c: RaftTestCluster, op: Promise<T>, limitMs = 5000): Promise<T> {
  const outcome = await c.settle(op, limitMs);
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

async function commits(c: RaftTestCluster, node: KvRaftNode, key: string, value: string): Promise<boolean> {
  const outcome = await c.settle(node.propose(put(key, value), { timeoutMs: 3000 }), 3100);
  return outcome.status === 'fulfilled';
}

/** Drives time until `leader` applied its whole log (a new leader refuses changes while one of its predecessor's is unapplied). */
async function caughtUp(c: RaftTestCluster, leader: KvRaftNode): Promise<void> {
  await c.driveUntil(() => leader.status().appliedIndex >= leader.status().lastIndex, 3000);
}

async function everyoneHas(c: RaftTestCluster, ids: readonly string[], key: string, value: string): Promise<void> {
  await c.driveUntil(() => ids.every((id) => c.stateOf(id).get(key)?.value === value), 3000);
}

describe('membership changes on the simulator', () => {
  it('adds a single voter with a simple change; the new voter catches up and counts for the quorum', async () => {
    cluster = new RaftTestCluster({ nodes: 2, voters: ['n1'] });
    const n1 = await cluster.waitForLeader();
    expect(await commits(cluster, n1, 'a', 'before')).toBe(true);
    const conf = await settled(cluster, n1.addVoter('n2'));
    expect(voters(conf)).toEqual(['n1', 'n2']);
    expect(conf.votersOutgoing).toEqual([]);
    await everyoneHas(cluster, ['n1', 'n2'], 'a', 'before');
    expect(voters(cluster.membership('n2'))).toEqual(['n1', 'n2']);
    // n2 is now half of the quorum: without it nothing commits.
    cluster.disconnect('n2');
    expect(await commits(cluster, n1, 'a', 'alone')).toBe(false);
  });

  it('adds two voters at once through a joint configuration that the leader leaves by itself', async () => {
    cluster = new RaftTestCluster({ nodes: 3, voters: ['n1'] });
    const n1 = await cluster.waitForLeader();
    const seen: ConfState[] = [];
    n1.on('membership', (e) => seen.push(e.confState));
    const joint = await settled(
      cluster,
      n1.changeMembership([
        { type: 'add-voter', node: 'n2' },
        { type: 'add-voter', node: 'n3' },
      ]),
    );
    expect(voters(joint)).toEqual(['n1', 'n2', 'n3']);
    expect(joint.votersOutgoing).toEqual(['n1']);
    expect(joint.autoLeave).toBe(true);
    await cluster.driveUntil(() => cluster!.running().every((n) => n.status().membership.votersOutgoing.length === 0), 3000);
    for (const id of ['n1', 'n2', 'n3']) expect(voters(cluster.membership(id))).toEqual(['n1', 'n2', 'n3']);
    expect(seen.map((c) => c.votersOutgoing.length > 0)).toEqual([true, false]);
    expect(await commits(cluster, cluster.leader()!, 'k', 'v')).toBe(true);
    await everyoneHas(cluster, ['n1', 'n2', 'n3'], 'k', 'v');
  });

  it('replaces the leader: it leads the joint configuration, then steps down when it is left', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'] });
    const old = await cluster.waitForLeader();
    const newcomer = 'n4';
    const joint = await settled(
      cluster,
      old.changeMembership([
        { type: 'add-voter', node: newcomer },
        { type: 'remove', node: old.id },
      ]),
    );
    expect(sorted(joint.votersOutgoing)).toEqual(['n1', 'n2', 'n3']);
    // Still leading while it belongs to the outgoing half.
    expect(old.status().role).toBe('leader');
    const next = await cluster.waitForLeader({ not: old.id });
    expect(old.status().role).not.toBe('leader');
    const remaining = ['n1', 'n2', 'n3', 'n4'].filter((id) => id !== old.id);
    expect(voters(next.status().membership)).toEqual(remaining);
    expect(await commits(cluster, next, 'after', 'replace')).toBe(true);
    await everyoneHas(cluster, remaining, 'after', 'replace');
    // The removed leader never campaigns again.
    await cluster.run(2000);
    expect(old.status().role).toBe('follower');
    expect(cluster.leader()?.id).not.toBe(old.id);
  });

  it('replaces the leader with an explicit joint step, demoting it to a learner that keeps receiving the log', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'] });
    const old = await cluster.waitForLeader();
    const joint = await settled(
      cluster,
      old.changeMembership(
        [
          { type: 'add-learner', node: old.id },
          { type: 'add-voter', node: 'n4' },
        ],
        { transition: 'explicit-joint' },
      ),
    );
    expect(joint.learners).toEqual([old.id]);
    expect(joint.autoLeave).toBe(false);
    // Nothing moves by itself: the cluster stays joint, led by the old leader.
    await cluster.run(500);
    expect(old.status().membership.votersOutgoing.length).toBe(3);
    expect(old.status().role).toBe('leader');
    expect(await commits(cluster, old, 'joint', 'yes')).toBe(true);
    const left = await settled(cluster, old.leaveJoint());
    expect(left.votersOutgoing).toEqual([]);
    expect(left.learners).toEqual([old.id]);
    const next = await cluster.waitForLeader({ not: old.id });
    expect(await commits(cluster, next, 'learner', 'gets-it')).toBe(true);
    await everyoneHas(cluster, cluster.ids, 'learner', 'gets-it');
  });

  it('a learner does not vote; once promoted its vote elects a leader', async () => {
    cluster = new RaftTestCluster({ nodes: 3, voters: ['n1', 'n2'] });
    const first = await cluster.waitForLeader();
    await settled(cluster, first.addLearner('n3'));
    const other = first.id === 'n1' ? 'n2' : 'n1';
    // With the leader gone, the other voter and the learner cannot elect anyone.
    cluster.disconnect(first.id);
    await cluster.run(1500);
    expect(cluster.leaders().filter((n) => n.id !== first.id)).toEqual([]);
    expect(cluster.node('n3').status().role).toBe('follower');
    cluster.connect(first.id);
    const leader = await cluster.waitForLeader();
    await caughtUp(cluster, leader);
    await settled(cluster, leader.promoteLearner('n3'));
    // (A configuration takes effect on each node when that node applies it.)
    await cluster.driveUntil(() => cluster!.running().every((n) => n.status().membership.voters.includes('n3')), 2000);
    // Now the same failure leaves two of three voters: n3's vote counts.
    const current = cluster.leader()!;
    cluster.disconnect(current.id);
    const next = await cluster.waitForLeader({ not: current.id });
    expect([other, 'n3', 'n1', 'n2']).toContain(next.id);
    expect(await commits(cluster, next, 'promoted', 'votes')).toBe(true);
  });

  it('removes a follower, which then neither receives the log nor disturbs the cluster', async () => {
    cluster = new RaftTestCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const victim = cluster.followers()[0]!;
    const conf = await settled(cluster, leader.removeMember(victim.id));
    expect(conf.voters).not.toContain(victim.id);
    const term = leader.status().term;
    await cluster.run(2000);
    expect(cluster.leader()?.id).toBe(leader.id);
    expect(leader.status().term).toBe(term);
    expect(await commits(cluster, leader, 'gone', 'x')).toBe(true);
    expect(cluster.stateOf(victim.id).get('gone')).toBeUndefined();
  });

  it('waits for a lagging learner before promoting it, and gives up with LearnerNotCaughtUpError', async () => {
    cluster = new RaftTestCluster({ nodes: 3, voters: ['n1', 'n2'] });
    const leader = await cluster.waitForLeader();
    await settled(cluster, leader.addLearner('n3'));
    cluster.disconnect('n3');
    for (let i = 0; i < 20; i++) expect(await commits(cluster, leader, `k${i}`, 'v')).toBe(true);
    const refused = await cluster.settle(leader.promoteLearner('n3', { maxLearnerLag: 5, timeoutMs: 300 }));
    expect(refused.status).toBe('rejected');
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(LearnerNotCaughtUpError);
    // The promotion waits while the learner catches up.
    const promotion = leader.promoteLearner('n3', { maxLearnerLag: 5, timeoutMs: 3000 });
    await cluster.run(200);
    cluster.connect('n3');
    const conf = await settled(cluster, promotion);
    expect(voters(conf)).toEqual(['n1', 'n2', 'n3']);
  });

  it('refuses a second change while one is pending, changes on followers, and unsafe changes', async () => {
    cluster = new RaftTestCluster({ nodes: 3, voters: ['n1', 'n2'] });
    const leader = await cluster.waitForLeader();
    const first = leader.addLearner('n3');
    const second = await cluster.settle(leader.removeMember('n3'));
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(ConfChangePendingError);
    await settled(cluster, first);
    const follower = cluster.followers().find((n) => n.id !== 'n3')!;
    const onFollower = await cluster.settle(follower.addVoter('n3'));
    expect((onFollower as PromiseRejectedResult).reason).toBeInstanceOf(NotLeaderError);
    const leaveWhenNotJoint = await cluster.settle(leader.leaveJoint());
    expect((leaveWhenNotJoint as PromiseRejectedResult).reason).toBeInstanceOf(InvalidConfChangeError);
  });

  it('keeps the configuration across a crash and restart', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'] });
    const leader = await cluster.waitForLeader();
    await settled(cluster, leader.addVoter('n4'));
    await settled(cluster, cluster.leader()!.removeMember(cluster.followers().find((n) => n.id !== 'n4')!.id));
    const expected = voters(cluster.leader()!.status().membership);
    await cluster.driveUntil(() => cluster!.running().every((n) => n.status().appliedIndex === cluster!.leader()!.status().commitIndex));
    for (const id of expected) {
      await cluster.crash(id);
      cluster.restart(id);
      await cluster.driveUntil(() => voters(cluster!.membership(id)).join() === expected.join(), 3000);
    }
    const next = await cluster.waitForLeader();
    expect(await commits(cluster, next, 'restart', 'ok')).toBe(true);
  });

  it('grows with a node created later', async () => {
    cluster = new RaftTestCluster({ nodes: 1 });
    const leader = await cluster.waitForLeader();
    const id = cluster.addNode();
    await settled(cluster, leader.addVoter(id));
    expect(await commits(cluster, leader, 'grow', 'n')).toBe(true);
    await everyoneHas(cluster, ['n1', id], 'grow', 'n');
  });
});
