import {
  BusyError,
  InvalidArgumentError,
  KvStateMachine,
  MemoryStorage,
  NotLeaderError,
  NotStartedError,
  RaftNode,
  SeededRandom,
  VirtualClock,
  encodeKvCommand,
} from '@synod/core';
import { MemoryNetwork } from '@synod/transport-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftTestCluster } from '../../src/cluster/raft-test-cluster.js';

/*
 * Issue 11, item 4. Before the fix a read refused inside the core (no known
 * leader) stayed counted in pendingReads, so enough of them made the node
 * answer BusyError for good; and calls made before start() waited for a
 * leader (or, for a lone voter, elected it without persisting the vote).
 */

const put = (key: string, value: string): Uint8Array => encodeKvCommand({ type: 'put', key, value });

let cluster: RaftTestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('RaftNode reads refused by the core', () => {
  it('leave nothing pending, so the node never turns Busy for good', async () => {
    cluster = new RaftTestCluster({ nodes: 3, maxPendingOperations: 5 });
    const n1 = cluster.node('n1');
    // No leader is known yet: the core refuses each read with NotLeaderError.
    for (let i = 0; i < 20; i++) {
      await expect(n1.read({ type: 'get', key: 'k' })).rejects.toBeInstanceOf(NotLeaderError);
    }
    expect(n1.status().pendingReads).toBe(0);
    const leader = await cluster.waitForLeader();
    expect((await cluster.settle(leader.propose(put('k', 'v')))).status).toBe('fulfilled');
    const read = await cluster.settle(n1.read({ type: 'get', key: 'k' }));
    expect(read.status === 'rejected' ? read.reason : undefined).not.toBeInstanceOf(BusyError);
    expect(read).toMatchObject({ status: 'fulfilled', value: { kv: { value: 'v' } } });
  });
});

describe('RaftNode before start()', () => {
  function unstarted(voters: string[]) {
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ clock, random: new SeededRandom(1), clusterId: 'c' });
    const storage = new MemoryStorage();
    const node = new RaftNode({
      raft: { id: 'n1', voters },
      clusterId: 'c',
      transport: network.endpoint('n1'),
      storage,
      stateMachine: new KvStateMachine(),
      clock,
      random: new SeededRandom(2),
    });
    return { node, network, storage };
  }

  it('propose and read reject at once with NotStartedError', async () => {
    const { node, network } = unstarted(['n1', 'n2', 'n3']);
    await expect(node.propose(put('a', '1'))).rejects.toBeInstanceOf(NotStartedError);
    await expect(node.read({ type: 'get', key: 'a' })).rejects.toBeInstanceOf(NotStartedError);
    await expect(node.read({ type: 'get', key: 'a' }, { consistency: 'serializable' })).rejects.toBeInstanceOf(
      NotStartedError,
    );
    expect(node.status()).toMatchObject({ pendingProposals: 0, pendingReads: 0 });
    await network.close();
  });

  it('campaign, transferLeadership and stepDown reject at once, and a lone voter does not elect itself unsynced', async () => {
    const { node, network, storage } = unstarted(['n1']);
    await expect(node.campaign()).rejects.toBeInstanceOf(NotStartedError);
    await expect(node.transferLeadership('n2')).rejects.toBeInstanceOf(NotStartedError);
    await expect(node.stepDown()).rejects.toBeInstanceOf(NotStartedError);
    await expect(node.addVoter('n2')).rejects.toBeInstanceOf(NotStartedError);
    expect(node.status()).toMatchObject({ role: 'follower', term: 0 });
    expect(storage.hardState().term).toBe(0);
    await network.close();
  });
});

describe('two RaftNodes with the same id on one network (issue 11, item 6)', () => {
  // Before the fix both started; the second took over the shared endpoint's
  // handler and the first went deaf.
  it('the second is refused at start() until the first stops', async () => {
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ clock, random: new SeededRandom(1), clusterId: 'c' });
    const make = () =>
      new RaftNode({
        raft: { id: 'n1', voters: ['n1', 'n2', 'n3'] },
        clusterId: 'c',
        transport: network.endpoint('n1'),
        storage: new MemoryStorage(),
        stateMachine: new KvStateMachine(),
        clock,
        random: new SeededRandom(2),
      });
    const first = make();
    const second = make();
    first.start();
    expect(() => second.start()).toThrow(InvalidArgumentError);
    expect(() => second.start()).toThrow(/already used by another running RaftNode/);
    await first.stop();
    second.start();
    expect(second.status().stopped).toBe(false);
    await second.stop();
    await network.close();
  });
});
