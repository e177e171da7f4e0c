import { NatsServer } from '@synod/transport-nats/nats-server';
import type { SynodNatsClient } from '@synod/transport-nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './process-cluster.js';

/**
 * Three `synod serve --transport nats --algorithm paxos` processes with
 * FileStorage, through a nats-server of this file's own: Multi-Paxos's
 * messages go over NATS with the `@synod/protocol` codec, clients use
 * SynodNatsClient (any member answers and forwards to the leader).
 */

let broker: NatsServer;
let cluster: ProcessCluster;
let client: SynodNatsClient;

beforeAll(async () => {
  broker = await NatsServer.start();
  cluster = await ProcessCluster.start({ tickMs: 50, snapshotEntries: 60, natsUrl: broker.url, extraFlags: ['--algorithm', 'paxos', '--swim', 'off'] });
  client = cluster.natsClient();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await cluster?.destroy();
  await broker?.dispose();
}, 30_000);

describe('three serve --algorithm paxos processes over NATS', () => {
  it('serve writes, CAS, deletes and linearizable reads; a SIGKILLed leader is replaced; it restarts with its state', async () => {
    const firstLeader = await cluster.waitForLeader(client);
    expect(cluster.output(firstLeader)).toMatch(/serving cluster 'synod' over NATS .*Multi-Paxos/);
    const acked = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      await client.put(`k${i}`, `v${i}`);
      acked.set(`k${i}`, `v${i}`);
    }
    expect((await client.compareAndSwap('k0', { value: 'v0' }, 'w0')).succeeded).toBe(true);
    acked.set('k0', 'w0');
    expect((await client.delete('k1')).deleted).toBe(true);
    acked.delete('k1');
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);
    expect((await client.get('k1')).kv).toBeUndefined();

    await cluster.stopMember(firstLeader, 'SIGKILL');
    await client.put('after-kill', 'yes');
    acked.set('after-kill', 'yes');
    const newLeader = await cluster.waitForLeader(client);
    expect(newLeader).not.toBe(firstLeader);

    await cluster.startMember(firstLeader);
    const target = (await client.memberStatus(newLeader)).commitIndex;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const restarted = await client.memberStatus(firstLeader).catch(() => undefined);
      if (restarted !== undefined && restarted.appliedIndex >= target) break;
      if (Date.now() > deadline) throw new Error(`the restarted node did not catch up: ${JSON.stringify(restarted)}, target ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);
  }, 240_000);
});
