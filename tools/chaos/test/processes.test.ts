import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SynodClient } from '@synod/transport-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosCluster } from '../src/chaos-cluster.js';
import { workspaceServeCommand } from '../src/cli.js';

// The nodes run the demo's built CLI; the test target builds it first.
const serveCommand = workspaceServeCommand();

describe.skipIf(!existsSync(serveCommand[1]!))('process faults on real serve processes (loopback)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-chaos-proc-'));
  let cluster: ChaosCluster;
  let client: SynodClient;

  beforeAll(async () => {
    cluster = await ChaosCluster.start({ dir, serveCommand, network: 'loopback' });
    client = new SynodClient({ endpoints: cluster.endpoints, security: { insecure: true }, timeoutMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a SIGSTOPped node stops answering, and answers again after SIGCONT', async () => {
    expect(await cluster.status('n1')).toBeDefined();
    const node = cluster.nodes.get('n1')!;
    node.pause();
    try {
      expect(await cluster.status('n1', { timeoutMs: 1_000 })).toBeUndefined();
      expect(await cluster.status('n2')).toBeDefined();
    } finally {
      node.resume();
    }
    expect(await cluster.status('n1', { timeoutMs: 5_000 })).toBeDefined();
  });

  it('a SIGKILLed node is gone until restarted, then serves again', async () => {
    await client.put('durable', 'yes');
    const exit = await cluster.nodes.get('n2')!.kill();
    expect(exit?.signal).toBe('SIGKILL');
    expect(await cluster.status('n2', { timeoutMs: 500 })).toBeUndefined();
    expect(await cluster.restartStopped()).toEqual({ restarted: ['n2'], failed: [] });
    const status = await cluster.status('n2', { timeoutMs: 5_000 });
    expect(status?.id).toBe('n2');
  });

  it('a disk that answers EIO makes its node fail-stop with exit code 74, and healing lets it restart', async () => {
    const node = cluster.nodes.get('n3')!;
    cluster.failDisk('n3');
    // Writes reach every node's log, so n3's next append fails.
    await client.put('after-eio', 'still committed by the majority');
    const exit = await Promise.race([node.exited(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
    expect(exit?.code).toBe(74);
    cluster.healDisk('n3');
    expect(await cluster.restartStopped()).toEqual({ restarted: ['n3'], failed: [] });
    expect((await client.get('after-eio')).kv?.value).toBe('still committed by the majority');
  });
});
