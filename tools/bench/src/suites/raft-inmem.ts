import { MemoryStorage, RaftNode, SeededRandom, systemClock, type StateMachine } from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
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
  const latencies: number[] = [];
  const endAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < endAt) {
        const started = performance.now();
        await leader.propose(command, { timeoutMs: 10_000 });
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

/**
 * Proposals per second and commit latency of a 3-node Raft cluster in one
 * process: memory transport (zero delay), memory storage, a no-op state
 * machine. It measures what the protocol and the driver cost, without
 * network, disk or application.
 */
export async function raftInmemSuite(options: RaftInmemOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const inFlight of options.inFlight) {
    const perRun: { opsPerSec: number; p50Ms: number; p99Ms: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
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
      await drive(leader, inFlight, options.warmupMs);
      const started = performance.now();
      const latencies = await drive(leader, inFlight, options.durationMs);
      const elapsedS = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      perRun.push({
        opsPerSec: latencies.length / elapsedS,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
      });
      for (const node of nodes) await node.stop();
      await network.close();
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
