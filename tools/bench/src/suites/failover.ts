import { HeartbeatDetector, PhiAccrualDetector, type FailureDetector } from '@synod/core';
import { RaftTestCluster } from '@synod/testkit';
import { quantile, type BenchResult } from '../results.js';

export interface FailoverOptions {
  /** Leader crashes measured per configuration (one seed each). */
  readonly trials: number;
  /** Virtual time of the healthy run that counts spurious elections. */
  readonly healthyRunMs: number;
}

const TICK_MS = 100; // electionTicks 10 → election timeout 1 s, randomized in [1 s, 2 s)

interface Variant {
  readonly name: string;
  readonly detector: (() => FailureDetector) | undefined;
}

const variants: readonly Variant[] = [
  { name: 'election-timeout', detector: undefined },
  {
    name: 'phi-accrual-assisted',
    // Heartbeats every tick (100 ms). minStdDeviation 20 ms lets phi reach 8
    // about 200 ms into a silence, not 660 ms (Pekko's 100 ms floor).
    detector: () => new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: 20, firstHeartbeatEstimateMs: TICK_MS }),
  },
  { name: 'fixed-timeout-assisted', detector: () => new HeartbeatDetector({ timeoutMs: 3 * TICK_MS }) },
];

function cluster(seed: number, variant: Variant): RaftTestCluster {
  const c = new RaftTestCluster({
    nodes: 5,
    seed,
    tickIntervalMs: TICK_MS,
    defaultTimeoutMs: 10_000,
    ...(variant.detector !== undefined ? { failureDetector: variant.detector } : {}),
  });
  c.network.setFaults({ delay: { kind: 'uniform', minMs: 1, maxMs: 5 } });
  return c;
}

/** Crash the leader; time until a new leader is elected and has committed a proposal. */
async function failoverOnce(seed: number, variant: Variant): Promise<number> {
  const c = cluster(seed, variant);
  const leader = await c.waitForLeader({ limitMs: 60_000 });
  await c.run(5_000 + (seed % 10) * 37); // steady state, crash at varying phases of the heartbeat
  await c.crash(leader.id);
  const crashedAt = c.clock.now();
  const next = await c.waitForLeader({ not: leader.id, limitMs: 60_000 });
  await c.settle(next.propose(new Uint8Array([1]), { timeoutMs: 10_000 }), 20_000);
  const elapsed = c.clock.now() - crashedAt;
  c.assertSafe();
  await c.stop();
  return elapsed;
}

/** Term changes in a healthy cluster with jittery, slightly lossy links. */
async function spuriousElections(variant: Variant, runMs: number): Promise<number> {
  const c = cluster(1, variant);
  c.network.setFaults({ dropRate: 0.01, delay: { kind: 'exponential', meanMs: 10, maxMs: 150 } });
  const leader = await c.waitForLeader({ limitMs: 60_000 });
  const term = leader.status().term;
  await c.run(runMs);
  const elections = Math.max(...c.running().map((n) => n.status().term)) - term;
  c.assertSafe();
  await c.stop();
  return elections;
}

/**
 * Raft leader failover time with and without detector-assisted elections,
 * on the simulator (virtual time, 5 nodes, 100 ms ticks, 1-5 ms links):
 * the time from a leader crash until a new leader has committed a
 * proposal, over many seeds; and the elections a healthy cluster holds for
 * no reason over a long run with jitter and 1 % loss.
 */
export async function failoverSuite(options: FailoverOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const variant of variants) {
    const times: number[] = [];
    for (let seed = 1; seed <= options.trials; seed++) times.push(await failoverOnce(seed, variant));
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    results.push({
      system: 'synod-raft',
      scenario: `failover-${variant.name}`,
      clients: 0,
      opsPerSec: 0,
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      meanFailoverMs: Math.round(mean),
      trials: times.length,
      spuriousElections: await spuriousElections(variant, options.healthyRunMs),
      healthyRunMs: options.healthyRunMs,
    });
  }
  return results;
}
