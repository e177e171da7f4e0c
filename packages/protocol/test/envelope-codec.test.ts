import { CorruptionError, InvalidArgumentError, type Envelope } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { createEnvelopeCodec } from '../src/codec/envelope-codec.js';

describe('envelope codec', () => {
  const codec = createEnvelopeCodec();

  it('carries raft payloads as typed messages', () => {
    const envelope: Envelope = {
      clusterId: 'c1',
      from: 'n1',
      to: 'n2',
      protocol: 'raft',
      payload: { type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 7, context: '' },
    };
    expect(codec.decode(codec.encode(envelope))).toEqual(envelope);
  });

  it('carries protocols without a codec as raw bytes', () => {
    const envelope: Envelope = {
      clusterId: 'c1',
      from: 'n1',
      to: 'n2',
      protocol: 'app',
      payload: new Uint8Array([0, 1, 254, 255]),
    };
    expect(codec.decode(codec.encode(envelope))).toEqual(envelope);
  });

  it('refuses to encode an object payload of a protocol it has no codec for', () => {
    const envelope: Envelope = { clusterId: 'c', from: 'a', to: 'b', protocol: 'probe', payload: { ping: 1 } };
    expect(() => codec.encode(envelope)).toThrow(InvalidArgumentError);
  });

  it('reports malformed bytes as corruption', () => {
    expect(() => codec.decode(new Uint8Array([0x0a, 0xff]))).toThrow(CorruptionError);
  });
});

describe('envelope codec lookup by protocol name (issue 11, item 5)', () => {
  // Before the fix the codecs were looked up on a plain object, so these
  // names found Object.prototype members and threw an untyped TypeError.
  const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it('carries bytes of a protocol named like an Object.prototype member as raw bytes', () => {
    for (const codec of [createEnvelopeCodec(), createEnvelopeCodec({ payloadCodecs: {} })]) {
      for (const protocol of names) {
        const envelope: Envelope = { clusterId: 'c1', from: 'n1', to: 'n2', protocol, payload: new Uint8Array([1, 2]) };
        expect(codec.decode(codec.encode(envelope))).toEqual(envelope);
      }
    }
  });

  it('refuses an object payload of such a protocol with InvalidArgumentError', () => {
    const codec = createEnvelopeCodec();
    for (const protocol of names) {
      const envelope: Envelope = { clusterId: 'c1', from: 'n1', to: 'n2', protocol, payload: { type: 'x' } };
      expect(() => codec.encode(envelope)).toThrow(InvalidArgumentError);
    }
  });
});
