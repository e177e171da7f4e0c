import { HeartbeatDetector, PhiAccrualDetector, type FailureDetector } from '@synod/core';
import { RaftTestCluster } from '@synod/testkit';
import { quantile, type BenchResult } from '../results.js';

export interface FailoverOptions {
  /** Leader crashes measured per configuration (one seed each). */
  readonly trials: number;
  /** Virtual time of the healthy run that counts spurious elections. */
  readonly healthyRunMs: number;
  /** Seeds per leader pause length. */
  readonly pauseTrials: number;
}

const TICK_MS = 100; // electionTicks 10 → election timeout 1 s, randomized in [1 s, 2 s)
/** Leader pauses measured: below, at and above the default tolerated pause (half the minimum election timeout). */
const PAUSES_MS = [250, 400, 500, 700] as const;

interface Variant {
  readonly name: string;
  readonly detector: (() => FailureDetector) | undefined;
  /** RaftNode.toleratedLeaderPauseMs; undefined for the default. */
  readonly toleratedLeaderPauseMs?: number;
}

// Heartbeats every tick (100 ms). minStdDeviation 20 ms lets phi reach 8
// about 200 ms into a silence, not 660 ms (Pekko's 100 ms floor).
const phi = (): FailureDetector =>
  new PhiAccrualDetector({ threshold: 8, minStdDeviationMs: 20, firstHeartbeatEstimateMs: TICK_MS });

const variants: readonly Variant[] = [
  { name: 'election-timeout', detector: undefined },
  { name: 'phi-accrual-assisted', detector: phi },
  { name: 'fixed-timeout-assisted', detector: () => new HeartbeatDetector({ timeoutMs: 3 * TICK_MS }) },
  // The trade-off between the tolerated pause and failover time.
  { name: 'phi-accrual-assisted-tolerate-0', detector: phi, toleratedLeaderPauseMs: 0 },
  { name: 'phi-accrual-assisted-tolerate-250', detector: phi, toleratedLeaderPauseMs: 250 },
  { name: 'phi-accrual-assisted-tolerate-750', detector: phi, toleratedLeaderPauseMs: 750 },
];

function cluster(seed: number, variant: Variant): RaftTestCluster {
  const c = new RaftTestCluster({
    nodes: 5,
    seed,
    tickIntervalMs: TICK_MS,
    defaultTimeoutMs: 10_000,
    ...(variant.detector !== undefined ? { failureDetector: variant.detector } : {}),
    ...(variant.toleratedLeaderPauseMs !== undefined ? { node: { toleratedLeaderPauseMs: variant.toleratedLeaderPauseMs } } : {}),
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

/**
 * The leader pauses for `pauseMs` (a GC pause or an event-loop stall,
 * modelled as the leader cut off both ways: nothing it sends arrives and it
 * hears nothing), at varying phases of its heartbeat. True when another node
 * took over (the leader or the term changed) within 3 s of the pause.
 */
async function deposedByPause(seed: number, variant: Variant, pauseMs: number): Promise<boolean> {
  const c = cluster(seed, variant);
  const leader = await c.waitForLeader({ limitMs: 60_000 });
  await c.run(5_000 + (seed % 10) * 11);
  const term = leader.status().term;
  c.disconnect(leader.id);
  await c.run(pauseMs);
  c.connect(leader.id);
  await c.run(3_000);
  const now = c.leader();
  const deposed = now === undefined || now.id !== leader.id || Math.max(...c.running().map((n) => n.status().term)) !== term;
  c.assertSafe();
  await c.stop();
  return deposed;
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
 * proposal, over many seeds; how often a leader pause of 250, 400, 500 or
 * 700 ms deposes the leader (spurious leader changes); and the elections a
 * healthy cluster holds for no reason over a long run with jitter and 1 %
 * loss. The `-tolerate-N` variants show the trade-off of
 * `toleratedLeaderPauseMs` (default: half the minimum election timeout, 500 ms).
 */
export async function failoverSuite(options: FailoverOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const variant of variants) {
    const times: number[] = [];
    for (let seed = 1; seed <= options.trials; seed++) times.push(await failoverOnce(seed, variant));
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    const pauses: Record<string, string> = {};
    for (const pauseMs of PAUSES_MS) {
      let deposed = 0;
      for (let seed = 1; seed <= options.pauseTrials; seed++) if (await deposedByPause(seed, variant, pauseMs)) deposed++;
      pauses[`deposedByPause${pauseMs}ms`] = `${deposed}/${options.pauseTrials}`;
    }
    results.push({
      system: 'synod-raft',
      scenario: `failover-${variant.name}`,
      clients: 0,
      opsPerSec: 0,
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      meanFailoverMs: Math.round(mean),
      trials: times.length,
      ...pauses,
      spuriousElections: await spuriousElections(variant, options.healthyRunMs),
      healthyRunMs: options.healthyRunMs,
    });
  }
  return results;
}
