import { MemoryStorage, RaftNode, SeededRandom, systemClock, type StateMachine } from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { runInChild } from '../child.js';
import { quantile, type BenchResult } from '../results.js';

type Node = RaftNode<undefined, undefined, undefined>;

/** Applies nothing: the suite measures consensus, not a state machine. */
const noopStateMachine: StateMachine<Uint8Array, undefined, undefined, undefined> = {
  apply: () => undefined,
  query: () => undefined,
  snapshot: () => new Uint8Array(0),
  restore: () => undefined,
};

export interface RaftInmemOptions {
  /** Proposals kept in flight at once (closed loop). */
  readonly inFlight: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly runs: number;
}

async function waitForLeader(nodes: readonly Node[]): Promise<Node> {
  for (;;) {
    const leader = nodes.find((n) => n.status().role === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Keeps `inFlight` proposals of 256 bytes outstanding on the leader; returns the commit latencies. */
async function drive(leader: Node, inFlight: number, durationMs: number): Promise<number[]> {
  const command = new Uint8Array(256).fill(7);
  const proposeOptions = { timeoutMs: 10_000 };
  const latencies: number[] = [];
  const endAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      // One clock read per proposal: the time a proposal commits is when
      // the next one starts, and the loop checks the deadline against it.
      let now = performance.now();
      while (now < endAt) {
        const started = now;
        await leader.propose(command, proposeOptions);
        now = performance.now();
        latencies.push(now - started);
      }
    }),
  );
  return latencies;
}

/** One measurement: a fresh cluster, a warm-up, then `durationMs` of proposals. */
export interface RaftInmemRunConfig {
  readonly inFlight: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Seeds the network and the nodes' election timeouts. */
  readonly run: number;
}

export interface RaftInmemRunReport {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs one measurement in this process (the worker calls it; see {@link raftInmemSuite}). */
export async function measureRaftInmem(config: RaftInmemRunConfig): Promise<RaftInmemRunReport> {
  const { run } = config;
  const network = new MemoryNetwork({
    clock: systemClock,
    random: new SeededRandom(run + 1),
    clusterId: 'bench',
    faults: { delay: { kind: 'fixed', ms: 0 } },
  });
  const ids = ['n1', 'n2', 'n3'];
  const nodes: Node[] = ids.map((id, i) => {
    const node: Node = new RaftNode({
      raft: { id, voters: ids, electionTicks: 10, heartbeatTicks: 1 },
      clusterId: 'bench',
      transport: network.endpoint(id),
      storage: new MemoryStorage(),
      stateMachine: noopStateMachine,
      maxPendingOperations: 100_000,
      // One seed per node: equal seeds give equal election timeouts, and
      // the nodes then split the vote round after round.
      random: new SeededRandom(run * 10 + i + 1),
      tickIntervalMs: 100,
    });
    node.start();
    return node;
  });
  const leader = await waitForLeader(nodes);
  await drive(leader, config.inFlight, config.warmupMs);
  const started = performance.now();
  const latencies = await drive(leader, config.inFlight, config.durationMs);
  const elapsedS = (performance.now() - started) / 1000;
  for (const node of nodes) await node.stop();
  await network.close();
  // A typed array sorts numerically without a comparator: a few million
  // latencies in well under a second, so profiles of a run show the run.
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: sorted.length / elapsedS,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
  };
}

const RAFT_INMEM_WORKER = new URL('./raft-inmem-worker.js', import.meta.url);

/**
 * Proposals per second and commit latency of a 3-node Raft cluster in one
 * process: memory transport (zero delay), memory storage, a no-op state
 * machine. It measures what the protocol and the driver cost, without
 * network, disk or application.
 *
 * Every run is a process of its own. Runs one after another in one process
 * measured up to 15 % slower from the third on: the JIT's feedback and
 * optimised code still describe the clusters of earlier runs, and once those
 * are collected it deoptimises and settles on slower, more general code. A
 * server runs one cluster for its lifetime, which a fresh process matches.
 */
export async function raftInmemSuite(options: RaftInmemOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const inFlight of options.inFlight) {
    const perRun: RaftInmemRunReport[] = [];
    for (let run = 0; run < options.runs; run++) {
      const config: RaftInmemRunConfig = { inFlight, durationMs: options.durationMs, warmupMs: options.warmupMs, run };
      perRun.push(await runInChild<RaftInmemRunConfig, RaftInmemRunReport>(RAFT_INMEM_WORKER, config));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    results.push({
      system: 'synod-raft-inmem',
      scenario: 'propose-256B-3-nodes-noop-sm',
      clients: inFlight,
      inFlight,
      opsPerSec: median(perRun.map((r) => r.opsPerSec)),
      p50Ms: median(perRun.map((r) => r.p50Ms)),
      p99Ms: median(perRun.map((r) => r.p99Ms)),
      runs: options.runs,
    });
  }
  return results;
}
