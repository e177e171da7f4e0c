import { describe, expect, it } from 'vitest';
import { MemberContexts } from '../../src/raft/member-contexts.js';
import { CorruptionError } from '../../src/errors/errors.js';
import { AppliedProposals } from '../../src/raft/applied-proposals.js';
import { decodeNodeSnapshot, encodeNodeSnapshot } from '../../src/raft/node-snapshot.js';

const origin = (text: string) => new TextEncoder().encode(text);

describe('AppliedProposals', () => {
  it('admits each proposal of an origin once, in sequence order', () => {
    const applied = new AppliedProposals();
    expect(applied.admit(origin('n1/a'), 1, 10)).toBe(true);
    expect(applied.admit(origin('n1/a'), 1, 11)).toBe(false); // the duplicate
    expect(applied.admit(origin('n1/a'), 3, 12)).toBe(true); // gaps are fine (reads use numbers too)
    expect(applied.admit(origin('n1/a'), 2, 13)).toBe(false); // overtaken: skipped, on every replica
    expect(applied.admit(origin('n2/b'), 1, 14)).toBe(true); // origins are independent
    expect(applied.size).toBe(2);
  });

  it('compares origins by bytes, not by the array that carries them', () => {
    const applied = new AppliedProposals();
    const bytes = origin('n1/a');
    expect(applied.admit(bytes, 5, 1)).toBe(true);
    bytes[0] = 0x78; // the caller reuses its buffer
    expect(applied.admit(origin('n1/a'), 5, 2)).toBe(false);
  });

  it('decides the same for an origin read in place from a larger buffer', () => {
    const applied = new AppliedProposals();
    const frame = new Uint8Array([0, ...origin('n1/a'), 0]);
    expect(applied.admitAt(frame, 1, 5, 4, 1)).toBe(true);
    expect(applied.admit(origin('n1/a'), 4, 2)).toBe(false);
    expect(applied.admitAt(frame, 1, 5, 5, 3)).toBe(true);
    frame[1] = 0x78; // the record keeps its own copy of the origin
    expect(applied.admit(origin('n1/a'), 5, 4)).toBe(false);
    expect(applied.admitAt(frame, 1, 5, 1, 5)).toBe(true); // 'x1/a' is another origin
    expect(applied.size).toBe(2);
  });

  it('forgets the origin that has been quiet longest beyond its limit', () => {
    const applied = new AppliedProposals(2);
    applied.admit(origin('a'), 1, 1);
    applied.admit(origin('b'), 1, 2);
    applied.admit(origin('a'), 2, 3);
    applied.admit(origin('c'), 1, 4); // evicts b (last applied at index 2)
    expect(applied.size).toBe(2);
    expect(applied.admit(origin('a'), 2, 5)).toBe(false);
    expect(applied.admit(origin('b'), 1, 6)).toBe(true); // forgotten, so admitted again
  });

  it('restores from its encoding to a table that decides the same way', () => {
    const applied = new AppliedProposals();
    applied.admit(origin('n1/a'), 2 ** 40 + 7, 3);
    applied.admit(origin('n2/b'), 4, 2 ** 33);
    const copy = new AppliedProposals();
    copy.admit(origin('stale'), 1, 1);
    copy.restore(applied.encode());
    expect(copy.size).toBe(2);
    expect(copy.admit(origin('n1/a'), 2 ** 40 + 7, 9)).toBe(false);
    expect(copy.admit(origin('n1/a'), 2 ** 40 + 8, 9)).toBe(true);
    expect(copy.admit(origin('n2/b'), 4, 10)).toBe(false);
    expect(copy.admit(origin('stale'), 1, 11)).toBe(true);
  });

  it('rejects a damaged encoding with CorruptionError and keeps its table', () => {
    const applied = new AppliedProposals();
    applied.admit(origin('n1/a'), 1, 1);
    const bytes = applied.encode();
    const table = new AppliedProposals();
    table.admit(origin('kept'), 1, 1);
    expect(() => table.restore(bytes.subarray(0, bytes.length - 1))).toThrow(CorruptionError);
    expect(() => table.restore(new Uint8Array([...bytes, 0]))).toThrow(CorruptionError);
    expect(table.admit(origin('kept'), 1, 2)).toBe(false);
  });
});

describe('RaftNode snapshot framing', () => {
  it('splits what it joined', () => {
    const parts = { appliedProposals: new Uint8Array([1, 2, 3]), stateMachine: new Uint8Array([9, 8]) };
    const decoded = decodeNodeSnapshot(encodeNodeSnapshot(parts));
    expect([...decoded.appliedProposals]).toEqual([1, 2, 3]);
    expect([...decoded.stateMachine]).toEqual([9, 8]);
  });

  it('refuses data it did not write, a newer version, and a truncated frame', () => {
    expect(() => decodeNodeSnapshot(new TextEncoder().encode('{"kv":[]}'))).toThrow(/not written by RaftNode/);
    const framed = encodeNodeSnapshot({ appliedProposals: new Uint8Array(8), stateMachine: new Uint8Array() });
    const newer = framed.slice();
    newer[4] = 3;
    expect(() => decodeNodeSnapshot(newer)).toThrow(/version 3/);
    expect(() => decodeNodeSnapshot(framed.subarray(0, 12))).toThrow(CorruptionError);
    const withContexts = encodeNodeSnapshot({ appliedProposals: new Uint8Array(8), memberContexts: new Uint8Array(6), stateMachine: new Uint8Array(2) });
    expect(() => decodeNodeSnapshot(withContexts.subarray(0, 19))).toThrow(CorruptionError);
  });

  it('writes version 1 without member contexts (what earlier releases read) and version 2 with them', () => {
    const plain = encodeNodeSnapshot({ appliedProposals: new Uint8Array([1]), memberContexts: new Uint8Array(0), stateMachine: new Uint8Array([7]) });
    expect(plain[4]).toBe(1);
    expect(decodeNodeSnapshot(plain).memberContexts).toBeUndefined();
    const contexts = new MemberContexts();
    contexts.apply([{ type: 'add-voter', node: 'n4', context: new TextEncoder().encode('10.0.0.4:7000') }], {
      voters: ['n1', 'n4'],
      learners: [],
      votersOutgoing: [],
      autoLeave: false,
    });
    const framed = encodeNodeSnapshot({ appliedProposals: new Uint8Array([1]), memberContexts: contexts.encode(), stateMachine: new Uint8Array([7]) });
    expect(framed[4]).toBe(2);
    const decoded = decodeNodeSnapshot(framed);
    expect([...decoded.stateMachine]).toEqual([7]);
    const restored = new MemberContexts();
    restored.restore(decoded.memberContexts);
    expect(new TextDecoder().decode(restored.get('n4'))).toBe('10.0.0.4:7000');
    expect(() => restored.restore(decoded.memberContexts!.subarray(0, 5))).toThrow(CorruptionError);
  });
});
