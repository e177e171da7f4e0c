import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/raft/types.js';
import { Network } from './network.js';

/*
 * Issue 11, item 6: a node outside the configuration could disrupt the
 * cluster. Before the fix, an append with term 60 from an outsider deposed
 * the leader and pushed every term to 60, and an outsider's vote request
 * flagged as a leadership transfer forced an election (it bypassed the
 * voters' lease). Each test failed before the fix.
 */

function healthyCluster(): Network {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.tickAll(1);
  return net;
}

function terms(net: Network): number[] {
  return ['a', 'b', 'c'].map((id) => net.core(id).status().term);
}

describe('messages from nodes outside the configuration', () => {
  it('an append, heartbeat or snapshot with a higher term from an outsider neither deposes the leader nor moves any term', () => {
    const net = healthyCluster();
    const before = terms(net);
    for (const to of ['a', 'b', 'c']) {
      const forged: RaftMessage[] = [
        { type: 'append', from: 'x', to, term: 60, prevLogIndex: 0, prevLogTerm: 0, entries: [], commit: 0 },
        { type: 'heartbeat', from: 'x', to, term: 60, commit: 0, context: '' },
        { type: 'append-response', from: 'x', to, term: 60, reject: false, index: 0, rejectHint: 0, logTerm: 0 },
        { type: 'heartbeat-response', from: 'x', to, term: 60, context: '' },
        { type: 'vote-response', from: 'x', to, term: 60, reject: true },
        { type: 'timeout-now', from: 'x', to, term: 60 },
      ];
      for (const m of forged) net.core(to).step(m);
    }
    net.stabilize();
    expect(terms(net)).toEqual(before);
    expect(net.leaders()).toEqual(['a']);
    expect(net.core('b').status().leader).toBe('a');
  });

  it('an outsider vote request flagged as a leadership transfer does not force an election', () => {
    const net = healthyCluster();
    const before = terms(net);
    for (const to of ['a', 'b', 'c']) {
      const last = net.core(to).status().lastIndex;
      net.core(to).step({ type: 'vote', from: 'x', to, term: 60, lastLogIndex: last + 10, lastLogTerm: 59, leadershipTransfer: true });
    }
    net.stabilize();
    expect(terms(net)).toEqual(before);
    expect(net.leaders()).toEqual(['a']);
    for (const id of ['b', 'c']) expect(net.core(id).status().vote).not.toBe('x');
  });

  it('an outsider proposal or read request is dropped', () => {
    const net = healthyCluster();
    const last = net.core('a').status().lastIndex;
    net.core('a').step({ type: 'propose', from: 'x', to: 'a', term: 0, entries: [{ term: 0, index: 0, type: 'normal', data: new Uint8Array([1]) }] });
    net.core('a').step({ type: 'read-index', from: 'x', to: 'a', term: 0, context: 'r', mode: 'safe' });
    const rd = net.core('a').ready();
    net.core('a').advance(rd);
    expect(rd.messages.filter((m) => m.to === 'x')).toEqual([]);
    expect(net.core('a').status().lastIndex).toBe(last);
  });

  it('a node that knows no configuration yet still follows a leader (it joins through the log)', () => {
    const net = new Network(['a', 'b', 'c'], { configFor: (id) => (id === 'c' ? { voters: [] } : {}) });
    net.elect('a');
    net.propose('a', 'hello');
    expect(net.core('c').status().leader).toBe('a');
  });
});
