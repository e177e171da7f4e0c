import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/raft/progress.js';

const make = (next: number, match = 0): Progress =>
  new Progress({ next, match, maxInflight: 2, maxInflightBytes: 0, isLearner: false });

describe('Progress', () => {
  it('in probe, one append is outstanding at a time until an answer arrives', () => {
    const pr = make(5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(3, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5); // probe does not move next optimistically
    expect(pr.maybeUpdate(7)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    expect(pr.next).toBe(8);
  });

  it('in replicate, next advances on send and the in-flight window pauses sending', () => {
    const pr = make(1);
    pr.becomeReplicate();
    pr.sentEntries(2, 10);
    expect(pr.next).toBe(3);
    pr.sentEntries(2, 10);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(2);
    pr.inflights.freeLE(2);
    expect(pr.isPaused()).toBe(false);
  });

  it('a rejection in probe moves next to the hint, never below match+1, and stale rejections are ignored', () => {
    const pr = make(10, 2);
    pr.sentEntries(1, 0);
    expect(pr.maybeDecrTo(5, 4)).toBe(false); // not the outstanding probe (9)
    expect(pr.maybeDecrTo(9, 4)).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(1, 0);
    expect(pr.maybeDecrTo(4, 0)).toBe(true);
    expect(pr.next).toBe(3); // match + 1
  });

  it('a rejection in replicate restarts from match+1 unless it is about an acknowledged index', () => {
    const pr = make(1, 4);
    pr.becomeReplicate();
    pr.sentEntries(3, 0);
    expect(pr.maybeDecrTo(3, 0)).toBe(false);
    expect(pr.maybeDecrTo(6, 0)).toBe(true);
    expect(pr.next).toBe(5);
  });

  it('snapshot pauses everything until it is acknowledged; probing resumes after the snapshot', () => {
    const pr = make(3);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});
