import {
  encodeKvCommand,
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  SeededRandom,
  systemClock,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { quantile, type BenchResult } from '../results.js';

type Node = RaftNode<KvResult, KvQuery, KvQueryResult>;

export interface RaftMemoryOptions {
  readonly clients: readonly number[];
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

/** Closed-loop clients putting 256-byte values through the leader; returns completed latencies. */
async function drive(leader: Node, clients: number, durationMs: number): Promise<number[]> {
  const value = 'x'.repeat(256);
  const latencies: number[] = [];
  const endAt = performance.now() + durationMs;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < endAt) {
        const started = performance.now();
        await leader.propose(encodeKvCommand({ type: 'put', key: `k${sequence++ % 1000}`, value }), { timeoutMs: 5000 });
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

/**
 * Throughput and latency of a 3-node Raft cluster on the in-memory transport
 * (real clock, no disk): an upper bound for what the protocol
 * and driver cost, without network or fsync.
 */
export async function raftMemorySuite(options: RaftMemoryOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const clients of options.clients) {
    const perRun: { opsPerSec: number; p50Ms: number; p99Ms: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
      const network = new MemoryNetwork({ clock: systemClock, random: new SeededRandom(run + 1), clusterId: 'bench' });
      const ids = ['n1', 'n2', 'n3'];
      const nodes: Node[] = ids.map((id) => {
        const node: Node = new RaftNode({
          raft: { id, voters: ids, electionTicks: 10, heartbeatTicks: 1 },
          clusterId: 'bench',
          transport: network.endpoint(id),
          storage: new MemoryStorage(),
          stateMachine: new KvStateMachine(),
          random: new SeededRandom(run * 10 + id.length),
          tickIntervalMs: 20,
        });
        node.start();
        return node;
      });
      const leader = await waitForLeader(nodes);
      await drive(leader, clients, options.warmupMs);
      const started = performance.now();
      const latencies = await drive(leader, clients, options.durationMs);
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
      system: 'synod-raft-memory',
      scenario: 'put-256B-3-nodes',
      clients,
      opsPerSec: median(perRun.map((r) => r.opsPerSec)),
      p50Ms: median(perRun.map((r) => r.p50Ms)),
      p99Ms: median(perRun.map((r) => r.p99Ms)),
      runs: options.runs,
    });
  }
  return results;
}
