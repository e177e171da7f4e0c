import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/raft/types.js';
import { harness, heartbeat, tickUntil, voteRequest } from './helpers.js';
import { Network, storageWithTerms } from './network.js';

const noPreVote = { preVote: false, checkQuorum: false } as const;

describe('leader election (§5.2)', () => {
  it('§5.2 a follower that hears no leader within the election timeout becomes a candidate and requests votes', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    tickUntil(h.core, () => h.core.status().role === 'candidate');
    const st = h.core.status();
    expect(st.term).toBe(1);
    expect(st.vote).toBe('a');
    const { messages } = h.drain();
    expect(messages.map((m) => [m.type, m.to, m.term])).toEqual([
      ['vote', 'b', 1],
      ['vote', 'c', 1],
    ]);
  });

  it('§5.2 election timeouts are randomized in [electionTicks, 2*electionTicks) from the injected Random', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const h = harness('a', ['a', 'b', 'c'], { ...noPreVote, electionTicks: 10 }, undefined, seed);
      const ticks = tickUntil(h.core, () => h.core.status().role !== 'follower');
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('§5.2 a candidate that wins a majority becomes leader, appends a no-op of its term and replicates it', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    h.core.campaign();
    h.drain();
    h.core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: false });
    expect(h.core.status().role).toBe('leader');
    const { messages, readies } = h.drain();
    expect(readies[0]!.softState).toEqual({ role: 'leader', leader: 'a' });
    expect(readies[0]!.entries).toEqual([{ term: 1, index: 1, type: 'normal', data: new Uint8Array(0) }]);
    expect(messages.filter((m) => m.type === 'append').map((m) => m.to)).toEqual(['b', 'c']);
  });

  it('§5.2 a candidate that a majority refuses goes back to follower', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    h.core.campaign();
    h.core.step({ type: 'vote-response', from: 'b', to: 'a', term: 1, reject: true });
    expect(h.core.status().role).toBe('candidate');
    h.core.step({ type: 'vote-response', from: 'c', to: 'a', term: 1, reject: true });
    expect(h.core.status().role).toBe('follower');
  });

  it('§5.2 a candidate that hears from a leader of its term becomes its follower', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    h.core.campaign();
    h.core.step(heartbeat('b', 'a', 1));
    expect(h.core.status()).toMatchObject({ role: 'follower', leader: 'b', term: 1 });
  });

  it('§5.2 a single-node cluster elects itself and commits once its own log is persisted', () => {
    const net = new Network(['a']);
    net.tickAll(20);
    expect(net.leaders()).toEqual(['a']);
    net.propose('a', 'x');
    expect(net.appliedText('a')).toEqual(['x']);
  });

  it('§5.2 split votes are resolved by randomized timeouts', () => {
    const net = new Network(['a', 'b', 'c', 'd'], { config: noPreVote, seed: 3 });
    // a and b campaign in the same term; c only reaches a, d only reaches b: 2 votes each of 4.
    net.cut('a', 'd');
    net.cut('b', 'c');
    net.core('a').campaign();
    net.core('b').campaign();
    net.stabilize();
    expect(net.leaders()).toEqual([]);
    expect(net.core('a').status().term).toBe(1);
    net.heal();
    for (let i = 0; i < 100 && net.leaders().length === 0; i++) net.tickAll();
    expect(net.leaders()).toHaveLength(1);
    expect(net.core(net.leaders()[0]!).status().term).toBeGreaterThan(1);
  });

  it('§5.2 a node grants at most one vote per term, first come first served', () => {
    const h = harness('c', ['a', 'b', 'c'], noPreVote);
    h.core.step(voteRequest('a', 'c', 2, 0, 0));
    h.core.step(voteRequest('b', 'c', 2, 0, 0));
    h.core.step(voteRequest('a', 'c', 2, 0, 0)); // a retransmission is granted again
    const votes = h.drain().messages.map((m) => [m.to, m.type === 'vote-response' && m.reject]);
    expect(votes).toEqual([
      ['a', false],
      ['b', true],
      ['a', false],
    ]);
  });

  it('§5.4.1 a voter refuses a candidate whose log is less up-to-date than its own', () => {
    const storage = storageWithTerms([1, 1, 2], { term: 2 });
    const h = harness('c', ['a', 'b', 'c'], noPreVote, storage);
    const answer = (from: string, term: number, lastIndex: number, lastTerm: number): boolean => {
      h.core.step(voteRequest(from, 'c', term, lastIndex, lastTerm));
      const m = h.drain().messages.find((x) => x.type === 'vote-response');
      return m !== undefined && m.type === 'vote-response' && !m.reject;
    };
    expect(answer('a', 3, 9, 1)).toBe(false); // longer log but older last term
    expect(answer('a', 4, 2, 2)).toBe(false); // same last term, shorter
    expect(answer('a', 5, 3, 2)).toBe(true); // same last entry
    expect(answer('b', 6, 1, 3)).toBe(true); // newer last term
  });

  it('Figure 2 the vote is persisted in the same Ready that carries the vote response', () => {
    const h = harness('c', ['a', 'b', 'c'], noPreVote);
    h.core.step(voteRequest('a', 'c', 5, 0, 0));
    const rd = h.core.ready();
    expect(rd.hardState).toEqual({ term: 5, vote: 'a', commit: 0 });
    expect(rd.messages).toEqual([{ type: 'vote-response', from: 'c', to: 'a', term: 5, reject: false }]);
  });

  it('§5.2 a candidate persists its self-vote with its vote requests', () => {
    const h = harness('a', ['a', 'b', 'c'], noPreVote);
    h.core.campaign();
    const rd = h.core.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 'a', commit: 0 });
    expect(rd.messages.every((m) => m.type === 'vote')).toBe(true);
  });

  it('§5.1 a node that sees a higher term adopts it and becomes a follower, even as leader', () => {
    const net = new Network(['a', 'b', 'c'], { config: noPreVote });
    net.elect('a');
    net.core('a').step(heartbeat('b', 'a', 7));
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term: 7, leader: 'b' });
  });

  it('§5.1 messages from an older term are rejected; a stale leader learns the newer term and steps down', () => {
    // Without CheckQuorum the isolated leader would lead term 1 forever on its own.
    const net = new Network(['a', 'b', 'c'], { config: { checkQuorum: false }, seed: 5 });
    net.elect('a');
    net.isolate('a');
    for (let i = 0; i < 100 && !net.leaders().some((id) => id !== 'a'); i++) net.tickAll();
    const [, newLeader] = net.leaders().sort();
    expect(newLeader).toBeDefined();
    expect(net.core(newLeader!).status().term).toBe(2);
    expect(net.core('a').status()).toMatchObject({ role: 'leader', term: 1 });
    net.core('a').propose(new TextEncoder().encode('stale'));
    net.stabilize();
    net.heal();
    net.tickAll(3);
    expect(net.core('a').status()).toMatchObject({ role: 'follower', term: 2, leader: newLeader });
    expect(net.leaders()).toEqual([newLeader]);
    // The stale proposal was never committed anywhere and was overwritten (§5.3).
    for (const id of ['a', 'b', 'c']) expect(net.appliedText(id)).toEqual([]);
    expect(net.logTerms('a')).toEqual(net.logTerms(newLeader!));
  });

  it('votes from nodes outside the configuration are rejected (DESIGN: defaults that protect users)', () => {
    // Unless the outsider's log is ahead of ours: see vote-from-non-member.test.ts.
    const h = harness('c', ['a', 'b', 'c'], noPreVote);
    h.core.step(voteRequest('x', 'c', 3, 0, 0));
    const [m] = h.drain().messages;
    expect(m).toMatchObject({ type: 'vote-response', to: 'x', reject: true });
  });

  it('learners never campaign and their votes never count', () => {
    const h = harness('l', ['a', 'b'], { ...noPreVote, learners: ['l'] });
    for (let i = 0; i < 100; i++) h.core.tick();
    expect(h.core.status().role).toBe('follower');
    expect(h.drain().messages).toEqual([]);
    const a = harness('a', ['a', 'b'], { ...noPreVote, learners: ['l'] });
    a.core.campaign();
    expect(a.drain().messages.map((m) => m.to)).toEqual(['b']);
    a.core.step({ type: 'vote-response', from: 'l', to: 'a', term: 1, reject: false });
    expect(a.core.status().role).toBe('candidate');
  });

  it('Election Safety: at most one leader per term through a lossy run', () => {
    let drops = 0;
    const net = new Network(['a', 'b', 'c', 'd', 'e'], { seed: 11 });
    let state = 12345;
    net.filter = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      const keep = state % 10 >= 3;
      if (!keep) drops++;
      return keep;
    };
    const leaderOf = new Map<number, string>();
    for (let round = 0; round < 400; round++) {
      net.tickAll();
      for (const id of net.leaders()) {
        const term = net.core(id).status().term;
        const prev = leaderOf.get(term);
        expect(prev === undefined || prev === id).toBe(true);
        leaderOf.set(term, id);
      }
    }
    expect(drops).toBeGreaterThan(0);
    expect(leaderOf.size).toBeGreaterThan(0);
  });
});

describe('PreVote (thesis §9.6)', () => {
  it('§9.6 a pre-candidate asks with term+1 but does not bump its own term', () => {
    const h = harness('a', ['a', 'b', 'c']);
    tickUntil(h.core, () => h.core.status().role === 'pre-candidate');
    expect(h.core.status().term).toBe(0);
    const { messages, readies } = h.drain();
    expect(readies.every((r) => r.hardState === undefined)).toBe(true);
    expect(messages.map((m) => [m.type, m.term])).toEqual([
      ['prevote', 1],
      ['prevote', 1],
    ]);
    h.core.step({ type: 'prevote-response', from: 'b', to: 'a', term: 1, reject: false });
    expect(h.core.status()).toMatchObject({ role: 'candidate', term: 1, vote: 'a' });
  });

  it('§9.6 a partitioned node does not increase its term and does not disrupt the leader when it returns', () => {
    const net = new Network(['a', 'b', 'c'], { seed: 2 });
    net.elect('a');
    const term = net.core('a').status().term;
    net.isolate('c');
    net.tickAll(100);
    expect(net.core('c').status().term).toBe(term);
    expect(net.core('c').status().role).toBe('pre-candidate');
    net.heal();
    net.tickAll(3);
    expect(net.leaders()).toEqual(['a']);
    expect(net.core('a').status().term).toBe(term);
    expect(net.core('c').status()).toMatchObject({ role: 'follower', leader: 'a', term });
  });

  it('without PreVote the same partitioned node bumps its term and forces an election on return', () => {
    const net = new Network(['a', 'b', 'c'], { config: noPreVote, seed: 2 });
    net.elect('a');
    net.isolate('c');
    net.tickAll(100);
    const cTerm = net.core('c').status().term;
    expect(cTerm).toBeGreaterThan(5);
    net.heal();
    net.tickAll(40);
    // The whole cluster was dragged to the partitioned node's term.
    expect(net.core('a').status().term).toBeGreaterThanOrEqual(cTerm);
  });

  it('§9.6 a voter refuses a PreVote while it hears from a leader, and grants it once the leader is gone', () => {
    const h = harness('b', ['a', 'b', 'c']);
    h.core.step(heartbeat('a', 'b', 1));
    h.drain();
    h.core.step(voteRequest('c', 'b', 2, 0, 0, 'prevote'));
    expect(h.drain().messages).toEqual([]);
    for (let i = 0; i < 10; i++) h.core.tick();
    h.core.step(voteRequest('c', 'b', 2, 0, 0, 'prevote'));
    const [m] = h.drain().messages;
    expect(m).toMatchObject({ type: 'prevote-response', to: 'c', term: 2, reject: false });
    // Granting a PreVote changes neither term nor vote.
    expect(h.core.status()).toMatchObject({ term: 1, vote: undefined });
  });

  it('§9.6 a PreVote for a stale log is refused even without a leader', () => {
    const h = harness('b', ['a', 'b', 'c'], {}, storageWithTerms([1, 1], { term: 1 }));
    h.core.step(voteRequest('c', 'b', 2, 1, 1, 'prevote'));
    const [m] = h.drain().messages;
    expect(m).toMatchObject({ type: 'prevote-response', reject: true, term: 1 });
  });
});

describe('CheckQuorum and leader stickiness (thesis §6.2, §4.2.3)', () => {
  it('§6.2 a leader that does not hear from a quorum within an election timeout steps down', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    for (let i = 0; i < 9; i++) net.tick('a');
    expect(net.core('a').status().role).toBe('leader');
    net.tick('a', 11);
    expect(net.core('a').status()).toMatchObject({ role: 'follower', leader: undefined });
  });

  it('§6.2 a leader that hears from a quorum keeps leading though one follower is down', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.tickAll(50);
    expect(net.core('a').status().role).toBe('leader');
  });

  it('§4.2.3 a follower that heard from its leader within the election timeout ignores a higher-term vote request', () => {
    const h = harness('b', ['a', 'b', 'c'], { preVote: false, checkQuorum: true });
    h.core.step(heartbeat('a', 'b', 1));
    h.drain();
    h.core.step(voteRequest('c', 'b', 5, 10, 5));
    expect(h.drain().messages).toEqual([]);
    expect(h.core.status()).toMatchObject({ term: 1, leader: 'a' });
  });

  it('§9.6 with PreVote and CheckQuorum a node campaigning out of turn cannot depose a healthy leader', () => {
    const net = new Network(['a', 'b', 'c'], { seed: 4 });
    net.elect('a');
    const term = net.core('a').status().term;
    // A detector's false suspicion on c: campaign() starts with PreVote.
    net.core('c').campaign();
    net.stabilize();
    net.tickAll(30);
    expect(net.leaders()).toEqual(['a']);
    expect(net.core('c').status().term).toBe(term);
  });

  it('a candidate stuck at a higher term (CheckQuorum without PreVote) is freed: the leader learns its term and the cluster re-elects', () => {
    const net = new Network(['a', 'b', 'c'], { config: { preVote: false, checkQuorum: true }, seed: 4 });
    net.elect('a');
    net.isolate('c');
    net.tickAll(40);
    const cTerm = net.core('c').status().term;
    expect(cTerm).toBeGreaterThan(1);
    net.heal();
    net.tickAll(60);
    expect(net.leaders()).toHaveLength(1);
    for (const id of ['a', 'b', 'c']) expect(net.core(id).status().term).toBeGreaterThanOrEqual(cTerm);
  });

  it('a TimeoutNow election overrides the lease (the leader asked for it)', () => {
    const h = harness('b', ['a', 'b', 'c'], { preVote: false, checkQuorum: true });
    h.core.step(heartbeat('a', 'b', 1));
    h.drain();
    h.core.step(voteRequest('c', 'b', 2, 0, 0, 'vote', true));
    const [m] = h.drain().messages;
    expect(m).toMatchObject({ type: 'vote-response', reject: false });
  });
});

describe('robustness', () => {
  it('never throws on malformed or foreign input', () => {
    const h = harness('a', ['a', 'b', 'c']);
    const junk: unknown[] = [
      null,
      {},
      { type: 'append', from: 'b', to: 'a', term: 1 },
      { type: 'append', from: 'b', to: 'a', term: 1, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries: [{ index: 5, term: 1, type: 'normal', data: new Uint8Array() }] },
      { type: 'append', from: 'b', to: 'a', term: -1, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries: [] },
      { type: 'bogus', from: 'b', to: 'a', term: 1 },
      { type: 'heartbeat', from: 'b', to: 'zz', term: 9, commit: 0, context: '' },
      { type: 'vote', from: 'b', to: 'a', term: 1.5, lastLogIndex: 0, lastLogTerm: 0, leadershipTransfer: false },
      { type: 'snapshot', from: 'b', to: 'a', term: 1, snapshot: { metadata: null, data: null } },
    ];
    // Term 0 is not a real term: an append claiming it must not install a leader.
    junk.push({ type: 'append', from: 'b', to: 'a', term: 0, prevLogIndex: 0, prevLogTerm: 0, commit: 0, entries: [] });
    for (const m of junk) expect(() => h.core.step(m as RaftMessage)).not.toThrow();
    expect(h.core.status()).toMatchObject({ term: 0, role: 'follower', leader: undefined });
    expect(h.drain().messages).toEqual([]);
  });
});

describe('restart (Figure 2 persistent state)', () => {
  it('Figure 2 term and vote survive a restart, so a node never votes twice in one term', () => {
    const net = new Network(['a', 'b', 'c'], { config: noPreVote });
    net.partition(['a', 'c'], ['b']);
    net.elect('a');
    expect(net.core('c').status()).toMatchObject({ term: 1, vote: 'a' });
    net.restart('c');
    expect(net.core('c').status()).toMatchObject({ term: 1, vote: 'a', role: 'follower' });
    net.core('c').step(voteRequest('b', 'c', 1, 5, 5));
    net.flush('c');
    const answer = net.queue.find((m) => m.from === 'c' && m.type === 'vote-response');
    expect(answer).toMatchObject({ reject: true });
  });

  it('a restarted node does not apply again what it had applied, and rejoins the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.propose('a', 'y');
    net.restart('b');
    const before = net.node('b').applied.length;
    net.propose('a', 'z');
    net.tickAll(2);
    expect(net.node('b').applied.length).toBe(before + 1);
    expect(net.appliedText('b')).toEqual(['x', 'y', 'z']);
  });
});

describe('forgetLeader', () => {
  it('a follower that forgot its leader grants PreVotes at once, and follows the leader again when it hears from it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tickAll(1);
    const b = net.core('b');
    const term = b.status().term;
    const prevote = { type: 'prevote', from: 'c', to: 'b', term: term + 1, lastLogIndex: 100, lastLogTerm: term, leadershipTransfer: false } as const;
    b.step(prevote);
    expect(b.ready().messages).toEqual([]); // ignored: b still hears a
    b.forgetLeader();
    expect(b.status().leader).toBeUndefined();
    b.step(prevote);
    const rd = b.ready();
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'prevote-response', reject: false })]);
    b.advance(rd);
    net.tickAll(1);
    expect(b.status().leader).toBe('a');
  });

  it('is a no-op with lease reads while the leader was heard within the election timeout', () => {
    const net = new Network(['a', 'b', 'c'], { config: { leaseReads: true } });
    net.elect('a');
    net.tickAll(1);
    net.core('b').forgetLeader();
    expect(net.core('b').status().leader).toBe('a');
  });
});
