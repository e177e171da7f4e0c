import { MemoryStorage, type Entry } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { RaftInvariants } from '../../src/simulator/invariants.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: bytes(data) });

function storageWith(entries: Entry[], term = entries.at(-1)?.term ?? 0): MemoryStorage {
  const storage = new MemoryStorage();
  storage.append(entries);
  storage.setHardState({ term, vote: undefined, commit: 0 });
  return storage;
}

describe('RaftInvariants', () => {
  it('flags a leader that advances its commit index to an entry of an older term (§5.4.2, Figure 8)', () => {
    const inv = new RaftInvariants(() => 0);
    const log = storageWith([entry(1, 1), entry(2, 2), entry(3, 4)], 4);
    inv.observe('a', 'leader', 4, 1, log); // the commit index it had as a follower is the baseline
    inv.observe('a', 'leader', 4, 2, log);
    expect(inv.violations.map((v) => v.invariant)).toEqual(['leader-commit-rule']);
  });

  it('accepts older entries committed below an entry of the leader\'s term, and reports the highest commit', () => {
    const inv = new RaftInvariants(() => 0);
    const log = storageWith([entry(1, 1), entry(2, 2), entry(3, 4)], 4);
    inv.observe('a', 'leader', 4, 1, log);
    inv.observe('a', 'leader', 4, 3, log);
    expect(inv.violations).toEqual([]);
    expect(inv.highestCommit).toBe(3);
  });

  it('flags two leaders in one term (Election Safety)', () => {
    const inv = new RaftInvariants(() => 0);
    inv.observe('a', 'leader', 3, 0, storageWith([]));
    inv.observe('b', 'leader', 3, 0, storageWith([]));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['election-safety']);
  });

  it('flags the same index and term written with different data (Log Matching)', () => {
    const inv = new RaftInvariants(() => 0);
    inv.onAppend('a', [entry(1, 1, 'x')], storageWith([]));
    inv.onAppend('b', [entry(1, 1, 'y')], storageWith([]));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['log-matching']);
  });

  it('flags an entry whose predecessor term differs between logs (Log Matching)', () => {
    const inv = new RaftInvariants(() => 0);
    inv.onAppend('a', [entry(1, 1), entry(2, 3, 'same')], storageWith([]));
    inv.onAppend('b', [entry(1, 2), entry(2, 3, 'same')], storageWith([]));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['log-matching']);
  });

  it('flags a new leader missing an entry committed in an earlier term (Leader Completeness)', () => {
    const inv = new RaftInvariants(() => 0);
    inv.observe('a', 'follower', 2, 2, storageWith([entry(1, 1), entry(2, 2)]));
    inv.observe('b', 'leader', 3, 0, storageWith([entry(1, 1)], 3));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['leader-completeness']);
  });

  it('accepts a leader of a lower term elected late without the higher term’s commits', () => {
    const inv = new RaftInvariants(() => 0);
    inv.observe('a', 'follower', 7, 2, storageWith([entry(1, 1), entry(2, 7)]));
    inv.observe('b', 'leader', 5, 0, storageWith([entry(1, 1)], 5));
    expect(inv.violations).toEqual([]);
  });

  it('flags different entries committed at one index, and a falling commit index', () => {
    const inv = new RaftInvariants(() => 0);
    inv.observe('a', 'follower', 1, 1, storageWith([entry(1, 1, 'x')]));
    inv.observe('b', 'follower', 1, 1, storageWith([entry(1, 1, 'y')]));
    inv.observe('a', 'follower', 1, 0, storageWith([entry(1, 1, 'x')]));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['state-machine-safety', 'commit-monotonic']);
  });

  it('flags a commit index beyond the stored log (committed entries lost), instead of throwing', () => {
    const inv = new RaftInvariants(() => 0);
    inv.observe('a', 'follower', 1, 3, storageWith([entry(1, 1)]));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['log-durability']);
    expect(inv.violations[0]!.message).toBe('a has commit index 3 but its stored log ends at 1');
  });

  it('flags nodes applying different commands at an index, or going backwards (State Machine Safety)', () => {
    const inv = new RaftInvariants(() => 0);
    inv.onApply('a', 1, bytes('x'));
    inv.onApply('b', 1, bytes('y'));
    inv.onApply('a', 1, bytes('x'));
    expect(inv.violations.map((v) => v.invariant)).toEqual(['state-machine-safety', 'state-machine-safety']);
  });

  it('lets a restarted node apply from the start again', () => {
    const inv = new RaftInvariants(() => 0);
    inv.onApply('a', 1, bytes('x'));
    inv.onRestart('a');
    inv.onApply('a', 1, bytes('x'));
    expect(inv.violations).toEqual([]);
  });
});
