import { PhiAccrualDetector } from '@synod/core';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  cluster?.assertSafe();
  await cluster?.stop();
  cluster = undefined;
});

const TICK_MS = 10;
const phi = (): PhiAccrualDetector =>
  new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: 5, acceptableHeartbeatPauseMs: 0, firstHeartbeatEstimateMs: TICK_MS });

/** Crashes the leader and returns how long (virtual ms) until another node leads. */
async function failover(c: RaftTestCluster): Promise<number> {
  const leader = await c.waitForLeader();
  await c.run(50 * TICK_MS); // let detectors learn the heartbeat rhythm
  await c.crash(leader.id);
  const crashedAt = c.clock.now();
  await c.waitForLeader({ not: leader.id, limitMs: 100 * TICK_MS });
  return c.clock.now() - crashedAt;
}

describe('detector-assisted elections', () => {
  it('elect a new leader faster after the leader crashes than waiting for the election timeout', async () => {
    const plain: number[] = [];
    const assisted: number[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      cluster = new RaftTestCluster({ nodes: 5, seed });
      plain.push(await failover(cluster));
      await cluster.stop();
      cluster = new RaftTestCluster({ nodes: 5, seed, failureDetector: phi });
      assisted.push(await failover(cluster));
      cluster.assertSafe();
      await cluster.stop();
      cluster = undefined;
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(assisted)).toBeLessThan(mean(plain) / 1.5);
  });

  it('cause no elections in a healthy cluster with jittery links', async () => {
    cluster = new RaftTestCluster({ nodes: 5, seed: 3, failureDetector: phi });
    cluster.network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 8 } });
    const leader = await cluster.waitForLeader();
    const term = leader.status().term;
    await cluster.run(30_000);
    expect(cluster.leader()!.id).toBe(leader.id);
    expect(Math.max(...cluster.running().map((n) => n.status().term))).toBe(term);
  });
});
