import {
  KvStateMachine,
  MemoryStorage,
  RaftNode,
  encodeKvCommand,
  type KvQuery,
  type KvQueryResult,
  type KvResult,
} from '@synod/core';
import { raftPayloadCodec } from '@synod/protocol';
import { describe, expect, it } from 'vitest';
import { TestPki } from './certs.js';
import { closeAll, introduce, startTransport } from './helpers.js';

const pki = new TestPki('raft-over-grpc');

describe('RaftNode over GrpcTransport', () => {
  it('three nodes over mutual TLS elect a leader, replicate a put and serve a linearizable read on a follower', async () => {
    const ids = ['n1', 'n2', 'n3'];
    const transports = await Promise.all(
      ids.map(async (id) =>
        startTransport(id, { clusterId: 'raft-over-grpc', security: await pki.security(id), payloadCodecs: { raft: raftPayloadCodec } }),
      ),
    );
    introduce(transports);
    const nodes = transports.map(
      (transport) =>
        new RaftNode<KvResult, KvQuery, KvQueryResult>({
          raft: { id: transport.localId, voters: ids },
          clusterId: 'raft-over-grpc',
          transport,
          storage: new MemoryStorage(),
          stateMachine: new KvStateMachine(),
          tickIntervalMs: 20,
        }),
    );
    try {
      for (const node of nodes) node.start();
      const [n1, n2] = nodes as [RaftNode<KvResult, KvQuery, KvQueryResult>, RaftNode<KvResult, KvQuery, KvQueryResult>];
      await n1.campaign({ timeoutMs: 5_000 });
      const put = await n1.propose(encodeKvCommand({ type: 'put', key: 'k', value: 'v' }), { timeoutMs: 5_000 });
      expect(put.type).toBe('put');
      const got = await n2.read({ type: 'get', key: 'k' }, { consistency: 'linearizable', timeoutMs: 5_000 });
      expect(got.type === 'get' ? got.kv?.value : got.type).toBe('v');
      expect(transports.every((t) => t.stats().refusedStreams === 0)).toBe(true);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await closeAll(transports);
    }
  });
});
