import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { resolveRaftConfig } from '../../src/raft/raft-config.js';

describe('RaftConfig', () => {
  it('fills in the documented defaults', () => {
    const c = resolveRaftConfig({ id: 'a' });
    expect(c).toMatchObject({
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      forwardProposals: true,
      maxMessageBytes: 1024 * 1024,
      maxInflightMessages: 256,
      maxInflightBytes: 0,
      maxUncommittedBytes: 0,
      maxCommittedBytesPerReady: 1024 * 1024,
      leaseReads: false,
      maxClockDriftRatio: 0.1,
      applied: 0,
      leaseTicks: 9,
    });
  });

  it('limits committed bytes per Ready to maxMessageBytes unless told otherwise', () => {
    expect(resolveRaftConfig({ id: 'a', maxMessageBytes: 4096 }).maxCommittedBytesPerReady).toBe(4096);
    expect(resolveRaftConfig({ id: 'a', maxMessageBytes: 0 }).maxCommittedBytesPerReady).toBe(1024 * 1024);
    expect(resolveRaftConfig({ id: 'a', maxMessageBytes: 4096, maxCommittedBytesPerReady: 100 }).maxCommittedBytesPerReady).toBe(100);
  });

  it.each([
    [{ id: '' }],
    [{ id: 'a', electionTicks: 0 }],
    [{ id: 'a', electionTicks: 5, heartbeatTicks: 5 }],
    [{ id: 'a', leaseReads: true, checkQuorum: false }],
    [{ id: 'a', maxClockDriftRatio: 1 }],
    [{ id: 'a', maxInflightMessages: 0 }],
    [{ id: 'a', voters: ['a', 'b'], learners: ['b'] }],
    [{ id: 'a', applied: -1 }],
    [{ id: 'a', maxCommittedBytesPerReady: 0 }],
    [{ id: 'a', maxCommittedBytesPerReady: 1.5 }],
  ])('rejects %j with InvalidArgumentError', (config) => {
    expect(() => resolveRaftConfig(config)).toThrow(InvalidArgumentError);
  });
});
