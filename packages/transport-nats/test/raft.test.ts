import {
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  encodeKvCommand,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
} from '@synod/core';
import { describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { closeAll, eventually } from './helpers.js';
import { NatsServer } from '../src/nats-server.js';

type KvNode = RaftNode<KvResult, KvQuery, KvQueryResult>;
const CLUSTER = 'raft-over-nats';

/** Retries a put through `node` (which forwards it to the leader) until it commits or `timeoutMs` passes. */
async function putEventually(node: KvNode, key: string, value: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const result = await node.propose(encodeKvCommand({ type: 'put', key, value }), { timeoutMs: 1_000 });
      return result.type === 'put' ? result.revision : -1;
    } catch (err) {
      // No leader yet, a dropped proposal or a timeout while the broker is away: consensus retries, so do we.
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A linearizable read through `node`, retried while it knows no leader (an election may follow the broker's return). */
async function readValue(node: KvNode, key: string, timeoutMs = 5_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const got = await node.read({ type: 'get', key }, { consistency: 'linearizable', timeoutMs: 1_000 });
      return got.type === 'get' ? got.kv?.value : undefined;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('RaftNode over NatsTransport', () => {
  it('three nodes elect a leader, commit, and commit again after the nats-server is killed and restarted', async () => {
    const server = await NatsServer.start();
    const ids = ['n1', 'n2', 'n3'];
    const transports = await Promise.all(
      ids.map(async (id) => {
        const transport = new NatsTransport({
          localId: id,
          clusterId: CLUSTER,
          peers: ids,
          servers: server.url,
          ackTimeoutMs: 1_000,
          reconnect: { timeWaitMs: 100, jitterMs: 100 },
        });
        await transport.start();
        return transport;
      }),
    );
    const nodes: KvNode[] = transports.map(
      (transport) =>
        new RaftNode<KvResult, KvQuery, KvQueryResult>({
          raft: { id: transport.localId, voters: ids },
          clusterId: CLUSTER,
          transport,
          storage: new MemoryStorage(),
          stateMachine: new KvStateMachine(),
          tickIntervalMs: 20,
        }),
    );
    try {
      for (const node of nodes) node.start();
      // An election of their own: nobody is told to campaign.
      await eventually(() => {
        const leaders = new Set(nodes.map((node) => node.status().leader));
        return leaders.size === 1 && !leaders.has(undefined);
      }, 10_000, 'all three to agree on a leader');
      const [n1, n2, n3] = nodes as [KvNode, KvNode, KvNode];
      await putEventually(n1, 'before', 'restart', 5_000);
      expect(await readValue(n2, 'before')).toBe('restart');

      await server.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.start();
      const back = Date.now();
      await putEventually(n3, 'after', 'restart', 15_000);
      const resumedMs = Date.now() - back;
      // Progress resumes within a few seconds of the broker's return.
      expect(resumedMs).toBeLessThan(5_000);
      for (const node of nodes) {
        expect(await readValue(node, 'before')).toBe('restart');
        expect(await readValue(node, 'after')).toBe('restart');
      }
      expect(transports.every((t) => t.stats().rejectedMessages === 0)).toBe(true);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await closeAll(transports);
      await server.dispose();
    }
  });

  it('a lagging node catches up from a snapshot larger than max_payload, sent in chunks', async () => {
    const server = await NatsServer.start({ maxPayload: 4096 });
    const ids = ['n1', 'n2', 'n3'];
    const startNode = async (id: string) => {
      const transport = new NatsTransport({ localId: id, clusterId: CLUSTER, peers: ids, servers: server.url, ackTimeoutMs: 1_000 });
      await transport.start();
      const storage = new MemoryStorage();
      const node = new RaftNode<KvResult, KvQuery, KvQueryResult>({
        raft: { id, voters: ids },
        clusterId: CLUSTER,
        transport,
        storage,
        stateMachine: new KvStateMachine(),
        tickIntervalMs: 20,
        snapshots: { entries: 20, retainEntries: 1 },
      });
      node.start();
      return { transport, node, storage };
    };
    const running = [await startNode('n1'), await startNode('n2')];
    try {
      const n1 = running[0]!;
      const value = 'v'.repeat(1_000);
      for (let i = 0; i < 30; i++) await putEventually(n1.node, `key-${i}`, `${i}:${value}`, 10_000);
      await eventually(() => running.every(({ node }) => node.status().appliedIndex >= 30), 5_000, 'n1 and n2 to apply');
      const lagging = await startNode('n3');
      running.push(lagging);
      expect(await readValue(lagging.node, 'key-29', 10_000)).toBe(`29:${value}`);
      expect(await readValue(lagging.node, 'key-0')).toBe(`0:${value}`);
      // n3 holds a snapshot, not the entries below it: the leader no longer had them.
      expect(lagging.storage.snapshot().metadata.index).toBeGreaterThanOrEqual(20);
      expect(lagging.storage.snapshot().data.byteLength).toBeGreaterThan(4096);
      // The snapshot (about 30 kB of state) crossed a 4 kB max_payload in chunks, reassembled at n3.
      const leaderChunks = running.reduce((sum, { transport }) => sum + transport.stats().chunksSent, 0);
      expect(leaderChunks).toBeGreaterThan(7);
      expect(lagging.transport.stats().chunksReceived).toBeGreaterThan(7);
      expect(lagging.transport.stats().droppedChunkedMessages).toBe(0);
    } finally {
      await Promise.all(running.map(({ node }) => node.stop()));
      await closeAll(running.map(({ transport }) => transport));
      await server.dispose();
    }
  });
});
