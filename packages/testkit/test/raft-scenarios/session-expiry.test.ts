import { encodeKvCommand, startSessionExpiry, type KvResult } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/**
 * Raft thesis §6.3: sessions expire by time carried in the log, so every
 * replica expires the same ones. startSessionExpiry has the leader propose
 * that time; here on the virtual clock, with the KV store's default session
 * TTL of 60 s and a proposal every second.
 */

let cluster: RaftTestCluster | undefined;
let stops: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stops) stop();
  stops = [];
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const put = (clientId: string, sequence: number) =>
  encodeKvCommand({ type: 'put', key: clientId, value: String(sequence), session: { clientId, sequence } });

async function clusterWithExpiry(): Promise<RaftTestCluster> {
  const c = new RaftTestCluster({ nodes: 3 });
  for (const id of c.ids) {
    stops.push(startSessionExpiry({ node: c.node(id), store: c.stateOf(id), intervalMs: 1000, clock: c.clock }));
  }
  await c.waitForLeader();
  return c;
}

async function propose(c: RaftTestCluster, command: Uint8Array): Promise<KvResult> {
  const outcome = await c.settle(c.leader()!.propose(command, { timeoutMs: 2000 }));
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

describe('session expiry', () => {
  it('expires an idle session on every replica and keeps an active one', async () => {
    cluster = await clusterWithExpiry();
    expect((await propose(cluster, put('idle', 1))).type).toBe('put');
    for (let s = 1; s <= 8; s++) {
      expect((await propose(cluster, put('busy', s))).type).toBe('put');
      await cluster.run(10_000);
    }
    // 80 s later: 'idle' has been quiet for longer than the 60 s TTL, 'busy' for 10 s.
    await cluster.driveUntil(() => cluster!.running().every((n) => cluster!.stateOf(n.id).sessionCount === 1), 5000);
    for (const node of cluster.running()) expect(cluster.stateOf(node.id).logTime, node.id).toBeGreaterThan(75_000);
    // A later command from the expired client is refused rather than risking a second application.
    expect(await propose(cluster, put('idle', 2))).toMatchObject({ type: 'session-expired', clientId: 'idle' });
    expect((await propose(cluster, put('busy', 9))).type).toBe('put');
  });

  it('continues log time across a change of leader instead of starting over', async () => {
    cluster = await clusterWithExpiry();
    await cluster.run(30_000);
    const first = cluster.leader()!;
    const before = cluster.stateOf(first.id).logTime;
    expect(before).toBeGreaterThan(25_000);
    const next = cluster.followers()[0]!;
    await cluster.settle(first.transferLeadership(next.id, { timeoutMs: 2000 }));
    expect(cluster.leader()?.id).toBe(next.id);
    await cluster.run(10_000);
    for (const node of cluster.running()) {
      expect(cluster.stateOf(node.id).logTime, node.id).toBeGreaterThan(before + 5_000);
      expect(cluster.stateOf(node.id).logTime, node.id).toBeLessThan(before + 15_000);
    }
  });

  it('proposes nothing once stopped', async () => {
    cluster = await clusterWithExpiry();
    await cluster.run(5_000);
    for (const stop of stops) stop();
    const leader = cluster.leader()!;
    const lastIndex = leader.status().lastIndex;
    await cluster.run(10_000);
    expect(leader.status().lastIndex).toBe(lastIndex);
  });
});
