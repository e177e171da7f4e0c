import { describe, expect, it } from 'vitest';
import type { RaftCore } from '../../src/raft/raft-core.js';
import type { RaftMessage } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { harness, heartbeat } from './helpers.js';
import { Network, storageWithTerms } from './network.js';

// The cases of etcd-io/raft's raft_paper_test.go and the table-driven
// election and commit tests of its raft_test.go that the other files here
// did not cover yet, written against RaftCore's public inputs (messages,
// ticks, campaign) rather than internal state.

const noPreVote = { preVote: false, checkQuorum: false } as const;
const idsOf = (size: number): string[] => Array.from({ length: size }, (_, i) => `n${i + 1}`);

/** Ticks until the core has something to send; returns the number of ticks. */
function ticksUntilMessages(core: RaftCore, drain: () => RaftMessage[], limit = 1000): number {
  for (let tick = 1; tick <= limit; tick++) {
    core.tick();
    if (drain().length > 0) return tick;
  }
  throw new Error('the core never sent anything');
}

describe('raft paper §5.1–§5.2, ported from etcd-io/raft', () => {
  it.each([1, 3, 5])('§5.2 a node of a %i-node cluster starts as a follower of term 0, with no leader and no vote', (size) => {
    const h = harness('n1', idsOf(size));
    expect(h.core.status()).toMatchObject({ role: 'follower', term: 0, leader: undefined, vote: undefined });
  });

  describe('§5.1 a node that sees a newer term adopts it and becomes a follower', () => {
    const newerAppend = (term: number): RaftMessage => ({
      type: 'append',
      from: 'n2',
      to: 'n1',
      term,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [],
      commit: 0,
    });

    it('follower', () => {
      const h = harness('n1', idsOf(3), noPreVote);
      h.core.step(heartbeat('n3', 'n1', 1));
      expect(h.core.status()).toMatchObject({ role: 'follower', term: 1, leader: 'n3' });
      h.core.step(newerAppend(2));
      expect(h.core.status()).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
    });

    it('candidate', () => {
      const h = harness('n1', idsOf(3), noPreVote);
      h.core.campaign();
      expect(h.core.status()).toMatchObject({ role: 'candidate', term: 1 });
      h.core.step(newerAppend(2));
      expect(h.core.status()).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
    });

    it('pre-candidate (PreVote)', () => {
      const h = harness('n1', idsOf(3), { preVote: true, checkQuorum: false });
      h.core.campaign();
      expect(h.core.status()).toMatchObject({ role: 'pre-candidate', term: 0 });
      h.core.step(newerAppend(2));
      expect(h.core.status()).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
    });

    it('leader', () => {
      const h = harness('n1', idsOf(3), noPreVote);
      h.core.campaign();
      h.core.step({ type: 'vote-response', from: 'n2', to: 'n1', term: 1, reject: false });
      expect(h.core.status().role).toBe('leader');
      h.core.step(newerAppend(2));
      expect(h.core.status()).toMatchObject({ role: 'follower', term: 2, leader: 'n2' });
    });
  });

  it('§5.2 a candidate whose election times out starts another after a randomized timeout in [electionTicks, 2*electionTicks)', () => {
    const electionTicks = 10;
    const seen = new Set<number>();
    const h = harness('n1', idsOf(3), { ...noPreVote, electionTicks });
    const drain = (): RaftMessage[] => h.drain().messages;
    for (let round = 0; round < 50 * electionTicks; round++) {
      h.core.campaign();
      const term = h.core.status().term;
      drain();
      const ticks = ticksUntilMessages(h.core, drain);
      // The election it timed out of is lost: it asks again, in the next term.
      expect(h.core.status()).toMatchObject({ role: 'candidate', term: term + 1 });
      seen.add(ticks);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: electionTicks }, (_, i) => electionTicks + i));
  });

  describe('§5.2 randomized timeouts make it rare that several nodes time out at the same tick', () => {
    const size = 5;
    const rounds = 1000;

    /** Runs `rounds` elections and returns the share in which more than one node timed out first. */
    function conflictRate(start: (core: RaftCore) => void): number {
      let conflicts = 0;
      for (let round = 0; round < rounds; round++) {
        const cores = idsOf(size).map((id, i) => harness(id, idsOf(size), noPreVote, new MemoryStorage(), round * size + i + 1));
        for (const h of cores) {
          start(h.core);
          h.drain();
        }
        let timedOut = 0;
        while (timedOut === 0) {
          for (const h of cores) {
            h.core.tick();
            if (h.drain().messages.length > 0) timedOut++;
          }
        }
        if (timedOut > 1) conflicts++;
      }
      return conflicts / rounds;
    }

    it('followers', () => {
      expect(conflictRate(() => undefined)).toBeLessThanOrEqual(0.3);
    });

    it('candidates', () => {
      expect(conflictRate((core) => core.campaign())).toBeLessThanOrEqual(0.3);
    });
  });

  it.each([
    { name: 'one entry of term 1', terms: [1], wantTerm: 2 },
    { name: 'entries of terms 1 and 2', terms: [1, 2], wantTerm: 3 },
  ])('§5.4.1 a vote request carries the index and term of the last log entry ($name)', ({ terms, wantTerm }) => {
    const h = harness('n1', idsOf(3), noPreVote);
    h.core.step({
      type: 'append',
      from: 'n2',
      to: 'n1',
      term: wantTerm - 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: terms.map((term, i) => ({ index: i + 1, term, type: 'normal' as const, data: new Uint8Array(0) })),
      commit: 0,
    });
    h.drain();
    let votes: RaftMessage[] = [];
    for (let tick = 1; tick < 2 * 10 && votes.length === 0; tick++) {
      h.core.tick();
      votes = h.drain().messages;
    }
    expect(votes.map((m) => m.to)).toEqual(['n2', 'n3']);
    for (const m of votes) {
      expect(m).toMatchObject({ type: 'vote', term: wantTerm, lastLogIndex: terms.length, lastLogTerm: terms.at(-1) });
    }
  });

  it.each([
    // win with votes from a majority
    { size: 1, votes: {}, role: 'leader' },
    { size: 3, votes: { n2: true, n3: true }, role: 'leader' },
    { size: 3, votes: { n2: true }, role: 'leader' },
    { size: 5, votes: { n2: true, n3: true, n4: true, n5: true }, role: 'leader' },
    { size: 5, votes: { n2: true, n3: true, n4: true }, role: 'leader' },
    { size: 5, votes: { n2: true, n3: true }, role: 'leader' },
    // back to follower once a majority refused
    { size: 3, votes: { n2: false, n3: false }, role: 'follower' },
    { size: 5, votes: { n2: false, n3: false, n4: false, n5: false }, role: 'follower' },
    { size: 5, votes: { n2: true, n3: false, n4: false, n5: false }, role: 'follower' },
    // still a candidate without a majority either way
    { size: 3, votes: {}, role: 'candidate' },
    { size: 5, votes: { n2: true }, role: 'candidate' },
    { size: 5, votes: { n2: false, n3: false }, role: 'candidate' },
    { size: 5, votes: {}, role: 'candidate' },
  ])('§5.2 one round of vote requests in a $size-node cluster with votes $votes ends with a $role of term 1', ({ size, votes, role }) => {
    const h = harness('n1', idsOf(size), noPreVote);
    h.core.campaign();
    h.drain();
    for (const [from, granted] of Object.entries(votes)) {
      h.core.step({ type: 'vote-response', from, to: 'n1', term: 1, reject: !granted });
    }
    expect(h.core.status()).toMatchObject({ role, term: 1 });
  });
});

describe('elections across cluster sizes (etcd-io/raft TestLeaderElection)', () => {
  // `silent` nodes drop every message (etcd's nopStepper): only the others answer.
  const cases = [
    { size: 3, silent: [], role: 'leader' },
    { size: 3, silent: ['n3'], role: 'leader' },
    { size: 3, silent: ['n2', 'n3'], role: 'candidate' },
    { size: 4, silent: ['n2', 'n3'], role: 'candidate' },
    { size: 5, silent: ['n2', 'n3'], role: 'leader' },
    { size: 5, silent: ['n4', 'n5'], role: 'leader' },
    { size: 7, silent: ['n2', 'n3', 'n4'], role: 'leader' },
    { size: 7, silent: ['n2', 'n3', 'n4', 'n5'], role: 'candidate' },
  ] as const;

  for (const preVote of [false, true]) {
    it.each(cases)(
      `${preVote ? 'with' : 'without'} PreVote, $size nodes, silent $silent: n1 ends as $role`,
      ({ size, silent, role }) => {
        const net = new Network(idsOf(size), { config: { preVote, checkQuorum: false } });
        for (const id of silent) net.isolate(id);
        net.elect('n1');
        // A PreVote that fails leaves a pre-candidate that never bumped its term.
        const expected = role === 'candidate' && preVote ? { role: 'pre-candidate', term: 0 } : { role, term: 1 };
        expect(net.core('n1').status()).toMatchObject(expected);
      },
    );
  }

  it.each([false, true])('a candidate whose log is behind a majority of the same term is refused (PreVote %s)', (preVote) => {
    // n2, n3 and n4 hold entries of term 1 that n1 lacks: it cannot win.
    const logs: Record<string, number[]> = { n1: [], n2: [1], n3: [1], n4: [1, 1], n5: [] };
    const net = new Network(idsOf(5), {
      config: { preVote, checkQuorum: false },
      storageFor: (id) => storageWithTerms(logs[id]!, { term: 1 }),
    });
    net.elect('n1');
    expect(net.core('n1').status().role).toBe('follower');
    expect(net.leaders()).toEqual([]);
  });
});

describe('the commit rule across cluster sizes (etcd-io/raft TestCommit)', () => {
  /**
   * n1 leads term `leaderTerm`, elected over a log of `terms` (its no-op of
   * `leaderTerm` follows them), and followers n2… acknowledge `acks`. The
   * leader commits the highest index a majority holds, only when that entry
   * is of its own term (§5.4.2).
   */
  function commitAfterAcks(terms: readonly number[], leaderTerm: number, acks: readonly number[]): number {
    const size = acks.length + 1;
    const h = harness('n1', idsOf(size), noPreVote, storageWithTerms(terms, { term: leaderTerm - 1 }));
    h.core.campaign();
    h.drain();
    for (let i = 0; i < acks.length; i++) {
      h.core.step({ type: 'vote-response', from: `n${i + 2}`, to: 'n1', term: leaderTerm, reject: false });
    }
    h.drain();
    expect(h.core.status()).toMatchObject({ role: 'leader', term: leaderTerm });
    for (let i = 0; i < acks.length; i++) {
      const index = acks[i]!;
      h.core.step({ type: 'append-response', from: `n${i + 2}`, to: 'n1', term: leaderTerm, reject: false, index, rejectHint: 0, logTerm: 0 });
      h.drain();
    }
    return h.core.status().commit;
  }

  // The leader's log is [terms..., no-op of leaderTerm]; the no-op's index is terms.length + 1.
  it.each([
    // single node: its own no-op commits at once
    { terms: [1], leaderTerm: 2, acks: [], want: 2 },
    { terms: [1, 2], leaderTerm: 3, acks: [], want: 3 },
    // odd sizes
    { terms: [1, 2], leaderTerm: 3, acks: [2, 2], want: 0 }, // older entries on all: not by counting
    { terms: [1, 2], leaderTerm: 3, acks: [3, 0], want: 3 },
    { terms: [1, 1], leaderTerm: 2, acks: [0, 0], want: 0 },
    { terms: [1, 2], leaderTerm: 3, acks: [3, 2, 2, 2], want: 0 },
    { terms: [1, 2], leaderTerm: 3, acks: [3, 3, 1, 0], want: 3 },
    { terms: [1], leaderTerm: 4, acks: [2, 2, 2, 2, 1, 1], want: 2 },
    { terms: [1], leaderTerm: 4, acks: [2, 2, 1, 1, 1, 1], want: 0 },
    // even sizes: a majority of 4 is 3
    { terms: [1, 2], leaderTerm: 3, acks: [3, 0, 0], want: 0 },
    { terms: [1, 2], leaderTerm: 3, acks: [3, 3, 0], want: 3 },
    { terms: [1, 1], leaderTerm: 2, acks: [2, 2, 2], want: 0 },
    { terms: [1, 1], leaderTerm: 2, acks: [3, 1, 3], want: 3 },
    { terms: [], leaderTerm: 1, acks: [1, 1, 0, 0, 0], want: 0 },
    { terms: [], leaderTerm: 1, acks: [1, 1, 1, 0, 0], want: 1 },
  ])('$acks.length followers acknowledging $acks of [$terms, no-op of term $leaderTerm]: commit $want', ({ terms, leaderTerm, acks, want }) => {
    expect(commitAfterAcks(terms, leaderTerm, acks)).toBe(want);
  });
});
