import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { kvV1 } from '@synod/protocol';
import { SynodClient } from '@synod/transport-grpc';
import type { BenchCluster, KvConnection } from './cluster.js';
import { freePorts, MemberProcess } from './process.js';

// The serve scripts are always the built ones (from src/ under vitest as
// from dist/): a child process runs JavaScript. The bench's test target
// depends on its build for that reason.
/** `synod serve` itself (the demo CLI's entry), as users run it. */
const SYNOD_SERVE = fileURLToPath(new URL('../../dist/suites/kv-grpc-serve.js', import.meta.url));
export interface SynodClusterOptions {
  /**
   * Extra `synod serve` flags, e.g. `['--election-detector', 'phi']` for
   * detector-assisted elections. @default none
   */
  readonly serveFlags?: readonly string[];
  /** Node flags for the serve processes, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
  readonly execArgv?: readonly string[];
}

/**
 * Starts three Synod nodes on loopback, each a `synod serve` process
 * (FileStorage with fsync, 100 ms ticks, plaintext) with a data directory
 * under `dir`. Load connections are SynodClients, which send every call to
 * the leader; the failover loop uses the generated KV stub, one call per
 * attempt, as it does for etcd.
 */
export async function startSynodCluster(dir: string, options: SynodClusterOptions = {}): Promise<BenchCluster> {
  const ids = ['n1', 'n2', 'n3'];
  const ports = await freePorts(ids.length);
  const endpointOf = (id: string): string => `127.0.0.1:${ports[ids.indexOf(id)]!}`;
  const members = ids.map((id) => {
    const data = join(dir, id);
    mkdirSync(data, { recursive: true });
    const peers = ids.filter((other) => other !== id).map((other) => `${other}=${endpointOf(other)}`).join(',');
    const args = [SYNOD_SERVE, '--id', id, '--listen', endpointOf(id), '--peers', peers, '--data', data, '--insecure', '--log-level', 'warn', ...(options.serveFlags ?? [])];
    return new MemberProcess({
      id,
      command: process.execPath,
      args: [...(options.execArgv ?? []), ...args],
      ready: (output) => output.includes('serving cluster'),
    });
  });
  await Promise.all(members.map((member) => member.start()));
  const probe = new SynodClient({ endpoints: ids.map(endpointOf), security: { insecure: true } });
  const stubs = new Map<string, kvV1.KVClient>();
  const stubFor = (id: string): kvV1.KVClient => {
    let stub = stubs.get(id);
    if (stub === undefined) {
      stub = new kvV1.KVClient(endpointOf(id), grpc.credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 });
      stubs.set(id, stub);
    }
    return stub;
  };
  return {
    system: 'synod',
    version: ['synod serve', ...(options.serveFlags ?? [])].join(' '),
    members,
    endpointOf,
    async leader() {
      const answers = await Promise.all(
        members.map((member) => (member.alive ? probe.memberStatus(endpointOf(member.id), { timeoutMs: 1_000 }).catch(() => undefined) : undefined)),
      );
      return answers.find((status) => status?.role === 'leader')?.id;
    },
    connect(id) {
      const client = new SynodClient({
        endpoints: [endpointOf(id), ...ids.filter((other) => other !== id).map(endpointOf)],
        security: { insecure: true },
        timeoutMs: 30_000,
      });
      return {
        put: async (key, value) => {
          await client.put(key, value);
        },
        get: async (key) => {
          await client.get(key);
        },
        close: () => client.close(),
      } satisfies KvConnection;
    },
    putOnce(id, key, value, deadline) {
      return new Promise((resolve, reject) => {
        stubFor(id).put({ key, value, session: undefined }, new grpc.Metadata(), { deadline }, (error) => (error === null ? resolve() : reject(error)));
      });
    },
    async stop() {
      probe.close();
      for (const stub of stubs.values()) stub.close();
      stubs.clear();
      await Promise.all(members.map((member) => member.stop()));
    },
  };
}
