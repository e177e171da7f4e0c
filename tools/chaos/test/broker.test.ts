import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SynodKvClient } from '@synod/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKER_ID, ChaosCluster } from '../src/chaos-cluster.js';
import { workspaceServeCommand } from '../src/cli.js';
import { availableFaults, Nemesis } from '../src/nemesis.js';

const serveCommand = workspaceServeCommand();

/** Whether a TCP connection to `url`'s host and port is accepted. */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.skipIf(!existsSync(serveCommand[1]!))('the NATS broker as a fault target (serve processes over a real nats-server, loopback)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-chaos-broker-'));
  let cluster: ChaosCluster;
  let client: SynodKvClient;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ dir, serveCommand, network: 'loopback', transport: 'nats' });
    client = cluster.client({ timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers broker-restart over NATS only', () => {
    expect(cluster.transport).toBe('nats');
    expect(availableFaults(cluster).kinds).toContain('broker-restart');
  });

  it('killing the broker stops all traffic; restarting it restores it without touching the nodes', async () => {
    await client.put('before', 'committed');
    const pids = cluster.ids.map((id) => cluster.nodes.get(id)!.pid);
    const exit = await cluster.broker!.kill();
    expect(exit?.signal).toBe('SIGKILL');
    expect(await accepts(cluster.brokerUrl!)).toBe(false);
    // Nothing reaches the cluster: writes and Status time out.
    await expect(client.put('during', 'x', { timeoutMs: 1_500 })).rejects.toThrow();
    expect(await cluster.status('n1', { timeoutMs: 500 })).toBeUndefined();
    expect(await cluster.restartStopped()).toEqual({ restarted: [BROKER_ID], failed: [] });
    expect(await accepts(cluster.brokerUrl!)).toBe(true);
    const recoveredMs = await cluster.commitWithin(30_000);
    expect(recoveredMs).toBeDefined();
    expect((await client.get('before')).kv?.value).toBe('committed');
    // The nodes reconnected on their own: the same processes serve.
    expect(cluster.ids.map((id) => cluster.nodes.get(id)!.pid)).toEqual(pids);
  }, 60_000);

  it('the nemesis fault kills the broker for its duration and reports the time to the first commit after', async () => {
    const started = performance.now();
    const nemesis = new Nemesis(cluster, () => performance.now() - started);
    const record = await nemesis.run({ atMs: 0, kind: 'broker-restart', durationMs: 800, dice: [0, 0, 0] });
    expect(record.detail).toMatch(/nats-server SIGKILL, restarted after 800 ms/);
    expect(record.recoveryMs).toBeDefined();
    expect(record.outcome).toMatch(/a write committed \d+ ms after the broker's return/);
    expect(cluster.broker!.running).toBe(true);
  }, 60_000);
});
