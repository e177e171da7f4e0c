import { MemoryStorage, MultiPaxosNode, RaftNode, SeededRandom, systemClock, type StateMachine } from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { runInChild } from '../child.js';
import { quantile, type BenchResult } from '../results.js';

/** What both drivers offer the load loop. */
interface BenchNode {
  propose(command: Uint8Array, options: { timeoutMs: number }): Promise<unknown>;
  start(): void;
  status(): { readonly role: string };
  stop(): Promise<void>;
}

/** Applies nothing: the suite measures consensus, not a state machine. */
const noopStateMachine: StateMachine<Uint8Array, undefined, undefined, undefined> = {
  apply: () => undefined,
  query: () => undefined,
  snapshot: () => new Uint8Array(0),
  restore: () => undefined,
};

export type Algorithm = 'raft' | 'paxos';

export interface PaxosInmemOptions {
  readonly inFlight: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly runs: number;
  /** Node flags for each worker process (`--cpu-prof` and its directory, say). */
  readonly execArgv?: (algorithm: Algorithm) => readonly string[];
}

export interface PaxosInmemRunConfig {
  readonly algorithm: Algorithm;
  readonly inFlight: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly run: number;
}

export interface PaxosInmemRunReport {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Messages the network carried per committed command during the measurement. */
  readonly messagesPerCommand: number;
  /** Proposals that failed (a leader change under load); not counted as committed. */
  readonly failures: number;
  /**
   * CPU time of the process (all threads, garbage collection included) per
   * committed command, in microseconds: less sensitive than throughput to
   * the share of the CPU a loaded machine leaves the run, though not immune.
   */
  readonly cpuUsPerCommand: number;
}

async function waitForLeader(nodes: readonly BenchNode[]): Promise<BenchNode> {
  for (;;) {
    const leader = nodes.find((n) => n.status().role === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Keeps `inFlight` proposals of 256 bytes outstanding on the leader and
 * returns the commit latencies. On a machine shared with other jobs a
 * follower can miss heartbeats and take over; a failed proposal then moves
 * to the new leader (and is not counted).
 */
async function drive(nodes: readonly BenchNode[], inFlight: number, durationMs: number): Promise<{ latencies: number[]; failures: number }> {
  const command = new Uint8Array(256).fill(7);
  const options = { timeoutMs: 10_000 };
  const latencies: number[] = [];
  let failures = 0;
  let leader = await waitForLeader(nodes);
  const endAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      let now = performance.now();
      while (now < endAt) {
        const started = now;
        try {
          await leader.propose(command, options);
        } catch {
          failures++;
          leader = await waitForLeader(nodes);
        }
        now = performance.now();
        latencies.push(now - started);
      }
    }),
  );
  return { latencies, failures };
}

function makeNode(algorithm: Algorithm, id: string, ids: string[], network: MemoryNetwork, seed: number, electionTicks = 10): BenchNode {
  const common = {
    clusterId: 'bench',
    transport: network.endpoint(id),
    storage: new MemoryStorage(),
    stateMachine: noopStateMachine,
    maxPendingOperations: 100_000,
    random: new SeededRandom(seed),
    tickIntervalMs: 100,
  };
  if (algorithm === 'raft') return new RaftNode({ ...common, raft: { id, voters: ids, electionTicks, heartbeatTicks: 1 } });
  return new MultiPaxosNode({ ...common, paxos: { id, voters: ids, electionTicks, heartbeatTicks: 1, window: 1024 } });
}

export interface FixedCountConfig {
  readonly algorithm: Algorithm;
  readonly inFlight: number;
  /** Proposals to commit in all. */
  readonly commands: number;
}

/**
 * The suite's set-up driven for a fixed number of proposals rather than a
 * fixed time, with n1 made leader and election timeouts of 1,000 ticks, so
 * that a slow run (under valgrind, say) has no leader change. For counting
 * instructions, which a loaded machine does not distort as it does time:
 * the difference between two counts (say 25,000 and 5,000 proposals)
 * divided by the difference in proposals is the cost of one, start-up and
 * election left out.
 *
 * @example
 * ```sh
 * valgrind --tool=callgrind node --single-threaded --input-type=module -e "
 *   const { proposeFixedCount } = await import('./tools/bench/dist/suites/paxos-inmem.js');
 *   console.log(await proposeFixedCount({ algorithm: 'paxos', inFlight: 1024, commands: 25000 }));"
 * ```
 */
export async function proposeFixedCount(config: FixedCountConfig): Promise<{ readonly committed: number; readonly failures: number }> {
  const network = new MemoryNetwork({ clock: systemClock, random: new SeededRandom(1), clusterId: 'bench', faults: { delay: { kind: 'fixed', ms: 0 } } });
  const ids = ['n1', 'n2', 'n3'];
  const nodes = ids.map((id, i) => makeNode(config.algorithm, id, ids, network, i + 1, 1000));
  for (const node of nodes) node.start();
  const leader = nodes[0]!;
  await (leader as RaftNode | MultiPaxosNode).campaign({ timeoutMs: 600_000 });
  const command = new Uint8Array(256).fill(7);
  const options = { timeoutMs: 600_000 };
  let started = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: config.inFlight }, async () => {
      while (started < config.commands) {
        started++;
        try {
          await leader.propose(command, options);
        } catch {
          failures++;
        }
      }
    }),
  );
  for (const node of nodes) await node.stop();
  await network.close();
  return { committed: started - failures, failures };
}

/** One measurement in this process (the worker calls it). */
export async function measurePaxosInmem(config: PaxosInmemRunConfig): Promise<PaxosInmemRunReport> {
  const network = new MemoryNetwork({
    clock: systemClock,
    random: new SeededRandom(config.run + 1),
    clusterId: 'bench',
    faults: { delay: { kind: 'fixed', ms: 0 } },
  });
  const ids = ['n1', 'n2', 'n3'];
  const nodes = ids.map((id, i) => {
    const node = makeNode(config.algorithm, id, ids, network, config.run * 10 + i + 1);
    node.start();
    return node;
  });
  await drive(nodes, config.inFlight, config.warmupMs);
  const sentBefore = network.stats().total.sent;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const { latencies, failures } = await drive(nodes, config.inFlight, config.durationMs);
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sent = network.stats().total.sent - sentBefore;
  for (const node of nodes) await node.stop();
  await network.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    opsPerSec: (sorted.length - failures) / elapsedS,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    messagesPerCommand: sent / Math.max(1, sorted.length - failures),
    failures,
    cpuUsPerCommand: (cpu.user + cpu.system) / Math.max(1, sorted.length - failures),
  };
}

const WORKER = new URL('./paxos-inmem-worker.js', import.meta.url);

/**
 * Multi-Paxos against Raft, side by side in one run: 3 nodes in one
 * process (memory transport with zero delay, memory storage, no-op state
 * machine), 256-byte proposals on the leader with 1, 64 and 1,024 in
 * flight. Reports throughput, latency, messages per committed command, and
 * for Paxos the ratio to Raft's throughput at the same point. Each run is a
 * fresh process, for the reason given in the raft-inmem suite; the two
 * algorithms alternate run by run so that drifting machine load hits both.
 */
export async function paxosInmemSuite(options: PaxosInmemOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const inFlight of options.inFlight) {
    const perRun: Record<Algorithm, PaxosInmemRunReport[]> = { raft: [], paxos: [] };
    for (let run = 0; run < options.runs; run++) {
      for (const algorithm of ['raft', 'paxos'] as const) {
        const config: PaxosInmemRunConfig = { algorithm, inFlight, durationMs: options.durationMs, warmupMs: options.warmupMs, run };
        const execArgv = options.execArgv?.(algorithm) ?? [];
        perRun[algorithm].push(await runInChild<PaxosInmemRunConfig, PaxosInmemRunReport>(WORKER, config, { execArgv }));
      }
    }
    const raftOps = median(perRun.raft.map((r) => r.opsPerSec));
    for (const algorithm of ['raft', 'paxos'] as const) {
      const runs = perRun[algorithm];
      const opsPerSec = median(runs.map((r) => r.opsPerSec));
      results.push({
        system: algorithm === 'raft' ? 'synod-raft-inmem' : 'synod-multipaxos-inmem',
        scenario: 'propose-256B-3-nodes-noop-sm',
        clients: inFlight,
        inFlight,
        opsPerSec,
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        messagesPerCommand: median(runs.map((r) => r.messagesPerCommand)),
        cpuUsPerCommand: Math.round(median(runs.map((r) => r.cpuUsPerCommand)) * 100) / 100,
        ratioToRaft: opsPerSec / raftOps,
        failures: runs.reduce((n, r) => n + r.failures, 0),
        runs: options.runs,
      });
    }
  }
  return results;
}
