import { CorruptionError, InvalidArgumentError } from '@synod/core';
import { createEnvelopeCodec, envelopeV1 } from '@synod/protocol';
import { bytesPayloadCodec } from '../src/index.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChunkHeader, formatChunkHeader } from '../src/chunks.js';
import { NatsTransport } from '../src/index.js';
import { ackSubject, isAckSubjectFor, ownPrefix, parseOwnSubject, peerSubject } from '../src/subjects.js';
import { batchEntrySize, decodeEnvelopeBatch, encodeEnvelopeBatch } from '@synod/protocol';

describe('batch wire format', () => {
  it('is a synod.peer.v1.EnvelopeBatch that the generated decoder reads, and decodes back to the same envelopes', () => {
    const codec = createEnvelopeCodec({ payloadCodecs: { raft: bytesPayloadCodec } });
    const envelopes = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)].map((payload) =>
      codec.encode({ clusterId: 'prod', from: 'n1', to: 'n2', protocol: 'raft', payload }),
    );
    const bytes = encodeEnvelopeBatch(envelopes, envelopes.reduce((sum, e) => sum + batchEntrySize(e.byteLength), 0));
    expect(decodeEnvelopeBatch(bytes).map((e) => Array.from(e))).toEqual(envelopes.map((e) => Array.from(e)));
    // Readable by any protobuf implementation of envelope.proto (the generated one here).
    const generated = envelopeV1.EnvelopeBatch.decode(bytes);
    expect(generated.envelopes.map((e) => [e.clusterId, e.from, e.to, e.protocol])).toEqual(Array(3).fill(['prod', 'n1', 'n2', 'raft']));
  });

  it('refuses truncated and malformed batches with CorruptionError', () => {
    const bytes = encodeEnvelopeBatch([new Uint8Array([1, 2, 3])], batchEntrySize(3));
    expect(() => decodeEnvelopeBatch(bytes.subarray(0, bytes.byteLength - 1))).toThrow(CorruptionError);
    expect(() => decodeEnvelopeBatch(new Uint8Array([0x0a, 0xff]))).toThrow(CorruptionError);
    expect(() => decodeEnvelopeBatch(new Uint8Array([0x00]))).toThrow(CorruptionError);
    expect(() => decodeEnvelopeBatch(new Uint8Array([0x0f]))).toThrow(CorruptionError);
  });

  it('round-trips any list of envelopes, and any bytes either decode or fail with CorruptionError (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (envelopes) => {
        const bytes = encodeEnvelopeBatch(envelopes, envelopes.reduce((sum, e) => sum + batchEntrySize(e.byteLength), 0));
        expect(decodeEnvelopeBatch(bytes).map((e) => Array.from(e))).toEqual(envelopes.map((e) => Array.from(e)));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          decodeEnvelopeBatch(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('skips unknown fields, as protobuf allows', () => {
    const bytes = new Uint8Array([0x10, 0x05, 0x0a, 0x01, 0x09]);
    expect(decodeEnvelopeBatch(bytes).map((e) => Array.from(e))).toEqual([[9]]);
  });
});

describe('subjects', () => {
  it('names the receiver, then the sender, and keeps acknowledgements in the sender\'s own tree', () => {
    expect(peerSubject('prod', 'n2', 'n1')).toBe('synod.prod.n2.n1');
    expect(ackSubject('prod', 'n1', 'n2', 42)).toBe('synod.prod.n1.n2.ack.42');
    const prefix = ownPrefix('prod', 'n2');
    expect(parseOwnSubject('synod.prod.n2.n1', prefix)).toEqual({ kind: 'batch', from: 'n1' });
    expect(parseOwnSubject('synod.prod.n2.n1.ack.42', prefix)).toEqual({ kind: 'ack', peer: 'n1', probe: 42 });
    expect(parseOwnSubject('synod.prod.n2.n1.x', prefix)).toEqual({ kind: 'other' });
    expect(parseOwnSubject('synod.prod.n3.n1', prefix)).toEqual({ kind: 'other' });
  });

  it('answers only reply subjects of the acknowledgement shape for that sender', () => {
    expect(isAckSubjectFor('synod.prod.n1.n2.ack.7', 'prod', 'n1', 'n2')).toBe(true);
    expect(isAckSubjectFor('synod.prod.n3.n2.ack.7', 'prod', 'n1', 'n2')).toBe(false);
    expect(isAckSubjectFor('synod.prod.n3.n1', 'prod', 'n1', 'n2')).toBe(false);
    expect(isAckSubjectFor('synod.prod.n1.n2.ack.7.x', 'prod', 'n1', 'n2')).toBe(false);
  });

  it('chunk headers round-trip and malformed ones are refused', () => {
    expect(parseChunkHeader(formatChunkHeader({ messageId: 3, index: 1, count: 4 }))).toEqual({ messageId: 3, index: 1, count: 4 });
    expect(parseChunkHeader('3 4 4')).toBeUndefined();
    expect(parseChunkHeader('3 0 0')).toBeUndefined();
    expect(parseChunkHeader('x 1 2')).toBeUndefined();
  });
});

describe('options', () => {
  const base = { localId: 'n1', clusterId: 'prod', peers: ['n2'], servers: 'nats://127.0.0.1:4222' };

  it('refuses ids that are not subject tokens, since they would change the subjects', () => {
    for (const bad of ['a.b', 'a*', '>', 'a b', '']) {
      expect(() => new NatsTransport({ ...base, localId: bad })).toThrow(InvalidArgumentError);
      expect(() => new NatsTransport({ ...base, clusterId: bad })).toThrow(InvalidArgumentError);
      expect(() => new NatsTransport({ ...base, peers: [bad] })).toThrow(InvalidArgumentError);
    }
  });

  it('needs exactly one of servers and connection, and at least one server', () => {
    expect(() => new NatsTransport({ localId: 'n1', clusterId: 'prod', peers: [] })).toThrow(/exactly one of servers/);
    expect(() => new NatsTransport({ ...base, servers: [] })).toThrow(/at least one NATS server/);
  });

  it('accepts peers as an array, a set, a map or an object keyed by id (a GrpcTransport peer map works)', () => {
    for (const peers of [['n2', 'n3'], new Set(['n2', 'n3']), new Map([['n2', 'x'], ['n3', 'y']]), { n2: '10.0.0.2:7001', n3: '10.0.0.3:7001', n1: 'self' }]) {
      const transport = new NatsTransport({ ...base, peers });
      expect([...transport.stats().peers.keys()].sort()).toEqual(['n2', 'n3']);
    }
  });

  it('refuses bad numbers and a queue smaller than one message', () => {
    expect(() => new NatsTransport({ ...base, ackTimeoutMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new NatsTransport({ ...base, maxMessageBytes: 1 << 20, sendQueueBytes: 1 << 10 })).toThrow(/sendQueueBytes/);
    expect(() => new NatsTransport({ ...base, reconnect: { jitterMs: -1 } })).toThrow(/reconnect.jitterMs/);
  });

  it('queues sends before start and refuses them after close', async () => {
    const transport = new NatsTransport(base);
    transport.send('n2', { clusterId: 'prod', from: 'n1', to: 'n2', protocol: 'raft', payload: { type: 'heartbeat', term: 1, from: 'n1', to: 'n2', commit: 0, context: undefined } as never });
    expect(transport.stats().peers.get('n2')?.queuedEnvelopes).toBe(1);
    await transport.close();
    expect(() => transport.send('n2', { clusterId: 'prod', from: 'n1', to: 'n2', protocol: 'raft', payload: {} })).toThrow(/closed/);
  });
});
