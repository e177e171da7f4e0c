import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SynodKvClient } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from '../src/chaos-cluster.js';
import { compareStateHashes } from '../src/checks.js';
import { workspaceServeCommand } from '../src/cli.js';

const serveCommand = workspaceServeCommand();

/** Sequential unique writes until stopped; remembers the acknowledged ones. */
function writer(client: SynodKvClient) {
  const acknowledged = new Map<string, string>();
  let stopping = false;
  let n = 0;
  const done = (async () => {
    while (!stopping) {
      const key = `w/${n % 50}`;
      const value = `v${n++}`;
      try {
        await client.put(key, value, { timeoutMs: 5_000 });
        acknowledged.set(key, value);
      } catch {
        // Unknown outcome: a later acknowledged write of the key supersedes it; the last one is checked below.
        acknowledged.delete(key);
      }
    }
  })();
  return {
    acknowledged,
    get count() {
      return n;
    },
    async stop() {
      stopping = true;
      await done;
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!existsSync(serveCommand[1]!)).each(['grpc', 'nats'] as const)('membership through the client API on real serve processes (%s, loopback)', (transport) => {
  const dir = mkdtempSync(join(tmpdir(), `synod-chaos-members-${transport}-`));
  let cluster: ChaosCluster;
  let client: SynodKvClient;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ dir, serveCommand, network: 'loopback', transport, spares: 1, snapshotEntries: 50 });
    client = cluster.client({ timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a 4th member under writes (it catches up from a snapshot), removes one, loses no acknowledged write; a member restarted later reaches the new one', async () => {
    expect(cluster.ids).toEqual(['n1', 'n2', 'n3']);
    const writes = writer(client);
    await until(() => writes.count > 150, 60_000, 'writes before the join');
    const joined = await cluster.addMember('n4');
    expect(joined).toEqual({ added: true });
    expect(cluster.ids).toEqual(['n1', 'n2', 'n3', 'n4']);
    // The log it needed was compacted (snapshots every 50 entries): it caught up from a snapshot.
    await until(async () => ((await cluster.status('n4'))?.appliedIndex ?? 0) > 150, 30_000, 'n4 catching up');
    expect(readdirSync(cluster.dataDir('n4')).some((name) => name.endsWith('.snap'))).toBe(true);
    const status = await cluster.status('n2');
    expect(status?.members.map((m) => m.id).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    if (transport === 'grpc') expect(status?.members.find((m) => m.id === 'n4')?.address).toBe(cluster.endpointOf('n4'));
    await until(() => writes.count > 250, 60_000, 'writes after the join');
    const leader = await cluster.leader();
    const removed = await cluster.removeMember(leader ?? 'n1');
    expect(removed).toEqual({ removed: true });
    await until(() => writes.count > 350, 60_000, 'writes after the removal');
    await writes.stop();

    for (const [key, value] of writes.acknowledged) expect((await client.get(key)).kv?.value, key).toBe(value);
    const hashes = await compareStateHashes(cluster, 20_000);
    expect(hashes.agreed, JSON.stringify([...hashes.byNode])).toBe(true);

    // A founder restarted now knows n4 only from the replicated address (its --peers never had it):
    // with the third member down, nothing commits unless the two of them talk.
    const [restarted, third] = cluster.ids.filter((id) => id !== 'n4') as [string, string];
    await cluster.nodes.get(restarted)!.kill();
    expect(await cluster.restartStopped()).toEqual({ restarted: [restarted], failed: [] });
    await cluster.nodes.get(third)!.kill();
    expect(await cluster.commitWithin(30_000)).toBeDefined();
    expect(await cluster.restartStopped()).toEqual({ restarted: [third], failed: [] });
  }, 240_000);
});
