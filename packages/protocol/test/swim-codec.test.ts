import { CorruptionError, InvalidArgumentError, isSwimMessage, type MemberDigest, type MembershipUpdate, type SwimMessage } from '@synod/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelopeCodec } from '../src/codec/envelope-codec.js';
import { decodeSwimMessage, encodeSwimMessage, SWIM_WIRE_VERSION, UnsupportedSwimMessageError } from '../src/codec/swim-codec.js';
import { SwimMessage as WireSwimMessage, SwimPing as WireSwimPing } from '../src/gen/synod/peer/v1/swim.js';

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.string({ minLength: 1, maxLength: 8 });
const meta = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), { minKeys: 1, maxKeys: 4 });
const update: fc.Arbitrary<MembershipUpdate> = fc.oneof(
  fc.record({ kind: fc.constant('alive' as const), node: id, incarnation: u53, meta }, { requiredKeys: ['kind', 'node', 'incarnation'] }),
  fc.record({ kind: fc.constant('left' as const), node: id, incarnation: u53 }),
  fc.record({ kind: fc.constantFrom('suspect' as const, 'dead' as const), node: id, incarnation: u53, from: id }),
);
const updates = fc.array(update, { maxLength: 6 });
const digest: fc.Arbitrary<MemberDigest> = fc.record(
  {
    id,
    incarnation: u53,
    state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const),
    meta,
  },
  { requiredKeys: ['id', 'incarnation', 'state'] },
);

const swimMessage: fc.Arbitrary<SwimMessage> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: u53, target: id, updates }),
  fc.record({
    type: fc.constant('ping-req' as const),
    seq: u53,
    target: id,
    wantNack: fc.boolean(),
    timeoutMs: fc.integer({ min: 0, max: 0xffff_ffff }),
    updates,
  }),
  fc.record({ type: fc.constant('ack' as const), seq: u53, updates }),
  fc.record({ type: fc.constant('nack' as const), seq: u53 }),
  fc.record({ type: fc.constant('gossip' as const), updates }),
  fc.record({ type: fc.constant('push-pull' as const), reply: fc.boolean(), join: fc.boolean(), members: fc.array(digest, { maxLength: 8 }) }),
);

/** A length-delimited protobuf field: tag, varint length, bytes (lengths here stay below 128). */
function field(number: number, bytes: Uint8Array): Uint8Array {
  expect(bytes.length).toBeLessThan(128);
  return Uint8Array.from([(number << 3) | 2, bytes.length, ...bytes]);
}

describe('swim codec', () => {
  it('round-trips every message kind exactly, and what it decodes passes the core\'s shape check', () => {
    fc.assert(
      fc.property(swimMessage, (message) => {
        const decoded = decodeSwimMessage(encodeSwimMessage(message));
        expect(decoded).toEqual(message);
        expect(isSwimMessage(decoded)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips through the default envelope codec', () => {
    const codec = createEnvelopeCodec();
    fc.assert(
      fc.property(swimMessage, (payload) => {
        const envelope = { clusterId: 'c', from: 'n1', to: 'n2', protocol: 'swim', payload };
        expect(codec.decode(codec.encode(envelope))).toEqual(envelope);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses to encode something that is not a SWIM message', () => {
    expect(() => encodeSwimMessage({ type: 'ping', seq: -1, target: 'n2', updates: [] })).toThrow(InvalidArgumentError);
    expect(() => encodeSwimMessage({ type: 'hello' } as unknown as SwimMessage)).toThrow(InvalidArgumentError);
  });

  it('stamps the wire version it speaks', () => {
    const wire = WireSwimMessage.decode(encodeSwimMessage({ type: 'nack', seq: 1 }));
    expect(wire.version).toBe(SWIM_WIRE_VERSION);
  });

  it('rejects garbage with a CorruptionError and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          const decoded = decodeSwimMessage(bytes);
          // Whatever random bytes decode to must still be a well-formed message.
          expect(isSwimMessage(decoded)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 2000 },
    );
    expect(() => decodeSwimMessage(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(CorruptionError);
  });

  it('survives mutations of valid messages: decodes to a valid message or throws CorruptionError', () => {
    fc.assert(
      fc.property(swimMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (message, flips) => {
        const bytes = encodeSwimMessage(message);
        if (bytes.length === 0) return;
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        try {
          expect(isSwimMessage(decodeSwimMessage(bytes))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a message without a body from the same version as corrupt', () => {
    const bytes = WireSwimMessage.encode({ version: SWIM_WIRE_VERSION, body: undefined }).finish();
    expect(() => decodeSwimMessage(bytes)).toThrow(CorruptionError);
    expect(() => decodeSwimMessage(bytes)).not.toThrow(UnsupportedSwimMessageError);
  });

  it('refuses incarnations and sequence numbers that do not fit a JavaScript number exactly', () => {
    const bytes = WireSwimMessage.encode({ version: 1, body: { $case: 'nack', value: { seq: 2n ** 60n } } }).finish();
    expect(() => decodeSwimMessage(bytes)).toThrow(/exceeds the largest exact integer/);
  });

  it('refuses an unknown member state', () => {
    const bytes = WireSwimMessage.encode({
      version: 1,
      body: { $case: 'gossip', value: { updates: [{ node: 'n1', incarnation: 1n, state: 9 as never, from: '', meta: {} }] } },
    }).finish();
    expect(() => decodeSwimMessage(bytes)).toThrow(/unknown member state 9/);
  });

  describe('a newer member talking to this one', () => {
    it('decodes a known message kind and ignores the fields this version does not know', () => {
      const ping = WireSwimPing.encode({ seq: 5n, target: 'n2', updates: [] }).finish();
      // Field 15 (varint) is unknown to version 1: a later version's addition.
      const newerPing = Uint8Array.from([...ping, (15 << 3) | 0, 42]);
      const bytes = Uint8Array.from([(1 << 3) | 0, 2, ...field(2, newerPing), ...field(20, Uint8Array.of(1, 2))]);
      expect(decodeSwimMessage(bytes)).toEqual({ type: 'ping', seq: 5, target: 'n2', updates: [] });
    });

    it('refuses a message kind this version has never heard of with UnsupportedSwimMessageError', () => {
      // Version 2, body in oneof field 8, which version 1 does not have.
      const bytes = Uint8Array.from([(1 << 3) | 0, 2, ...field(8, Uint8Array.of(8, 1))]);
      const error = (() => {
        try {
          decodeSwimMessage(bytes);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UnsupportedSwimMessageError);
      expect(error).toBeInstanceOf(CorruptionError);
      expect((error as UnsupportedSwimMessageError).version).toBe(2);
    });
  });
});
