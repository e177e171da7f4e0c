import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BenchCluster, KvConnection } from './cluster.js';
import { freePorts, MemberProcess } from './process.js';

/** The subset of etcd's rpc.proto the harness compiles (see the file for its origin and licence). */
const PROTO = fileURLToPath(new URL('../../proto/etcdserverpb/kv-subset.proto', import.meta.url));

/** What the harness sends and reads of etcd's messages (proto-loader with keepCase). */
interface PutRequest {
  key: Buffer;
  value: Buffer;
}
interface RangeRequest {
  key: Buffer;
  serializable: boolean;
}
type Unary<Req> = (request: Req, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall;
interface EtcdKvClient extends grpc.Client {
  Put: Unary<PutRequest>;
  Range: Unary<RangeRequest>;
}
type EtcdKvConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EtcdKvClient;

let kvConstructor: EtcdKvConstructor | undefined;

function etcdKv(): EtcdKvConstructor {
  if (kvConstructor === undefined) {
    const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, defaults: false });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: { KV: EtcdKvConstructor } };
    kvConstructor = loaded.etcdserverpb.KV;
  }
  return kvConstructor;
}

/** Thrown when etcd is not installed and cannot be installed here. */
export class EtcdMissingError extends Error {
  override readonly name = 'EtcdMissingError';
}

const HOW_TO_INSTALL =
  'install Debian\'s etcd-server (sudo apt-get install -y etcd-server), or set SYNOD_BENCH_ETCD to an etcd 3.4+ binary';

function findEtcd(): string | undefined {
  const fromEnv = process.env['SYNOD_BENCH_ETCD'];
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, 'etcd'))) return join(dir, 'etcd');
  }
  return undefined;
}

/**
 * The etcd binary: found on PATH (or SYNOD_BENCH_ETCD), or installed from
 * Debian's `etcd-server` package when missing and running as root with
 * apt-get; otherwise an {@link EtcdMissingError} that says how to install it.
 */
export function ensureEtcd(log: (line: string) => void = () => undefined): { binary: string; version: string } {
  let binary = findEtcd();
  if (binary === undefined) {
    const root = process.getuid?.() === 0;
    const apt = existsSync('/usr/bin/apt-get');
    if (!root || !apt || process.env['SYNOD_BENCH_ETCD'] !== undefined) throw new EtcdMissingError(`etcd is not installed: ${HOW_TO_INSTALL}`);
    log('etcd is missing: installing Debian\'s etcd-server (apt-get)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'etcd-server'], { stdio: 'ignore', env });
    binary = findEtcd();
    if (binary === undefined) throw new EtcdMissingError(`installing etcd-server did not provide an etcd binary: ${HOW_TO_INSTALL}`);
  }
  const output = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  const version = /etcd Version: (\S+)/.exec(output)?.[1] ?? 'unknown';
  return { binary, version };
}

/** Timing flags shared by the kv and failover suites: the heartbeat and election timeout Synod uses (100 ms ticks, 10-tick elections). */
export const ETCD_TIMING = { heartbeatMs: 100, electionMs: 1000 } as const;

async function httpText(url: string, timeoutMs = 1_000): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts three etcd members on loopback, each with a data directory under
 * `dir`, plaintext, the default snapshot and fsync settings (etcd fsyncs its
 * WAL on every commit, as Synod's FileStorage does), heartbeat 100 ms and
 * election timeout 1,000 ms. A member is up once its `/health` answers
 * (which needs a leader); the leader is the member whose `/metrics` says
 * `etcd_server_is_leader 1`.
 */
export async function startEtcdCluster(dir: string, log: (line: string) => void = () => undefined): Promise<BenchCluster> {
  const { binary, version } = ensureEtcd(log);
  const ids = ['e1', 'e2', 'e3'];
  const ports = await freePorts(ids.length * 2);
  const clientPort = (i: number): number => ports[2 * i]!;
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]!}`;
  const initialCluster = ids.map((id, i) => `${id}=${peerUrl(i)}`).join(',');
  const token = `synod-bench-${process.pid}-${Date.now()}`;
  const members = ids.map((id, i) => {
    const data = join(dir, id);
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const clientUrl = `http://127.0.0.1:${clientPort(i)}`;
    return new MemberProcess({
      id,
      command: binary,
      args: [
        '--name', id,
        '--data-dir', data,
        '--listen-client-urls', clientUrl,
        '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl(i),
        '--initial-advertise-peer-urls', peerUrl(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--heartbeat-interval', String(ETCD_TIMING.heartbeatMs),
        '--election-timeout', String(ETCD_TIMING.electionMs),
        '--logger', 'zap',
        '--log-level', 'warn',
      ],
      // A member alone cannot be healthy (no leader), so readiness is "listening"; the cluster waits for a leader after.
      ready: async () => (await httpText(`${clientUrl}/version`)) !== undefined,
    });
  });
  await Promise.all(members.map((member) => member.start()));
  const endpointOf = (id: string): string => `127.0.0.1:${clientPort(ids.indexOf(id))}`;
  const failoverClients = new Map<string, EtcdKvClient>();
  const KV = etcdKv();
  const clientFor = (id: string): EtcdKvClient => {
    let client = failoverClients.get(id);
    if (client === undefined) {
      client = new KV(endpointOf(id), grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 });
      failoverClients.set(id, client);
    }
    return client;
  };
  const call = <Req>(method: Unary<Req>, client: EtcdKvClient, request: Req, options: grpc.CallOptions): Promise<void> =>
    new Promise((resolve, reject) => {
      method.call(client, request, options, (error) => (error === null ? resolve() : reject(error)));
    });
  return {
    system: 'etcd',
    version,
    members,
    endpointOf,
    async leader() {
      const answers = await Promise.all(
        members.map(async (member) => (member.alive ? ((await httpText(`http://${endpointOf(member.id)}/metrics`)) ?? '') : '')),
      );
      const index = answers.findIndex((text) => /^etcd_server_is_leader 1$/m.test(text));
      return index < 0 ? undefined : ids[index];
    },
    connect(id) {
      const client = new KV(endpointOf(id), grpc.credentials.createInsecure());
      return {
        put: (key, value) => call(client.Put, client, { key: Buffer.from(key), value }, {}),
        get: (key) => call(client.Range, client, { key: Buffer.from(key), serializable: false }, {}),
        close: () => client.close(),
      } satisfies KvConnection;
    },
    putOnce(id, key, value, deadline) {
      const client = clientFor(id);
      return call(client.Put, client, { key: Buffer.from(key), value }, { deadline });
    },
    async stop() {
      for (const client of failoverClients.values()) client.close();
      failoverClients.clear();
      await Promise.all(members.map((member) => member.stop()));
    },
  };
}
