import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SynodNatsClient } from '@synod/transport-nats';
import type { BenchCluster, KvConnection } from './cluster.js';
import { MemberProcess } from './process.js';

/** `synod serve` itself (the demo CLI's entry), as users run it; the built one, since a child process runs JavaScript. */
const SYNOD_SERVE = fileURLToPath(new URL('../../dist/suites/kv-grpc-serve.js', import.meta.url));

/**
 * Starts three `synod serve --transport nats` processes (FileStorage with
 * fsync, 100 ms ticks) whose peers and clients talk through the NATS server
 * at `natsUrl`. Load connections are SynodNatsClients that send every call
 * to the leader's own subject (as the gRPC system's SynodClients go to the
 * leader's port), so neither pays a forward the other does not.
 */
export async function startSynodNatsCluster(dir: string, natsUrl: string, execArgv: readonly string[] = []): Promise<BenchCluster> {
  const ids = ['n1', 'n2', 'n3'];
  const members = ids.map((id) => {
    const data = join(dir, id);
    mkdirSync(data, { recursive: true });
    const peers = ids.filter((other) => other !== id).join(',');
    return new MemberProcess({
      id,
      command: process.execPath,
      args: [...execArgv, SYNOD_SERVE, '--transport', 'nats', '--nats-url', natsUrl, '--id', id, '--peers', peers, '--data', data, '--log-level', 'warn'],
      ready: (output) => output.includes('serving cluster'),
    });
  });
  await Promise.all(members.map((member) => member.start()));
  const probe = new SynodNatsClient({ servers: natsUrl });
  return {
    system: 'synod-nats',
    version: 'synod serve --transport nats',
    members,
    endpointOf: (id) => `${natsUrl} (${id})`,
    async leader() {
      const answers = await Promise.all(
        members.map((member) => (member.alive ? probe.memberStatus(member.id, { timeoutMs: 1_000 }).catch(() => undefined) : undefined)),
      );
      return answers.find((status) => status?.role === 'leader')?.id;
    },
    connect(id) {
      const client = new SynodNatsClient({ servers: natsUrl, leaderHint: id, timeoutMs: 30_000 });
      return {
        put: async (key, value) => {
          await client.put(key, value);
        },
        get: async (key) => {
          await client.get(key);
        },
        close: () => void client.close(),
      } satisfies KvConnection;
    },
    async putOnce(id, key, value, deadline) {
      // One attempt: the whole call's deadline is the attempt's.
      const left = Math.max(1, deadline - Date.now());
      const client = new SynodNatsClient({ servers: natsUrl, leaderHint: id, timeoutMs: left, attemptTimeoutMs: left });
      try {
        await client.put(key, value);
      } finally {
        await client.close();
      }
    },
    async stop() {
      await probe.close();
      await Promise.all(members.map((member) => member.stop()));
    },
  };
}
