import type { ConfState, NodeId } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { createClusterHandlers, decodeMemberContext, encodeMemberContext, MemberContextError, MemberDirectory, type KvRaftNode } from '../src/index.js';

/** Just what the directory and the handlers read of a RaftNode. */
function fakeNode(id: NodeId, conf: ConfState) {
  const contexts = new Map<NodeId, Uint8Array>();
  const listeners: ((event: { confState: ConfState; index: number }) => void)[] = [];
  const added: { id: NodeId; learner: boolean; context: Uint8Array | undefined }[] = [];
  let current = conf;
  const node = {
    id,
    memberContext: (member: NodeId) => contexts.get(member),
    status: () => ({ membership: current }),
    on: (_name: 'membership', listener: (event: { confState: ConfState; index: number }) => void) => {
      listeners.push(listener);
      return () => undefined;
    },
    addVoter: async (member: NodeId, options: { context?: Uint8Array }) => {
      added.push({ id: member, learner: false, context: options.context });
      return current;
    },
    addLearner: async (member: NodeId, options: { context?: Uint8Array }) => {
      added.push({ id: member, learner: true, context: options.context });
      return current;
    },
  };
  return {
    node: node as unknown as KvRaftNode,
    added,
    contexts,
    apply(next: ConfState) {
      current = next;
      for (const listener of listeners) listener({ confState: next, index: 1 });
    },
  };
}

const conf = (voters: string[]): ConfState => ({ voters, learners: [], votersOutgoing: [], autoLeave: false });

describe('member addresses replicated with the conf change', () => {
  it('encodes a Member and reads it back; garbage and a context naming another member are typed errors', () => {
    expect(decodeMemberContext('n4', encodeMemberContext({ id: 'n4', address: '10.0.0.4:7000' }))).toEqual({ address: '10.0.0.4:7000' });
    expect(() => decodeMemberContext('n4', new Uint8Array([0xff, 0xff, 0xff]))).toThrow(MemberContextError);
    const other = (() => {
      try {
        decodeMemberContext('n4', encodeMemberContext({ id: 'n5', address: 'x:1' }));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(other).toBeInstanceOf(MemberContextError);
    expect(other).toMatchObject({ code: 'INVALID_MEMBER_CONTEXT', memberId: 'n4' });
  });

  it('prefers the replicated address, falls back to the configured one, and tells the transport when the peers change', () => {
    const fake = fakeNode('n1', conf(['n1', 'n2', 'n3']));
    const published: Map<string, string>[] = [];
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (_f: unknown, m: string) => void warnings.push(m) };
    const directory = new MemberDirectory({
      node: fake.node,
      configured: new Map([['n2', '127.0.0.1:7002'], ['n3', '127.0.0.1:7003']]),
      onPeers: (peers) => void published.push(new Map(peers)),
      logger,
    });
    directory.start();
    expect(published).toEqual([new Map([['n2', '127.0.0.1:7002'], ['n3', '127.0.0.1:7003']])]);
    fake.contexts.set('n4', encodeMemberContext({ id: 'n4', address: '127.0.0.1:7004' }));
    fake.apply(conf(['n1', 'n2', 'n3', 'n4']));
    expect(published.at(-1)).toEqual(new Map([['n2', '127.0.0.1:7002'], ['n3', '127.0.0.1:7003'], ['n4', '127.0.0.1:7004']]));
    expect(directory.addressOf('n4')).toBe('127.0.0.1:7004');
    // The same configuration again: nothing new to publish.
    fake.apply(conf(['n1', 'n2', 'n3', 'n4']));
    expect(published).toHaveLength(2);
    // A context that does not decode: the configured address, and one warning.
    fake.contexts.set('n3', new Uint8Array([0xff]));
    expect(directory.addressOf('n3')).toBe('127.0.0.1:7003');
    expect(directory.addressOf('n3')).toBe('127.0.0.1:7003');
    expect(warnings).toHaveLength(1);
  });

  it('AddMember replicates the checked address as the context, as a voter or a learner; without a checker it is UNIMPLEMENTED', async () => {
    const fake = fakeNode('n1', conf(['n1']));
    const handlers = createClusterHandlers({
      node: fake.node,
      defaultTimeoutMs: 1_000,
      addressOf: () => undefined,
      memberAddress: ({ address }) => {
        if (!address.includes(':')) throw new Error('not host:port');
        return address;
      },
    });
    await handlers.addMember({ member: { id: 'n2', address: '10.0.0.2:7000', learner: false } });
    await handlers.addMember({ member: { id: 'n3', address: '10.0.0.3:7000', learner: true } });
    expect(fake.added.map((a) => [a.id, a.learner, decodeMemberContext(a.id, a.context!).address])).toEqual([
      ['n2', false, '10.0.0.2:7000'],
      ['n3', true, '10.0.0.3:7000'],
    ]);
    await expect(handlers.addMember({ member: { id: 'n4', address: 'nowhere', learner: false } })).rejects.toThrow(/host:port/);
    await expect(handlers.addMember({ member: undefined })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(handlers.addMember({ member: { id: '', address: 'a:1', learner: false } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const refusing = createClusterHandlers({ node: fake.node, defaultTimeoutMs: 1_000, addressOf: () => undefined });
    await expect(refusing.addMember({ member: { id: 'n4', address: 'a:1', learner: false } })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
    // A node that does not replicate contexts (Multi-Paxos) cannot tell the others where the new member is.
    const withoutContexts = { ...(fake.node as object), memberContext: undefined } as unknown as KvRaftNode;
    const paxosLike = createClusterHandlers({ node: withoutContexts, defaultTimeoutMs: 1_000, addressOf: () => undefined, memberAddress: ({ address }) => address });
    await expect(paxosLike.addMember({ member: { id: 'n4', address: 'a:1', learner: false } })).rejects.toMatchObject({ code: 'UNIMPLEMENTED' });
  });
});
