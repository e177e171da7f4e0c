import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/index.js';
import { MultiPaxosNode } from '../../src/paxos/multi-paxos-node.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { VirtualClock } from '../../src/time/virtual-clock.js';
import type { Transport } from '../../src/transport/transport.js';

/** A transport that goes nowhere: these calls are refused before anything is sent. */
const silentTransport = (localId: string): Transport => ({
  localId,
  maxMessageBytes: 1 << 20,
  send: () => undefined,
  setHandler: () => undefined,
  onUnreachable: () => () => undefined,
  close: () => Promise.resolve(),
});

describe('MultiPaxosNode membership calls a Synod server makes', () => {
  const node = (): MultiPaxosNode =>
    new MultiPaxosNode({
      paxos: { id: 'n1', voters: ['n1'] },
      clusterId: 'c',
      transport: silentTransport('n1'),
      storage: new MemoryStorage(),
      stateMachine: { apply: () => undefined, query: () => undefined, snapshot: () => new Uint8Array(0), restore: () => undefined },
      clock: new VirtualClock(),
      snapshots: false,
    });

  it('refuses to add a voter with a context (an address) it would not replicate, instead of dropping it', async () => {
    const paxos = node();
    await expect(paxos.addVoter('n2', { context: new TextEncoder().encode('10.0.0.2:7001') })).rejects.toThrow(InvalidArgumentError);
    await expect(paxos.addVoter('n2', { context: new Uint8Array(1) })).rejects.toThrow(/does not replicate member contexts/);
    expect(paxos.memberContext('n1')).toBeUndefined();
  });

  it('has no learners to add', async () => {
    await expect(node().addLearner('n2')).rejects.toThrow(/no learners/);
  });
});
