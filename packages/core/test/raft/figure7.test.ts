import { describe, expect, it } from 'vitest';
import { Network, storageWithTerms } from './network.js';

// Raft paper, Figure 7: when a leader of term 8 comes to power, its
// followers' logs may be missing entries (a, b), have extra uncommitted
// entries (c, d), or both (e, f). Whatever the follower holds, §5.3 says the
// leader's consistency check and backtracking bring it in line with its own.
const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
const followerLogs: Record<string, number[]> = {
  a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
  b: [1, 1, 1, 4],
  c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
  d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
  e: [1, 1, 1, 4, 4, 4, 4],
  f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
};

describe('§5.3 Figure 7: the leader brings every follower log in line with its own', () => {
  it.each(Object.entries(followerLogs))('follower (%s)', (_name, followerTerms) => {
    // The leader L and a voter V hold the leader's log; F holds the Figure 7 log.
    const net = new Network(['L', 'V', 'F'], {
      config: { preVote: false, checkQuorum: false },
      storageFor: (id) =>
        id === 'F'
          ? storageWithTerms(followerTerms, { term: Math.max(...followerTerms) })
          : storageWithTerms(leaderLog, { term: 7 }),
    });
    net.elect('L');
    expect(net.leaders()).toEqual(['L']);
    expect(net.core('L').status().term).toBe(8);
    net.stabilize();
    net.tickAll(3);
    net.stabilize();
    // The leader's log plus its no-op of term 8, everywhere.
    const expected = [...leaderLog, 8];
    expect(net.logTerms('L')).toEqual(expected);
    expect(net.logTerms('F')).toEqual(expected);
    expect(net.core('F').status().commit).toBe(expected.length);
  });
});
