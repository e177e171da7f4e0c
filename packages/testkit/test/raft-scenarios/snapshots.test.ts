import { encodeKvCommand, type RaftMessage } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

/** Proposes `count` small puts on the current leader, `batch` at a time, and waits for all of them. */
async function fill(c: RaftTestCluster, count: number, batch = 5000): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const leader = c.leader()!;
    const n = Math.min(batch, count - done);
    const outcome = await c.settle(
      Promise.all(Array.from({ length: n }, (_, i) => leader.propose(put(`k${(done + i) % 1000}`, String(done + i)), { timeoutMs: 60_000 }))),
      60_000,
    );
    expect(outcome.status).toBe('fulfilled');
  }
}

describe('snapshots and compaction', () => {
  it('catches up a follower 100,000 entries behind through a chunked InstallSnapshot', async () => {
    cluster = new RaftTestCluster({
      nodes: 3,
      raft: { maxMessageBytes: 16 * 1024 },
      node: { snapshots: { entries: 20_000, retainEntries: 500 } },
    });
    const leader = await cluster.waitForLeader();
    const laggard = cluster.followers()[0]!;
    cluster.disconnect(laggard.id);
    await fill(cluster, 100_000);
    const leaderStorageFirst = cluster.storageOf(leader.id).firstIndex();
    expect(leaderStorageFirst).toBeGreaterThan(90_000); // compacted
    const chunks: RaftMessage[] = [];
    cluster.network.observe((event) => {
      if (event.type !== 'deliver') return;
      const m = event.envelope.payload as RaftMessage;
      if (m.type === 'snapshot' && m.to === laggard.id) chunks.push(m);
    });
    cluster.connect(laggard.id);
    const target = leader.status().commitIndex;
    await cluster.driveUntil(() => laggard.status().appliedIndex >= target, 20_000);
    expect(cluster.stateOf(laggard.id).get('k999')?.value).toBe('99999');
    expect(chunks.length).toBeGreaterThan(1);
    for (const m of chunks) if (m.type === 'snapshot') expect(m.snapshot.data.byteLength).toBeLessThanOrEqual(16 * 1024);
  }, 30_000);

  it('snapshots automatically by entry count, compacts, and restarts from the snapshot with the same state and membership', async () => {
    cluster = new RaftTestCluster({ nodes: 4, voters: ['n1', 'n2', 'n3'], node: { snapshots: { entries: 50, retainEntries: 5 } } });
    const leader = await cluster.waitForLeader();
    const snapshots: number[] = [];
    leader.on('snapshot', (e) => snapshots.push(e.index));
    const add = await cluster.settle(leader.addVoter('n4'));
    expect(add.status).toBe('fulfilled');
    await fill(cluster, 200, 50);
    expect(snapshots.length).toBeGreaterThanOrEqual(3);
    const storage = cluster.storageOf(leader.id);
    expect(storage.snapshot().metadata.confState.voters).toContain('n4');
    expect(storage.firstIndex()).toBeGreaterThan(100);
    const before = cluster.stateOf(leader.id).snapshot();
    await cluster.crash(leader.id);
    cluster.restart(leader.id);
    const restarted = cluster.node(leader.id);
    expect([...restarted.status().membership.voters].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    await cluster.driveUntil(() => restarted.status().appliedIndex >= restarted.status().commitIndex && restarted.status().appliedIndex > 0, 3000);
    expect(cluster.stateOf(leader.id).snapshot()).toEqual(before);
  });

  it('a new member joins through a snapshot once the log it needs is compacted', async () => {
    cluster = new RaftTestCluster({ nodes: 1, node: { snapshots: { entries: 100, retainEntries: 0 } } });
    const leader = await cluster.waitForLeader();
    await fill(cluster, 300, 100);
    const id = cluster.addNode();
    const add = await cluster.settle(leader.addLearner(id));
    expect(add.status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.stateOf(id).get('k299')?.value === '299', 3000);
    expect(cluster.storageOf(id).snapshot().metadata.index).toBeGreaterThan(0);
    await cluster.driveUntil(() => cluster!.membership(id).learners.includes(id), 3000);
  });
});

describe('member contexts (an address replicated with the conf change)', () => {
  const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
  const address = (id: string): Uint8Array => new TextEncoder().encode(`10.0.0.${id.slice(1)}:7000`);

  it('reaches every member, a member that joins after compaction through the snapshot, a restarted one; removal forgets it', async () => {
    cluster = new RaftTestCluster({ nodes: 3, voters: ['n1', 'n2', 'n3'], node: { snapshots: { entries: 50, retainEntries: 0 } } });
    const leader = await cluster.waitForLeader();
    const n4 = cluster.addNode();
    expect((await cluster.settle(leader.addVoter(n4, { context: address(n4) }))).status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.running().every((node) => text(node.memberContext(n4)) === '10.0.0.4:7000'), 3000);
    // Enough entries that the change itself is compacted away everywhere.
    await fill(cluster, 200, 50);
    expect(cluster.storageOf(leader.id).firstIndex()).toBeGreaterThan(10);
    // n5 joins late: only a snapshot can tell it n4's address.
    const n5 = cluster.addNode();
    expect((await cluster.settle(leader.addLearner(n5, { context: address(n5) }))).status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.node(n5).status().appliedIndex >= leader.status().commitIndex, 5000);
    expect(cluster.storageOf(n5).snapshot().metadata.index).toBeGreaterThan(0);
    expect(text(cluster.node(n5).memberContext(n4))).toBe('10.0.0.4:7000');
    expect(text(cluster.node(n5).memberContext(n5))).toBe('10.0.0.5:7000');
    // A restart reads it back from its own snapshot.
    const follower = cluster.followers().find((node) => node.id !== n4 && node.id !== n5)!;
    await cluster.crash(follower.id);
    cluster.restart(follower.id);
    expect(text(cluster.node(follower.id).memberContext(n4))).toBe('10.0.0.4:7000');
    // n5's change came after that snapshot: the log replay brings it back.
    await cluster.driveUntil(() => cluster!.node(follower.id).status().appliedIndex >= leader.status().commitIndex, 5000);
    expect([...cluster.node(follower.id).memberContexts().keys()].sort()).toEqual([n4, n5]);
    // Removing n4 forgets its address on every member.
    const current = await cluster.waitForLeader();
    expect((await cluster.settle(current.removeMember(n4))).status).toBe('fulfilled');
    await cluster.driveUntil(() => cluster!.running().filter((node) => node.id !== n4).every((node) => node.memberContext(n4) === undefined), 3000);
  });
});
