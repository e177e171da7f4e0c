import { CorruptionError, type Entry, type RaftMessage } from '@synod/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRaftMessage, encodeRaftMessage } from '../src/codec/raft-codec.js';
import { RaftMessage as WireRaftMessage } from '../src/gen/synod/peer/v1/raft.js';

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.string({ minLength: 1, maxLength: 8 });
const entry: fc.Arbitrary<Entry> = fc.record({
  term: u53,
  index: u53,
  type: fc.constantFrom('normal' as const, 'conf-change' as const),
  data: fc.uint8Array({ maxLength: 64 }),
});
const head = { from: id, to: id, term: u53 };
const confState = fc.record({
  voters: fc.array(id, { maxLength: 5 }),
  learners: fc.array(id, { maxLength: 3 }),
  votersOutgoing: fc.array(id, { maxLength: 5 }),
  autoLeave: fc.boolean(),
});

const raftMessage: fc.Arbitrary<RaftMessage> = fc.oneof(
  fc.record({
    ...head,
    type: fc.constantFrom('vote' as const, 'prevote' as const),
    lastLogIndex: u53,
    lastLogTerm: u53,
    leadershipTransfer: fc.boolean(),
  }),
  fc.record({ ...head, type: fc.constantFrom('vote-response' as const, 'prevote-response' as const), reject: fc.boolean() }),
  fc.record({
    ...head,
    type: fc.constant('append' as const),
    prevLogIndex: u53,
    prevLogTerm: u53,
    entries: fc.array(entry, { maxLength: 4 }),
    commit: u53,
  }),
  fc.record({
    ...head,
    type: fc.constant('append-response' as const),
    reject: fc.boolean(),
    index: u53,
    rejectHint: u53,
    logTerm: u53,
  }),
  fc.record({ ...head, type: fc.constant('heartbeat' as const), commit: u53, context: fc.string() }),
  fc.record({ ...head, type: fc.constant('heartbeat-response' as const), context: fc.string() }),
  fc.record({ ...head, type: fc.constant('timeout-now' as const) }),
  fc.record({
    ...head,
    type: fc.constant('read-index' as const),
    context: fc.string(),
    mode: fc.constantFrom('safe' as const, 'lease' as const),
  }),
  fc.record({
    ...head,
    type: fc.constant('read-index-response' as const),
    context: fc.string(),
    index: u53,
    reject: fc.boolean(),
  }),
  fc.record({ ...head, type: fc.constant('propose' as const), entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({
    ...head,
    type: fc.constant('snapshot' as const),
    snapshot: fc.record({
      metadata: fc.record({ index: u53, term: u53, confState }),
      data: fc.uint8Array({ maxLength: 128 }),
    }),
    offset: u53,
    totalBytes: u53,
  }),
  fc.record({
    ...head,
    type: fc.constant('snapshot-response' as const),
    index: u53,
    offset: u53,
    reject: fc.boolean(),
  }),
);

describe('raft codec', () => {
  it('round-trips every message type exactly', () => {
    fc.assert(
      fc.property(raftMessage, (message) => {
        expect(decodeRaftMessage(encodeRaftMessage(message))).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it('decoded entries do not alias the input buffer', () => {
    const message: RaftMessage = {
      type: 'propose',
      from: 'a',
      to: 'b',
      term: 0,
      entries: [{ term: 1, index: 2, type: 'normal', data: new Uint8Array([1, 2, 3]) }],
    };
    const bytes = encodeRaftMessage(message);
    const decoded = decodeRaftMessage(bytes);
    bytes.fill(0);
    expect(decoded).toEqual(message);
  });

  it('rejects garbage with a CorruptionError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          decodeRaftMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
    );
    expect(() => decodeRaftMessage(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(CorruptionError);
  });

  it('rejects a message without a body', () => {
    const bytes = WireRaftMessage.encode({ from: 'a', to: 'b', term: 1n, body: undefined }).finish();
    expect(() => decodeRaftMessage(bytes)).toThrow(CorruptionError);
  });

  it('refuses uint64 values that do not fit a JavaScript number exactly', () => {
    const bytes = WireRaftMessage.encode({
      from: 'a',
      to: 'b',
      term: 2n ** 60n,
      body: { $case: 'timeoutNow', value: {} },
    }).finish();
    expect(() => decodeRaftMessage(bytes)).toThrow(/exceeds the largest exact integer/);
  });
});
