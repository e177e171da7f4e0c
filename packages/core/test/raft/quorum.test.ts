import { describe, expect, it } from 'vitest';
import { jointValue, jointVoteResult, majorityValue, majorityVoteResult } from '../../src/raft/quorum.js';

const set = (...ids: string[]): ReadonlySet<string> => new Set(ids);
const votes = (entries: Record<string, boolean>): ReadonlyMap<string, boolean> => new Map(Object.entries(entries));

describe('quorum arithmetic', () => {
  it('§5.3 the committed index is the highest index held by a majority', () => {
    const match: Record<string, number> = { a: 5, b: 3, c: 1 };
    expect(majorityValue(set('a', 'b', 'c'), (id) => match[id])).toBe(3);
    expect(majorityValue(set('a', 'b', 'c', 'd'), (id) => match[id])).toBe(1); // d unknown = 0
    expect(majorityValue(set('a'), (id) => match[id])).toBe(5);
  });

  it('an empty majority config never constrains a joint result', () => {
    expect(majorityValue(set(), () => 1)).toBe(Infinity);
    expect(jointValue({ incoming: set('a', 'b', 'c'), outgoing: set() }, () => 4)).toBe(4);
    expect(jointValue({ incoming: set(), outgoing: set() }, () => 4)).toBe(0);
  });

  it('thesis §4.3 a joint config commits only what a majority of both halves holds', () => {
    const match: Record<string, number> = { a: 9, b: 9, c: 2, d: 2, e: 2 };
    const joint = { incoming: set('a', 'b', 'c'), outgoing: set('c', 'd', 'e') };
    expect(jointValue(joint, (id) => match[id])).toBe(2);
    match['d'] = 9;
    match['e'] = 9;
    expect(jointValue(joint, (id) => match[id])).toBe(9);
  });

  it('§5.2 an election is won with a majority, lost once a majority refused, pending otherwise', () => {
    const voters = set('a', 'b', 'c', 'd', 'e');
    expect(majorityVoteResult(voters, votes({ a: true, b: true }))).toBe('pending');
    expect(majorityVoteResult(voters, votes({ a: true, b: true, c: true }))).toBe('won');
    expect(majorityVoteResult(voters, votes({ a: true, b: false, c: false }))).toBe('pending');
    expect(majorityVoteResult(voters, votes({ a: true, b: false, c: false, d: false }))).toBe('lost');
    // Votes from non-voters do not count.
    expect(majorityVoteResult(set('a', 'b', 'c'), votes({ a: true, x: true, y: true }))).toBe('pending');
  });

  it('thesis §4.3 a joint election needs both halves and is lost if either half is lost', () => {
    const joint = { incoming: set('a', 'b', 'c'), outgoing: set('d', 'e', 'f') };
    expect(jointVoteResult(joint, votes({ a: true, b: true }))).toBe('pending');
    expect(jointVoteResult(joint, votes({ a: true, b: true, d: true, e: true }))).toBe('won');
    expect(jointVoteResult(joint, votes({ a: true, b: true, d: false, e: false }))).toBe('lost');
    expect(jointVoteResult({ incoming: set('a'), outgoing: set() }, votes({ a: true }))).toBe('won');
  });
});
