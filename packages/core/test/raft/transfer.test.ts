import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, NotLeaderError, NotVoterError, ProposalDroppedError } from '../../src/errors/errors.js';
import { Network, encode } from './network.js';

describe('leadership transfer (thesis §3.10)', () => {
  it('§3.10 a caught-up target gets TimeoutNow at once and wins the next term', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const term = net.core('a').status().term;
    net.core('a').transferLeadership('b');
    net.stabilize();
    expect(net.delivered.some((m) => m.type === 'timeout-now' && m.to === 'b')).toBe(true);
    expect(net.leaders()).toEqual(['b']);
    expect(net.core('b').status().term).toBe(term + 1);
    expect(net.core('a').status()).toMatchObject({ role: 'follower', leader: 'b' });
  });

  it('§3.10 a lagging target is caught up first; proposals are refused meanwhile', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.core('a').transferLeadership('c');
    net.stabilize();
    expect(net.delivered.some((m) => m.type === 'timeout-now')).toBe(false);
    expect(net.core('a').status().leadTransferee).toBe('c');
    expect(() => net.core('a').propose(encode('y'))).toThrow(ProposalDroppedError);
    net.heal();
    net.tickAll(2);
    expect(net.delivered.some((m) => m.type === 'timeout-now' && m.to === 'c')).toBe(true);
    expect(net.leaders()).toEqual(['c']);
    // Leader Completeness: the new leader has the committed entry.
    net.tickAll(2);
    expect(net.appliedText('c')).toEqual(['x']);
  });

  it('§3.10 a transfer that does not finish within an election timeout is aborted', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.core('a').transferLeadership('c');
    net.tick('a', 9);
    expect(net.core('a').status().leadTransferee).toBe('c');
    net.tickAll(1);
    expect(net.core('a').status()).toMatchObject({ role: 'leader', leadTransferee: undefined });
    expect(() => net.core('a').propose(encode('y'))).not.toThrow();
  });

  it('rejects transfers from a follower, to self, to non-voters and to learners', () => {
    const net = new Network(['a', 'b', 'c'], { config: { learners: ['l'] } });
    net.elect('a');
    expect(() => net.core('b').transferLeadership('c')).toThrow(NotLeaderError);
    expect(() => net.core('a').transferLeadership('a')).toThrow(InvalidArgumentError);
    expect(() => net.core('a').transferLeadership('zz')).toThrow(NotVoterError);
    expect(() => net.core('a').transferLeadership('l')).toThrow(NotVoterError);
  });

  it('stepDown hands leadership to the most up-to-date voter', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.heal();
    // c is behind (its progress is unknown to a until it answers); b is caught up.
    net.core('a').stepDown();
    net.stabilize();
    expect(net.leaders()).toEqual(['b']);
  });

  it('stepDown on a single-node leader just becomes follower; on a follower it does nothing', () => {
    const net = new Network(['a']);
    net.elect('a');
    net.core('a').stepDown();
    expect(net.core('a').status()).toMatchObject({ role: 'follower', leader: undefined });
    const three = new Network(['a', 'b', 'c']);
    three.elect('a');
    three.core('b').stepDown();
    expect(three.core('b').status().role).toBe('follower');
    expect(three.leaders()).toEqual(['a']);
  });

  it('TimeoutNow is honoured only from the current leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const term = net.core('b').status().term;
    net.core('b').step({ type: 'timeout-now', from: 'c', to: 'b', term });
    net.stabilize();
    expect(net.leaders()).toEqual(['a']);
    expect(net.core('b').status().term).toBe(term);
  });
});
