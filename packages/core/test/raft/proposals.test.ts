import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotLeaderError, ProposalDroppedError } from '../../src/errors/errors.js';
import { harness } from './helpers.js';
import { Network, encode } from './network.js';

describe('proposals and forwarding', () => {
  it('refuses data that is not a Uint8Array with InvalidArgumentError, on the leader and on a follower (issue 11, item 3)', () => {
    // Failed before the fix: a string entered the log as it was.
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const before = net.core('a').status().lastIndex;
    for (const id of ['a', 'b']) {
      for (const bad of ['hello', {}, 42]) {
        expect(() => net.core(id).propose(bad as unknown as Uint8Array)).toThrow(InvalidArgumentError);
      }
    }
    expect(net.core('a').status().lastIndex).toBe(before);
  });

  it('§5.3 the leader appends a proposal at the next index of its term', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const { lastIndex, term } = net.core('a').status();
    expect(net.core('a').propose(encode('x'))).toEqual({ index: lastIndex + 1, term });
  });

  it('a follower that knows the leader forwards the proposal to it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    expect(net.core('b').propose(encode('via-b'))).toEqual({ forwardedTo: 'a' });
    net.stabilize();
    for (const id of ['a', 'b', 'c']) expect(net.appliedText(id)).toEqual(['via-b']);
  });

  it('with forwarding off a follower throws NotLeaderError carrying the leader hint', () => {
    const net = new Network(['a', 'b', 'c'], { config: { forwardProposals: false } });
    net.elect('a');
    let error: unknown;
    try {
      net.core('b').propose(encode('x'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leaderHint).toBe('a');
  });

  it('without a known leader propose throws NotLeaderError with no hint', () => {
    const h = harness('a', ['a', 'b', 'c']);
    expect(() => h.core.propose(encode('x'))).toThrow(NotLeaderError);
    h.core.campaign();
    expect(() => h.core.propose(encode('x'))).toThrow(
      expect.objectContaining({ leaderHint: undefined }) as unknown as Error,
    );
  });

  it('a proposal forwarded to a node that is not the leader is dropped, not bounced on', () => {
    const h = harness('b', ['a', 'b', 'c']);
    h.core.step({
      type: 'propose',
      from: 'c',
      to: 'b',
      term: 0,
      entries: [{ term: 0, index: 0, type: 'normal', data: encode('x') }],
    });
    expect(h.drain().messages).toEqual([]);
    expect(h.core.status().lastIndex).toBe(0);
  });

  it('proposals past maxUncommittedBytes are dropped until the backlog is applied', () => {
    const net = new Network(['a', 'b', 'c'], { config: { maxUncommittedBytes: 100, checkQuorum: false } });
    net.elect('a');
    net.isolate('a');
    const a = net.core('a');
    a.propose(new Uint8Array(60));
    expect(() => a.propose(new Uint8Array(60))).toThrow(ProposalDroppedError);
    a.propose(new Uint8Array(40));
    net.heal();
    net.tickAll(2);
    expect(net.node('a').applied.filter((e) => e.data.byteLength > 0)).toHaveLength(2);
    expect(() => a.propose(new Uint8Array(60))).not.toThrow();
  });

  it('an empty budget admits one oversized proposal rather than blocking it forever', () => {
    const net = new Network(['a'], { config: { maxUncommittedBytes: 10 } });
    net.elect('a');
    expect(() => net.core('a').propose(new Uint8Array(50))).not.toThrow();
    expect(() => net.core('a').propose(new Uint8Array(1))).toThrow(ProposalDroppedError);
  });
});
