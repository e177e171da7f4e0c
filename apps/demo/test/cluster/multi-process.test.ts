import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { SynodClient } from '@synod/transport-grpc';
import { ProcessCluster, SYNOD_BIN } from './process-cluster.js';
import { highestCompaction } from './log-records.js';

/**
 * Three `synod serve` processes with FileStorage (fsync on) on loopback.
 * Writes and linearizable reads go through SynodClient; the leader is
 * SIGKILLed, writes go on, every acknowledged write stays readable, and the
 * killed node comes back and catches up through a snapshot (the others
 * compacted their logs past what it had while it was down).
 */

const SNAPSHOT_ENTRIES = 60;
let cluster: ProcessCluster;
let client: SynodClient;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ tickMs: 50, snapshotEntries: SNAPSHOT_ENTRIES });
  client = cluster.client();
}, 120_000);

afterAll(async () => {
  client?.close();
  await cluster?.destroy();
}, 30_000);

/** Writes keys `prefix0..prefix(count-1)` with `concurrency` writers; returns what was acknowledged. */
async function writeKeys(prefix: string, count: number, concurrency = 8): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const key = `${prefix}${next++}`;
        const value = `v-${key}`;
        await client.put(key, value);
        acked.set(key, value);
      }
    }),
  );
  return acked;
}

describe('three serve processes', () => {
  it('serve writes and linearizable reads; a SIGKILLed leader is replaced and loses nothing acknowledged; it restarts and catches up through a snapshot', async () => {
    const firstLeader = await cluster.waitForLeader(client);
    const acked = await writeKeys('before/', 30);
    for (const [key, value] of acked) expect((await client.get(key)).kv?.value).toBe(value);

    const leaderStatus = await client.memberStatus(cluster.endpointOf(firstLeader));
    const lastIndexAtKill = leaderStatus.lastIndex;
    await cluster.stopMember(firstLeader, 'SIGKILL');
    const killedAt = Date.now();
    await client.put('after-kill', 'first');
    const failoverMs = Date.now() - killedAt;
    // A few election timeouts (10 ticks each) on an idle machine; the bound leaves room for a loaded one.
    expect(failoverMs).toBeLessThan(40 * 10 * cluster.tickMs);
    console.info(`failover: first write acknowledged ${failoverMs} ms after SIGKILL of the leader ${firstLeader}`);

    acked.set('after-kill', 'first');
    const newLeader = await cluster.waitForLeader(client);
    expect(newLeader).not.toBe(firstLeader);
    // Enough writes that the survivors snapshot and compact past the killed node's log. The server folds
    // concurrent writes into shared entries, so how many writes that takes varies: write in rounds until it happens.
    for (let round = 0; round < 20 && highestCompaction(cluster.output(newLeader)) <= lastIndexAtKill; round++) {
      for (const [key, value] of await writeKeys(`during/${round}/`, 3 * SNAPSHOT_ENTRIES)) acked.set(key, value);
    }
    expect(highestCompaction(cluster.output(newLeader))).toBeGreaterThan(lastIndexAtKill);

    for (const [key, value] of acked) expect((await client.get(key)).kv?.value, key).toBe(value);

    await cluster.startMember(firstLeader);
    const deadline = Date.now() + 60_000;
    const target = (await client.memberStatus(cluster.endpointOf(newLeader))).commitIndex;
    for (;;) {
      const restarted = await client.memberStatus(cluster.endpointOf(firstLeader)).catch(() => undefined);
      if (restarted !== undefined && restarted.appliedIndex >= target) break;
      if (Date.now() > deadline) throw new Error(`the restarted node did not catch up: ${JSON.stringify(restarted)}, target ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Its own replica has every acknowledged write (serializable reads are served locally).
    const local = new SynodClient({ endpoints: [cluster.endpointOf(firstLeader)], security: { insecure: true } });
    try {
      for (const [key, value] of acked) expect((await local.get(key, { consistency: 'serializable' })).kv?.value, key).toBe(value);
    } finally {
      local.close();
    }
    // It rejoined as a follower and writes still work.
    await client.put('after-restart', 'ok');
    expect((await client.get('after-restart')).kv?.value).toBe('ok');
  }, 240_000);

  it('a second serve on the same data directory refuses with a clear message', async () => {
    const id = cluster.ids.find((member) => cluster.isRunning(member))!;
    const result = spawnSync(process.execPath, [SYNOD_BIN, 'serve', '--id', id, '--listen', '127.0.0.1:0', '--data', `${cluster.dir}/${id}`, '--insecure'], { encoding: 'utf8' });
    expect(result.status).toBe(75);
    expect(result.stderr).toMatch(/refusing to start: data directory .* is locked by running process \d+/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('SIGTERM stops a node cleanly (exit code 0)', async () => {
    const id = cluster.ids.find((member) => cluster.isRunning(member))!;
    expect(await cluster.stopMember(id, 'SIGTERM')).toBe(0);
    expect(cluster.output(id)).toMatch(new RegExp(`${id} stopped`));
  }, 30_000);
});
