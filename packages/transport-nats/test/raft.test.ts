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
});
