import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsServer } from '@synod/transport-nats/nats-server';
import { lineChart } from '../charts.js';
import type { BenchResult, SuiteReport } from '../results.js';
import { startSynodNatsCluster } from '../systems/synod-nats.js';
import { MIX_SCENARIOS, runKvLoad, type KvLoadOptions, type KvSystem } from './kv-load.js';

/**
 * `pnpm bench kv-nats`: the shared load generator (`runKvLoad`) against
 * three `synod serve` processes over gRPC and three over NATS, in the same
 * run with the timed runs alternating between them. Over NATS, the nodes and
 * the load's SynodNatsClients talk through one nats-server of this suite's
 * own on a free loopback port. The gRPC rows come first; each NATS row
 * carries its ratios to the gRPC row at the same point (`throughputRatio`,
 * `p50Ratio`, `p99Ratio`).
 */
export async function kvNatsSuite(grpc: KvSystem, options: KvLoadOptions, execArgv: readonly string[] = []): Promise<BenchResult[]> {
  const broker = await NatsServer.start();
  try {
    const nats: KvSystem = { suite: 'kv-nats', start: (dir) => startSynodNatsCluster(dir, broker.url, execArgv) };
    const results = await runKvLoad([grpc, nats], options);
    return [...(results.get(grpc.suite) ?? []), ...(results.get('kv-nats') ?? [])];
  } finally {
    await broker.dispose();
  }
}

/** `kv-nats.svg` (puts/s) and `kv-nats-p99.svg` against the number of clients, NATS beside gRPC, for the all-put mix. */
export function writeKvNatsChart(outDir: string, report: SuiteReport): void {
  const puts = report.results.filter((r) => r.scenario === MIX_SCENARIOS.put);
  const series = (system: string, label: string, metric: (r: BenchResult) => number) => ({
    name: label,
    points: puts.filter((r) => r.system === system).map((r) => [r.clients, metric(r)] as const),
  });
  const chart = (title: string, yLabel: string, metric: (r: BenchResult) => number): string =>
    lineChart({ title, xLabel: 'concurrent clients', yLabel, logX: true, series: [series('synod', 'gRPC', metric), series('synod-nats', 'NATS', metric)] });
  writeFileSync(join(outDir, 'kv-nats.svg'), chart('KV put throughput, 3 serve processes, FileStorage fsync: NATS beside gRPC', 'puts/s', (r) => r.opsPerSec));
  writeFileSync(join(outDir, 'kv-nats-p99.svg'), chart('KV put p99 latency: NATS beside gRPC', 'p99 ms', (r) => r.p99Ms));
}
