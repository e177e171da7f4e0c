import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SynodClient } from '@synod/transport-grpc';
import { ProcessCluster } from './process-cluster.js';

/**
 * Three `synod serve --algorithm paxos` processes over gRPC with
 * FileStorage (fsync on): the same KV API as Raft (puts, gets, deletes,
 * CAS, status, any member forwards to the leader), a SIGKILLed leader is
 * replaced by a phase 1 and nothing acknowledged is lost, and acceptor state
 * (promises, accepted slots, checkpoints) survives restarts of every node.
 */

const SNAPSHOT_ENTRIES = 60;
let cluster: ProcessCluster;
let client: SynodClient;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ tickMs: 50, snapshotEntries: SNAPSHOT_ENTRIES, extraFlags: ['--algorithm', 'paxos', '--swim', 'off'] });
  client = cluster.client();
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.destroy();
}, 30_000);

async function writeKeys(prefix: string, count: number, concurrency = 8): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const key = `${prefix}${next++}`;
        await client.put(key, `v-${key}`);
        acked.set(key, `v-${key}`);
      }
    }),
  );
  return acked;
}

/** A client of one member only: its answers (or its forwarding) are that member's. */
function clientOf(endpoint: string): SynodClient {
  return new SynodClient({ endpoints: [endpoint], security: { insecure: true }, timeoutMs: 15_000, attemptTimeoutMs: 1_500 });
}

describe('three serve --algorithm paxos processes over gRPC', () => {
  it('serve puts, gets, deletes and CAS through any member, and report Multi-Paxos status', async () => {
    const leader = await cluster.waitForLeader(client);
    expect(cluster.output(leader)).toMatch(/serving cluster 'synod' .*Multi-Paxos/);
    const statuses = await cluster.statuses(client);
    expect(statuses.map((s) => s.role).sort()).toEqual(['follower', 'follower', 'leader']);
    expect(new Set(statuses.map((s) => s.leaderId))).toEqual(new Set([leader]));

    // A follower's client: the write reaches the leader through the leader hint.
    const follower = cluster.ids.find((id) => id !== leader)!;
    const viaFollower = clientOf(cluster.endpointOf(follower));
    try {
      await viaFollower.put('k', 'one');
      expect((await viaFollower.get('k')).kv?.value).toBe('one');
    } finally {
      viaFollower.close();
    }
    expect((await client.compareAndSwap('k', { value: 'one' }, 'two')).succeeded).toBe(true);
    expect((await client.compareAndSwap('k', { value: 'one' }, 'three')).succeeded).toBe(false);
    expect((await client.get('k')).kv?.value).toBe('two');
    expect((await client.delete('k')).deleted).toBe(true);
    expect((await client.get('k')).kv).toBeUndefined();
  }, 120_000);

  it('a SIGKILLed leader is replaced and loses nothing acknowledged; every node restarts with its state', async () => {
    const firstLeader = await cluster.waitForLeader(client);
    const acked = await writeKeys('before/', 30);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);

    await cluster.stopMember(firstLeader, 'SIGKILL');
    const killedAt = Date.now();
    await client.put('after-kill', 'first').catch((error: unknown) => {
      const survivors = cluster.ids.filter((id) => id !== firstLeader);
      throw new Error(`no write after the leader's SIGKILL: ${String(error)}\n${survivors.map((id) => `--- ${id}\n${cluster.output(id).slice(-4000)}`).join('\n')}`);
    });
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(40 * 10 * cluster.tickMs);
    console.info(`paxos failover: first write acknowledged ${failoverMs} ms after SIGKILL of the leader ${firstLeader}`);
    acked.set('after-kill', 'first');
    // Enough writes that the survivors take checkpoints past the killed node's log.
    for (const [key, value] of await writeKeys('during/', 2 * SNAPSHOT_ENTRIES)) acked.set(key, value);
    const newLeader = await cluster.waitForLeader(client);
    expect(newLeader).not.toBe(firstLeader);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);

    // The killed node comes back from its data directory and catches up.
    await cluster.startMember(firstLeader);
    const target = (await client.memberStatus(cluster.endpointOf(newLeader))).commitIndex;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const restarted = await client.memberStatus(cluster.endpointOf(firstLeader)).catch(() => undefined);
      if (restarted !== undefined && restarted.appliedIndex >= target) break;
      if (Date.now() > deadline) throw new Error(`the restarted node did not catch up: ${JSON.stringify(restarted)}, target ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Every node stops (SIGTERM) and starts again: the acknowledged writes are all there.
    for (const id of cluster.ids) expect(await cluster.stopMember(id, 'SIGTERM'), cluster.output(id).slice(-3000)).toBe(0);
    await Promise.all(cluster.ids.map((id) => cluster.startMember(id)));
    await cluster.waitForLeader(client, 40_000);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);
    await client.put('after-restart', 'ok');
    expect((await client.get('after-restart')).kv?.value).toBe('ok');
  }, 240_000);
});
