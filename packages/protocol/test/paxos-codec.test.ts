import { CorruptionError, type PaxosMessage } from '@synod/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelopeCodec } from '../src/codec/envelope-codec.js';
import { decodePaxosMessage, encodePaxosMessage } from '../src/codec/paxos-codec.js';
import { PaxosMessage as WirePaxosMessage } from '../src/gen/synod/peer/v1/paxos.js';

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.string({ minLength: 1, maxLength: 8 });
const ballot = fc.record({ round: u53, node: fc.string({ maxLength: 8 }) });
const type = fc.constantFrom('normal' as const, 'conf-change' as const);
const value = fc.record({ slot: u53, type, data: fc.uint8Array({ maxLength: 64 }) });
const accepted = fc.record({ slot: u53, type, data: fc.uint8Array({ maxLength: 64 }), ballot });
const head = { from: id, to: id, ballot };

const paxosMessage: fc.Arbitrary<PaxosMessage> = fc.oneof(
  fc.record({ ...head, type: fc.constant('prepare' as const), fromSlot: u53 }),
  fc.record({
    ...head,
    type: fc.constant('promise' as const),
    fromSlot: u53,
    accepted: fc.array(accepted, { maxLength: 4 }),
    commit: u53,
    compactedTo: u53,
  }),
  fc.record({ ...head, type: fc.constant('accept' as const), entries: fc.array(value, { maxLength: 4 }), commit: u53 }),
  fc.record({ ...head, type: fc.constant('accepted' as const), slots: fc.array(u53, { maxLength: 6 }), commit: u53 }),
  fc.record({ ...head, type: fc.constant('reject' as const) }),
  fc.record({ ...head, type: fc.constant('catch-up' as const), fromSlot: u53 }),
  fc.record({ ...head, type: fc.constant('learn' as const), entries: fc.array(accepted, { maxLength: 4 }), commit: u53 }),
  fc.record({
    ...head,
    type: fc.constant('snapshot' as const),
    snapshot: fc.record({
      metadata: fc.record({
        index: u53,
        term: u53,
        confState: fc.record({
          voters: fc.array(id, { maxLength: 5 }),
          learners: fc.array(id, { maxLength: 3 }),
          votersOutgoing: fc.array(id, { maxLength: 5 }),
          autoLeave: fc.boolean(),
        }),
      }),
      data: fc.uint8Array({ maxLength: 128 }),
    }),
  }),
);

describe('paxos codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(paxosMessage, (message) => {
        expect(decodePaxosMessage(encodePaxosMessage(message))).toEqual(message);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips through the envelope codec by default', () => {
    const codec = createEnvelopeCodec();
    fc.assert(
      fc.property(paxosMessage, (message) => {
        const envelope = { clusterId: 'c', from: message.from, to: message.to, protocol: 'paxos', payload: message };
        expect(codec.decode(codec.encode(envelope))).toEqual(envelope);
      }),
      { numRuns: 200 },
    );
  });

  it('never crashes on arbitrary bytes: a message or a CorruptionError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodePaxosMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a message without a ballot or a body, and integers beyond 2^53', () => {
    const noBallot = WirePaxosMessage.encode({ from: 'a', to: 'b', ballot: undefined, body: { $case: 'reject', value: {} } }).finish();
    expect(() => decodePaxosMessage(noBallot)).toThrow(CorruptionError);
    const noBody = WirePaxosMessage.encode({ from: 'a', to: 'b', ballot: { round: 1n, node: 'a' }, body: undefined }).finish();
    expect(() => decodePaxosMessage(noBody)).toThrow(CorruptionError);
    const huge = WirePaxosMessage.encode({
      from: 'a',
      to: 'b',
      ballot: { round: 2n ** 60n, node: 'a' },
      body: { $case: 'reject', value: {} },
    }).finish();
    expect(() => decodePaxosMessage(huge)).toThrow(/exceeds/);
  });

  it('mutated encodings decode to a message or a CorruptionError', () => {
    fc.assert(
      fc.property(paxosMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), (message, at, byte) => {
        const bytes = encodePaxosMessage(message);
        if (bytes.length === 0) return;
        bytes[at % bytes.length] = byte;
        try {
          decodePaxosMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
