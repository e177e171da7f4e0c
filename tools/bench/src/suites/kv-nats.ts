import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsServer } from '@synod/transport-nats/nats-server';
import { lineChart } from '../charts.js';
import type { BenchResult, SuiteReport } from '../results.js';
import { kvPutPoints, type KvGrpcBenchOptions } from './kv-grpc.js';

/**
 * `pnpm bench kv-nats`: the kv-grpc measurement (three `synod serve`
 * processes, FileStorage with fsync, 256-byte puts, one request in flight per
 * client) over NATS and over gRPC in the same run, each number of clients
 * measured over both back to back so that the machine's load hits them alike.
 * Over NATS the nodes and the clients talk through one nats-server of this
 * suite's own on a free loopback port. Each NATS row carries `vsGrpc`, its
 * throughput over the gRPC row's at the same number of clients.
 */
export async function kvNatsSuite(options: KvGrpcBenchOptions): Promise<BenchResult[]> {
  const broker = await NatsServer.start();
  try {
    const grpc: BenchResult[] = [];
    const nats: BenchResult[] = [];
    for (const clients of options.clients) {
      const point = { ...options, clients: [clients] };
      grpc.push(...(await kvPutPoints(point, { transport: 'grpc' })));
      const [overNats] = await kvPutPoints(point, { transport: 'nats', natsUrl: broker.url });
      const reference = grpc[grpc.length - 1]!;
      nats.push({ ...overNats!, vsGrpc: reference.opsPerSec > 0 ? Math.round((overNats!.opsPerSec / reference.opsPerSec) * 100) / 100 : null });
    }
    return [...grpc, ...nats];
  } finally {
    await broker.dispose();
  }
}

/** `kv-nats.svg`: throughput and p99 against the number of clients, NATS beside gRPC. */
export function writeKvNatsChart(outDir: string, report: SuiteReport): void {
  const series = (transport: string, metric: (r: BenchResult) => number) => ({
    name: transport,
    points: report.results.filter((r) => r.scenario.startsWith(`kv-${transport} `)).map((r) => [r.clients, metric(r)] as const),
  });
  writeFileSync(
    join(outDir, 'kv-nats.svg'),
    lineChart({
      title: 'KV put throughput, 3 serve processes, FileStorage fsync: NATS beside gRPC',
      xLabel: 'concurrent clients',
      yLabel: 'puts/s',
      logX: true,
      series: [series('grpc', (r) => r.opsPerSec), series('nats', (r) => r.opsPerSec)],
    }),
  );
  writeFileSync(
    join(outDir, 'kv-nats-p99.svg'),
    lineChart({
      title: 'KV put p99 latency: NATS beside gRPC',
      xLabel: 'concurrent clients',
      yLabel: 'p99 ms',
      logX: true,
      series: [series('grpc', (r) => r.p99Ms), series('nats', (r) => r.p99Ms)],
    }),
  );
}
