import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SynodClient, type SynodKvClient } from '@synod/transport-grpc';
import { SynodNatsClient } from '@synod/transport-nats';
import { quantile, type BenchResult } from '../results.js';

export interface KvGrpcBenchOptions {
  /** Concurrent clients per point, each with one request in flight. */
  readonly clients: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly valueBytes: number;
}

const SERVE = fileURLToPath(new URL('./kv-grpc-serve.js', import.meta.url));
const KEYS = 1000;

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * How the serve processes talk: gRPC on ports of their own, or through the
 * NATS server at `natsUrl` (`--transport nats`), clients included.
 */
export type KvCarrier = { readonly transport: 'grpc' } | { readonly transport: 'nats'; readonly natsUrl: string };

/** A client of the cluster over `carrier`; `endpoints` are the gRPC ones. */
function clientOf(carrier: KvCarrier, endpoints: readonly string[], timeoutMs?: number): SynodKvClient {
  const timeout = timeoutMs === undefined ? {} : { timeoutMs };
  return carrier.transport === 'grpc'
    ? new SynodClient({ endpoints: [...endpoints], security: { insecure: true }, ...timeout })
    : new SynodNatsClient({ servers: carrier.natsUrl, ...timeout });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface Node {
  readonly id: string;
  readonly endpoint: string;
  readonly child: ChildProcess;
}

async function startCluster(dir: string, carrier: KvCarrier): Promise<Node[]> {
  const ids = ['n1', 'n2', 'n3'];
  const ports = await freePorts(ids.length);
  const endpoint = (i: number): string => `127.0.0.1:${ports[i]}`;
  return Promise.all(
    ids.map(
      (id, i) =>
        new Promise<Node>((resolve, reject) => {
          const peers = ids.flatMap((other, j) => (other === id ? [] : [`${other}=${endpoint(j)}`])).join(',');
          const network =
            carrier.transport === 'grpc'
              ? ['--listen', endpoint(i), '--peers', peers, '--insecure']
              : ['--transport', 'nats', '--nats-url', carrier.natsUrl, '--peers', ids.filter((other) => other !== id).join(',')];
          const child = spawn(
            process.execPath,
            [SERVE, '--id', id, ...network, '--data', join(dir, id), '--log-level', 'warn'],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let output = '';
          const onData = (chunk: Buffer): void => {
            output += chunk.toString('utf8');
            if (output.includes('serving cluster')) resolve({ id, endpoint: endpoint(i), child });
          };
          child.stdout.on('data', onData);
          child.stderr.on('data', (chunk: Buffer) => {
            output += chunk.toString('utf8');
          });
          child.once('exit', (code) => reject(new Error(`${id} exited with ${code}:\n${output}`)));
        }),
    ),
  );
}

async function stopCluster(nodes: readonly Node[]): Promise<void> {
  await Promise.all(
    nodes.map(
      (node) =>
        new Promise<void>((resolve) => {
          if (node.child.exitCode !== null) return resolve();
          node.child.once('exit', () => resolve());
          node.child.kill('SIGTERM');
        }),
    ),
  );
}

/** `clients` clients, one put in flight each, for `durationMs` after `warmupMs`. */
async function measure(newClient: () => SynodKvClient, clients: number, options: KvGrpcBenchOptions): Promise<{ ops: number; seconds: number; latencies: number[]; errors: number }> {
  const value = 'v'.repeat(options.valueBytes);
  // A client is one request in flight with a session of its own; up to 16
  // of them share a client object (and so its connections), as an application
  // with many concurrent callers would.
  const instances = Array.from({ length: Math.ceil(clients / 16) }, newClient);
  const pool = Array.from({ length: clients }, (_, c) => instances[c % instances.length]!);
  // Discover the leader once per instance before the clock starts.
  for (const [i, client] of instances.entries()) await client.put(`warm/${i}`, value);
  const latencies: number[] = [];
  let ops = 0;
  let errors = 0;
  const startAt = performance.now() + options.warmupMs;
  const endAt = startAt + options.durationMs;
  await Promise.all(
    pool.map(async (client, c) => {
      let n = 0;
      for (;;) {
        const begin = performance.now();
        if (begin >= endAt) break;
        try {
          await client.put(`key/${(c * 7919 + n++) % KEYS}`, value);
        } catch {
          errors++;
          continue;
        }
        const end = performance.now();
        // Closed loop: every put that ends inside the window counts.
        if (end >= startAt && end <= endAt) {
          ops++;
          latencies.push(end - begin);
        }
      }
    }),
  );
  await Promise.all(instances.map((client) => client.close()));
  return { ops, seconds: options.durationMs / 1000, latencies: latencies.sort((a, b) => a - b), errors };
}

/**
 * `pnpm bench kv-grpc`: three `synod serve` processes on loopback
 * (FileStorage, fsync on, plaintext), clients in this process putting
 * 256-byte values over 1000 keys, one request in flight per client, each
 * with a session of its own; up to 16 clients share a SynodClient.
 * Throughput and latency per number of clients, and the CPU each node used
 * per put (from /proc).
 */
export async function kvGrpcSuite(options: KvGrpcBenchOptions): Promise<BenchResult[]> {
  return kvPutPoints(options, { transport: 'grpc' });
}

/**
 * The points of the kv-grpc measurement over `carrier` (the kv-nats suite
 * runs it over both): a fresh cluster per number of clients.
 */
export async function kvPutPoints(options: KvGrpcBenchOptions, carrier: KvCarrier): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const clients of options.clients) {
    // A fresh cluster per point, so one point's log and snapshots do not slow the next.
    const dir = mkdtempSync(join(tmpdir(), 'synod-bench-kv-grpc-'));
    const nodes = await startCluster(dir, carrier);
    try {
      const endpoints = nodes.map((node) => node.endpoint);
      const loadBefore = loadavg()[0]!;
      const cpuBefore = nodes.map((node) => cpuSeconds(node.child.pid));
      const run = await measure(() => clientOf(carrier, endpoints, 30_000), clients, options);
      const cpuAfter = nodes.map((node) => cpuSeconds(node.child.pid));
      const probe = clientOf(carrier, endpoints);
      const statuses = await probe.status();
      await probe.close();
      const leader = statuses.find((s) => 'role' in s && s.role === 'leader');
      const cpuMsPerPut = nodes.map((node, i) => {
        const before = cpuBefore[i];
        const after = cpuAfter[i];
        return before === undefined || after === undefined || run.ops === 0 ? null : Math.round(((after - before) * 1e6) / run.ops) / 1000;
      });
      const leaderIndex = leader !== undefined && 'id' in leader ? nodes.findIndex((node) => node.id === leader.id) : -1;
      results.push({
        system: 'synod',
        scenario: `kv-${carrier.transport} put ${options.valueBytes} B, 3 serve processes, FileStorage fsync, plaintext`,
        clients,
        opsPerSec: run.ops / run.seconds,
        p50Ms: quantile(run.latencies, 0.5),
        p99Ms: quantile(run.latencies, 0.99),
        durationMs: options.durationMs,
        operations: run.ops,
        errors: run.errors,
        leaderCpuMsPerPut: leaderIndex >= 0 ? cpuMsPerPut[leaderIndex] : null,
        followerCpuMsPerPut: cpuMsPerPut.filter((_, i) => i !== leaderIndex),
        // The machine's 1-minute load average when the point started: other jobs share its cores.
        loadAverage1m: Math.round(loadBefore * 10) / 10,
      });
    } finally {
      await stopCluster(nodes);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}
