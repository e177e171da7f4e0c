import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError } from '../../src/errors/errors.js';
import {
  decodeProposal,
  encodeProposal,
  readProposalLayout,
  sameOrigin,
  sameOriginAt,
  type ProposalFrameLayout,
} from '../../src/raft/proposal-frame.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('proposal frames', () => {
  it('round-trips origin, sequence and command', () => {
    const command = new Uint8Array([9, 8, 7]);
    for (const sequence of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      const frame = decodeProposal(encodeProposal(bytes('n1/abc'), sequence, command));
      expect(frame.sequence).toBe(sequence);
      expect(sameOrigin(frame.origin, bytes('n1/abc'))).toBe(true);
      expect([...frame.command]).toEqual([9, 8, 7]);
    }
  });

  it('tells origins apart', () => {
    const frame = decodeProposal(encodeProposal(bytes('n1/abc'), 5, new Uint8Array(0)));
    expect(sameOrigin(frame.origin, bytes('n2/abc'))).toBe(false);
    expect(sameOrigin(frame.origin, bytes('n1/ab'))).toBe(false);
    expect(frame.command.length).toBe(0);
  });

  it('reads version 1 frames (string ids) as belonging to no origin', () => {
    const id = bytes('n1/xyz/42');
    const v1 = new Uint8Array([1, 0, id.length, ...id, 4, 5]);
    const frame = decodeProposal(v1);
    expect(frame.origin.length).toBe(0);
    expect([...frame.command]).toEqual([4, 5]);
  });

  it('rejects malformed frames', () => {
    expect(() => decodeProposal(new Uint8Array([]))).toThrow(CorruptionError);
    expect(() => decodeProposal(new Uint8Array([3, 0, 0, 0]))).toThrow(CorruptionError);
    expect(() => decodeProposal(new Uint8Array([2, 0, 4, 1, 2]))).toThrow(CorruptionError);
    expect(() => decodeProposal(new Uint8Array([1, 0, 9, 1]))).toThrow(CorruptionError);
  });

  it('refuses sequences that are not safe non-negative integers', () => {
    expect(() => encodeProposal(bytes('n1'), -1, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeProposal(bytes('n1'), 1.5, new Uint8Array(0))).toThrow(RangeError);
  });

  it('reads the layout of a frame in place, as offsets into its bytes', () => {
    const data = encodeProposal(bytes('n1/abc'), 2 ** 33 + 5, new Uint8Array([9, 8, 7]));
    const layout: ProposalFrameLayout = { originStart: -1, originEnd: -1, sequence: -1, commandStart: -1 };
    readProposalLayout(data, layout);
    expect(layout.sequence).toBe(2 ** 33 + 5);
    expect(sameOriginAt(data, layout.originStart, layout.originEnd, bytes('n1/abc'))).toBe(true);
    expect(sameOriginAt(data, layout.originStart, layout.originEnd, bytes('n1/abd'))).toBe(false);
    expect([...data.subarray(layout.commandStart)]).toEqual([9, 8, 7]);

    const id = bytes('n1/xyz/42');
    readProposalLayout(new Uint8Array([1, 0, id.length, ...id, 4, 5]), layout);
    expect(layout.originEnd - layout.originStart).toBe(0);
    expect(layout.commandStart).toBe(3 + id.length);
    expect(() => readProposalLayout(new Uint8Array([2, 0, 4, 1, 2]), layout)).toThrow(CorruptionError);
  });
});

describe('proposal frame allocation (issue 11, item 3)', () => {
  // Before the fix, a command without a numeric length (a plain object) made
  // the shared block's fill level NaN: every later frame, of every node in
  // the process, came out empty.
  it('refuses a command that is not a Uint8Array and leaves the shared block usable', () => {
    const origin = bytes('n1/abc');
    for (const bad of [{}, 42, 'hello', [1, 2, 3], new ArrayBuffer(4), null, undefined]) {
      expect(() => encodeProposal(origin, 1, bad as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    }
    const frame = decodeProposal(encodeProposal(origin, 2, new Uint8Array([4, 5, 6])));
    expect(frame.sequence).toBe(2);
    expect([...frame.command]).toEqual([4, 5, 6]);
  });
});
