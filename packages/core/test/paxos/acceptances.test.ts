import { describe, expect, it } from 'vitest';
import { Acceptances } from '../../src/paxos/acceptances.js';

const voters = ['n1', 'n2', 'n3'];

describe('Acceptances', () => {
  it('counts runs of slots as one match per acceptor', () => {
    const acceptances = new Acceptances();
    for (let slot = 1; slot <= 5; slot++) acceptances.add('n1', slot, 0);
    for (let slot = 1; slot <= 3; slot++) acceptances.add('n2', slot, 0);
    expect(acceptances.quorumMatch(voters, 2, 0)).toBe(3);
    expect(acceptances.quorumMatch(voters, 1, 0)).toBe(5);
    expect(acceptances.quorumMatch(voters, 3, 0)).toBe(0);
    expect(acceptances.count(voters, 3)).toBe(2);
    expect(acceptances.count(voters, 4)).toBe(1);
  });

  it('counts a repeated acceptance once', () => {
    const acceptances = new Acceptances();
    acceptances.add('n1', 1, 0);
    acceptances.add('n1', 1, 0);
    expect(acceptances.count(voters, 1)).toBe(1);
    expect(acceptances.quorumMatch(voters, 2, 0)).toBe(0);
  });

  it('keeps a slot past a gap aside until the gap closes', () => {
    const acceptances = new Acceptances();
    expect(acceptances.add('n2', 3, 0)).toBe(true);
    expect(acceptances.has('n2', 3)).toBe(true);
    expect(acceptances.has('n2', 2)).toBe(false);
    expect(acceptances.quorumMatch(['n2'], 1, 0)).toBe(0);
    acceptances.add('n2', 1, 0);
    expect(acceptances.add('n2', 2, 0)).toBe(false);
    expect(acceptances.quorumMatch(['n2'], 1, 0)).toBe(3);
  });

  it('treats slots up to the chosen prefix as needing no acceptance', () => {
    const acceptances = new Acceptances();
    acceptances.add('n1', 1, 0);
    // Slots 2..10 were chosen meanwhile (learned from elsewhere): slot 11 continues the run.
    expect(acceptances.add('n1', 11, 10)).toBe(false);
    expect(acceptances.quorumMatch(['n1'], 1, 10)).toBe(11);
    expect(acceptances.quorumMatch(voters, 2, 10)).toBe(10);
  });

  it('counts only the voters asked about, and forgets everything on clear', () => {
    const acceptances = new Acceptances();
    acceptances.add('n4', 1, 0);
    acceptances.add('n1', 1, 0);
    expect(acceptances.count(voters, 1)).toBe(1);
    expect(acceptances.quorumMatch(voters, 2, 0)).toBe(0);
    acceptances.clear();
    expect(acceptances.has('n1', 1)).toBe(false);
  });

  it('records a run that continues an acceptor\'s match at once, and refuses one past a gap', () => {
    const acceptances = new Acceptances();
    expect(acceptances.addRun('n1', 1, 100, 0)).toBe(true);
    expect(acceptances.addRun('n1', 50, 150, 0)).toBe(true); // overlapping: a retransmission and more
    expect(acceptances.addRun('n2', 5, 10, 0)).toBe(false); // past a gap: nothing recorded
    expect(acceptances.has('n2', 5)).toBe(false);
    expect(acceptances.addRun('n2', 1, 120, 0)).toBe(true);
    expect(acceptances.quorumMatch(voters, 2, 0)).toBe(120);
    expect(acceptances.quorumMatch(voters, 1, 0)).toBe(150);
    expect(acceptances.addRun('n3', 201, 210, 200)).toBe(true); // slots up to 200 are chosen
    expect(acceptances.quorumMatch(voters, 3, 200)).toBe(200);
  });
});
