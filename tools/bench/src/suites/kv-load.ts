import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Progress, stdoutLog } from '../progress.js';
import { quantile, type BenchResult } from '../results.js';
import { waitForLeader, type BenchCluster, type KvConnection } from '../systems/cluster.js';
import { cpuSeconds } from '../systems/process.js';

/** `put`: every operation a put. `put-get`: puts and linearizable gets, alternating per client (50/50). */
export type KvMix = 'put' | 'put-get';

export const MIX_SCENARIOS: Readonly<Record<KvMix, string>> = { put: 'put 100%', 'put-get': 'put 50% / linearizable get 50%' };

/** The load generator's settings; one set for every system in a run. */
export interface KvLoadOptions {
  /** Concurrent clients per point, each with one request in flight (a closed loop). */
  readonly clients: readonly number[];
  readonly mixes: readonly KvMix[];
  /** Load before the timed runs of each point, per system. */
  readonly warmupMs: number;
  /**
   * Load on each system once its cluster is up, before the first point (16
   * clients, the 50/50 mix): the JavaScript of a Synod node runs in V8's
   * lower tiers until it has handled a few thousand calls, and without this
   * the first point (1 client) would measure compilation, not the steady
   * state. etcd gets the same load. @default 0
   */
  readonly startupWarmupMs?: number;
  readonly runMs: number;
  /** Timed runs per point and system; the row gives their median and min–max. */
  readonly runs: number;
  /** @default 256 */
  readonly valueBytes?: number;
  /** @default 10000 */
  readonly keys?: number;
}

/** A system under test: how to start its three-member cluster in a directory. */
export interface KvSystem {
  /** The bench suite the rows belong to (`etcd`, `kv-grpc`, …). */
  readonly suite: string;
  start(dir: string): Promise<BenchCluster>;
}

/** Clients that share one connection (channel), as an application's concurrent callers share one client object. */
const CLIENTS_PER_CONNECTION = 16;

interface RunOutcome {
  readonly ops: number;
  readonly errors: number;
  readonly latencies: Float64Array;
  readonly opsPerSec: number;
  readonly leaderCpuSeconds: number | undefined;
}

/**
 * One closed-loop window: every client issues its next operation as soon
 * as the last one ends, until `ms` is over. Operations that end inside the
 * window count; the loop then waits for the ones in flight.
 */
async function runWindow(connections: readonly KvConnection[], clients: number, mix: KvMix, ms: number, value: Buffer, keys: number, keyOffset: number): Promise<Omit<RunOutcome, 'leaderCpuSeconds'>> {
  const latencies: number[] = [];
  let errors = 0;
  const startAt = performance.now();
  const endAt = startAt + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const connection = connections[c % connections.length]!;
      // Each client walks the key space with its own stride, so concurrent clients rarely touch one key.
      let n = keyOffset;
      for (;;) {
        const begin = performance.now();
        if (begin >= endAt) return;
        const key = `key/${(c * 7919 + n * 104_729) % keys}`;
        const isGet = mix === 'put-get' && n % 2 === 1;
        n++;
        try {
          await (isGet ? connection.get(key) : connection.put(key, value));
        } catch {
          errors++;
          continue;
        }
        const end = performance.now();
        if (end <= endAt) latencies.push(end - begin);
      }
    }),
  );
  const sorted = Float64Array.from(latencies).sort();
  return { ops: sorted.length, errors, latencies: sorted, opsPerSec: sorted.length / (ms / 1000) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The shared load generator. Starts every system's cluster (each in a
 * fresh directory under `os.tmpdir()`), then for each mix and client count:
 * opens the connections on each system's leader, warms each system up,
 * and alternates the timed runs between the systems (A B, B A, …) so that
 * a change in the machine's load falls on both. Rows hold the median of
 * the runs and their min–max; with more than one system, each row also
 * gets its ratio to the first system's row at the same point
 * (`throughputRatio`, `p50Ratio`, `p99Ratio`, and `ratioTo`).
 */
export async function runKvLoad(systems: readonly KvSystem[], options: KvLoadOptions, log: (line: string) => void = stdoutLog): Promise<Map<string, BenchResult[]>> {
  const valueBytes = options.valueBytes ?? 256;
  const keys = options.keys ?? 10_000;
  const value = Buffer.alloc(valueBytes, 'v');
  const points = options.mixes.length * options.clients.length;
  const perPoint = systems.length * (options.warmupMs + options.runs * options.runMs);
  const progress = new Progress(points * perPoint, log, log === stdoutLog ? { terminal: process.stdout } : {});
  const dirs: string[] = [];
  const clusters: BenchCluster[] = [];
  const results = new Map<string, BenchResult[]>(systems.map((system) => [system.suite, []]));
  try {
    for (const system of systems) {
      const dir = mkdtempSync(join(tmpdir(), `synod-bench-${system.suite}-`));
      dirs.push(dir);
      progress.note(`starting 3 ${system.suite} members in ${dir}`);
      const cluster = await system.start(dir);
      clusters.push(cluster);
      const leader = await waitForLeader(cluster);
      const warmupMs = options.startupWarmupMs ?? 0;
      if (warmupMs > 0) {
        progress.note(`warming ${system.suite} up for ${warmupMs} ms (16 clients, ${MIX_SCENARIOS['put-get']})`);
        const connections = [cluster.connect(leader)];
        try {
          await runWindow(connections, CLIENTS_PER_CONNECTION, 'put-get', warmupMs, value, keys, 0);
        } finally {
          for (const connection of connections) connection.close();
        }
      }
    }
    let keyOffset = 0;
    for (const mix of options.mixes) {
      for (const clients of options.clients) {
        const loadAtStart = loadavg()[0]!;
        const perSystem = await Promise.all(
          clusters.map(async (cluster) => {
            const leader = await waitForLeader(cluster);
            const connections = Array.from({ length: Math.ceil(clients / CLIENTS_PER_CONNECTION) }, () => cluster.connect(leader));
            return { cluster, leader, connections, runs: [] as RunOutcome[] };
          }),
        );
        for (const [i, entry] of perSystem.entries()) {
          progress.step(`${systems[i]!.suite} ${mix} clients=${clients} warm-up`, options.warmupMs);
          await runWindow(entry.connections, clients, mix, options.warmupMs, value, keys, (keyOffset += 1_000));
        }
        for (let run = 0; run < options.runs; run++) {
          const order = run % 2 === 0 ? perSystem : [...perSystem].reverse();
          for (const entry of order) {
            progress.step(`${systems[perSystem.indexOf(entry)]!.suite} ${mix} clients=${clients} run ${run + 1}/${options.runs}`, options.runMs);
            const leaderPid = entry.cluster.members.find((m) => m.id === entry.leader)?.pid;
            const cpuBefore = cpuSeconds(leaderPid);
            const outcome = await runWindow(entry.connections, clients, mix, options.runMs, value, keys, (keyOffset += 1_000));
            const cpuAfter = cpuSeconds(leaderPid);
            entry.runs.push({ ...outcome, leaderCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore });
          }
        }
        const rows = perSystem.map((entry, i) => {
          const throughputs = entry.runs.map((r) => r.opsPerSec);
          const p50s = entry.runs.map((r) => quantile(r.latencies, 0.5));
          const p99s = entry.runs.map((r) => quantile(r.latencies, 0.99));
          const ops = entry.runs.reduce((sum, r) => sum + r.ops, 0);
          const cpu = entry.runs.reduce((sum, r) => sum + (r.leaderCpuSeconds ?? Number.NaN), 0);
          for (const connection of entry.connections) connection.close();
          return {
            system: entry.cluster.system,
            scenario: MIX_SCENARIOS[mix],
            clients,
            opsPerSec: round(median(throughputs), 1),
            p50Ms: round(median(p50s), 3),
            p99Ms: round(median(p99s), 3),
            opsPerSecMin: round(Math.min(...throughputs), 1),
            opsPerSecMax: round(Math.max(...throughputs), 1),
            p50MsMin: round(Math.min(...p50s), 3),
            p50MsMax: round(Math.max(...p50s), 3),
            p99MsMin: round(Math.min(...p99s), 3),
            p99MsMax: round(Math.max(...p99s), 3),
            runs: entry.runs.length,
            runMs: options.runMs,
            warmupMs: options.warmupMs,
            operations: ops,
            errors: entry.runs.reduce((sum, r) => sum + r.errors, 0),
            leaderCpuMsPerOp: Number.isFinite(cpu) && ops > 0 ? round((cpu * 1000) / ops, 3) : null,
            valueBytes,
            keys,
            version: entry.cluster.version,
            loadAverage1m: round(loadAtStart, 1),
            suite: systems[i]!.suite,
          } satisfies BenchResult;
        });
        const base = rows[0]!;
        for (const row of rows) {
          const withRatios: BenchResult =
            row === base || systems.length < 2
              ? row
              : {
                  ...row,
                  ratioTo: base.system,
                  throughputRatio: base.opsPerSec > 0 ? round(row.opsPerSec / base.opsPerSec) : null,
                  p50Ratio: base.p50Ms > 0 ? round(row.p50Ms / base.p50Ms) : null,
                  p99Ratio: base.p99Ms > 0 ? round(row.p99Ms / base.p99Ms) : null,
                };
          const { suite, ...rest } = withRatios;
          results.get(suite as string)!.push(rest as BenchResult);
          progress.note(
            `${row.system} ${mix} clients=${clients}: ${Math.round(row.opsPerSec)} ops/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms` +
              (withRatios['throughputRatio'] !== undefined ? ` (÷${base.system}: ${String(withRatios['throughputRatio'])}× throughput, p99 ${String(withRatios['p99Ratio'])}×)` : '') +
              `, load ${row.loadAverage1m}`,
          );
        }
      }
    }
  } finally {
    progress.finish();
    await Promise.all(clusters.map((cluster) => cluster.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
