import { InvalidArgumentError, MemoryStorage, MultiPaxosNode, RaftNode, silentLogger, type Transport } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { createKvReplica, type KvReplicaOptions } from '../src/index.js';

/** A transport that is never started: the replicas here are only built. */
const idleTransport = { localId: 'n1', send: () => undefined, setHandler: () => undefined } as unknown as Transport;

function options(extra: Partial<KvReplicaOptions>): KvReplicaOptions {
  return {
    nodeId: 'n1',
    clusterId: 'c',
    voters: ['n1', 'n2', 'n3'],
    transport: idleTransport,
    storage: new MemoryStorage(),
    defaultTimeoutMs: 1_000,
    logger: silentLogger,
    ...extra,
  };
}

describe('createKvReplica', () => {
  it('runs Raft by default and Multi-Paxos with algorithm paxos, behind the same KvNode calls', () => {
    expect(createKvReplica(options({})).node).toBeInstanceOf(RaftNode);
    const paxos = createKvReplica(options({ algorithm: 'paxos', paxos: { window: 64 } })).node;
    expect(paxos).toBeInstanceOf(MultiPaxosNode);
    expect(paxos.status()).toMatchObject({ role: 'follower', term: 0, commitIndex: 0, stopped: false });
    expect(paxos.status().membership.voters).toEqual(['n1', 'n2', 'n3']);
  });

  it.each([
    [{ algorithm: 'zab' as never }, /algorithm must be 'raft' or 'paxos', got 'zab'/],
    [{ algorithm: 'paxos' as const, raft: { electionTicks: 10 } }, /raft options given with algorithm 'paxos'/],
    [{ algorithm: 'paxos' as const, toleratedLeaderPauseMs: 100 }, /toleratedLeaderPauseMs is a Raft option/],
    [{ algorithm: 'raft' as const, paxos: { window: 8 } }, /paxos options given with algorithm 'raft'/],
  ])('refuses %j with InvalidArgumentError', (extra, message) => {
    expect(() => createKvReplica(options(extra))).toThrow(InvalidArgumentError);
    expect(() => createKvReplica(options(extra))).toThrow(message);
  });

  it('a Multi-Paxos node refuses learner promotion and hand-over to another node with typed errors', async () => {
    const node = createKvReplica(options({ algorithm: 'paxos' })).node;
    await expect(node.promoteLearner('n2')).rejects.toThrow(InvalidArgumentError);
    await expect(node.transferLeadership('n2')).rejects.toThrow(/cannot hand over to 'n2'/);
  });
});
