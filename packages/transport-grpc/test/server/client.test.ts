import { AbortError, MemoryStorage, TimeoutError } from '@synod/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSynodServer, SynodClient, SynodRpcError, type SynodServer, type WatchEvent } from '../../src/index.js';
import { startInProcessCluster, type InProcessCluster } from './in-process-cluster.js';

describe('SynodClient against a cluster that loses a node', () => {
  let cluster: InProcessCluster;
  beforeAll(async () => {
    cluster = await startInProcessCluster(['n1', 'n2', 'n3']);
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('watch() resumes on another member from the last revision after its member stops, without gaps or repeats', async () => {
    const leader = cluster.leader()!;
    const watched = cluster.servers.find((s) => s !== leader)!;
    const other = cluster.servers.find((s) => s !== leader && s !== watched)!;
    // The watcher starts on the follower it will lose, and knows the other members.
    const watcher = new SynodClient({ endpoints: [watched.boundAddress!, other.boundAddress!, leader.boundAddress!], security: { insecure: true } });
    const writer = new SynodClient({ endpoints: [leader.boundAddress!], security: { insecure: true } });
    const first = await writer.put('r/0', 'v0');
    const seen: WatchEvent[] = [];
    const controller = new AbortController();
    const done = (async () => {
      for await (const event of watcher.watch('r/', { prefix: true, startRevision: first.revision, signal: controller.signal })) {
        seen.push(event);
        if (seen.length === 10) controller.abort();
      }
    })();
    for (let i = 1; i < 4; i++) await writer.put(`r/${i}`, `v${i}`);
    while (seen.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    await watched.stop(100);
    for (let i = 4; i < 10; i++) await writer.put(`r/${i}`, `v${i}`);
    await done;
    expect(seen.map((e) => e.kv.key)).toEqual(Array.from({ length: 10 }, (_, i) => `r/${i}`));
    expect(seen.map((e) => e.revision)).toEqual(Array.from({ length: 10 }, (_, i) => first.revision + i));
    watcher.close();
    writer.close();
  }, 30_000);

  it('sends calls to the leader once it knows the members', async () => {
    const follower = cluster.servers.find((s) => s !== cluster.leader() && !s.node.status().stopped)!;
    const client = new SynodClient({ endpoints: [follower.boundAddress!], security: { insecure: true } });
    await client.put('lead', 'x');
    expect(client.preferredEndpoint).toBe(cluster.leader()!.boundAddress);
    client.close();
  });
});

describe('SynodClient deadlines and AbortSignal', () => {
  let lonely: SynodServer;
  beforeAll(async () => {
    // A node whose peers never come: no leader, every write answers UNAVAILABLE.
    lonely = createSynodServer({
      nodeId: 'n1',
      clusterId: 'c',
      listen: '127.0.0.1:0',
      peers: { n2: '127.0.0.1:9', n3: '127.0.0.1:9' },
      security: { insecure: true },
      storage: new MemoryStorage(),
      tickIntervalMs: 20,
    });
    await lonely.start();
  });
  afterAll(async () => {
    await lonely?.stop(100);
  });

  it('retries UNAVAILABLE until the deadline, then throws TimeoutError naming the last failure', async () => {
    const client = new SynodClient({ endpoints: [lonely.boundAddress!], security: { insecure: true } });
    const started = Date.now();
    const error = await client.put('k', 'v', { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    // The last attempt met the leaderless node (NOT_LEADER) or one of its absent peers, learned from its Status.
    expect((error as Error).message).toMatch(/last failure: (NOT_LEADER|GRPC_UNAVAILABLE)/);
    expect((error as Error).cause).toMatchObject({ grpcCode: 14 });
    expect(Date.now() - started).toBeLessThan(3_000);
    client.close();
  });

  it('stops at once when its signal aborts', async () => {
    const client = new SynodClient({ endpoints: [lonely.boundAddress!], security: { insecure: true } });
    const controller = new AbortController();
    const pending = client.put('k', 'v', { timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    client.close();
  });

  it('does not retry a refusal: bad input throws SynodRpcError at once', async () => {
    const client = new SynodClient({ endpoints: [lonely.boundAddress!], security: { insecure: true } });
    const error = await client.get('k', { consistency: 'bogus' as 'linearizable' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const bad = await client.put('k', Uint8Array.of(0xff), { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SynodRpcError);
    expect(bad).toMatchObject({ reason: 'INVALID_ARGUMENT' });
    client.close();
  });
});
