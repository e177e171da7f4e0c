import { X509Certificate } from 'node:crypto';
import { CorruptionError, SeededRandom, SendQueue } from '@synod/core';
import { envelopeV1, peerServiceV1 } from '@synod/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';
import { createCertificateAuthority, createClientCertificate, createNodeCertificate } from '../src/certificates.js';
import { batchEntrySize } from '@synod/protocol';
import { decodeFrame, encodeBatchFrame, encodeHelloFrame } from '../src/frames.js';
import { identityOfCertificate, nodeIdentityMismatch } from '../src/identity.js';
import { envelopeBytes } from './raw-peer.js';

describe('Backoff', () => {
  it('draws each delay uniformly below a ceiling that doubles up to the cap (full jitter)', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 }, new SeededRandom(7));
    const ceilings = [100, 200, 400, 800, 1_000, 1_000];
    for (const ceiling of ceilings) {
      expect(backoff.ceilingMs).toBe(ceiling);
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(ceiling);
    }
    backoff.reset();
    expect(backoff.ceilingMs).toBe(100);
  });

  it('spreads delays over the whole range, not around the ceiling', () => {
    const random = new SeededRandom(11);
    const delays = Array.from({ length: 1_000 }, () => new Backoff({ initialMs: 1_000, maxMs: 1_000 }, random).next());
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(950);
  });

  it('never overflows after many failures', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 5_000 }, new SeededRandom(1));
    for (let i = 0; i < 10_000; i++) expect(backoff.next()).toBeLessThan(5_000);
  });

  it('refuses nonsense settings', () => {
    expect(() => new Backoff({ initialMs: 0 }, new SeededRandom(1))).toThrow(/initialMs/);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 }, new SeededRandom(1))).toThrow(/initialMs/);
  });
});

describe('SendQueue', () => {
  const item = (n: number, size = 10): Uint8Array => new Uint8Array(size).fill(n);

  it('keeps order and evicts the oldest beyond its length', () => {
    const queue = new SendQueue(3, 1_000);
    const evicted = [1, 2, 3, 4, 5].map((n) => queue.push(item(n)));
    expect(evicted).toEqual([0, 0, 0, 1, 1]);
    expect([queue.shift()![0], queue.shift()![0], queue.shift()![0], queue.shift()]).toEqual([3, 4, 5, undefined]);
  });

  it('evicts the oldest beyond its bytes', () => {
    const queue = new SendQueue(100, 25);
    queue.push(item(1));
    queue.push(item(2));
    expect(queue.push(item(3))).toBe(1);
    expect(queue.bytes).toBe(20);
    expect(queue.peek()![0]).toBe(2);
  });

  it('holds its bounds and its order under any sequence of pushes and shifts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(0)), { maxLength: 300 }), (ops) => {
        const queue = new SendQueue(8, 100);
        let next = 0;
        let lastOut = -1;
        for (const op of ops) {
          if (op === 0) {
            const out = queue.shift();
            if (out !== undefined) {
              expect(out[0]!).toBeGreaterThan(lastOut);
              lastOut = out[0]!;
            }
          } else queue.push(new Uint8Array(op).fill(next++ & 0xff));
          expect(queue.length).toBeLessThanOrEqual(8);
          expect(queue.bytes).toBeLessThanOrEqual(100);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('frames', () => {
  it('a batch frame framed by hand decodes with the generated ConnectRequest and back', () => {
    const envelopes = [0, 1, 200].map((size) => envelopeBytes({ from: 'a', to: 'b', payload: new Uint8Array(size).fill(7) }));
    const frame = encodeBatchFrame(envelopes, envelopes.reduce((sum, e) => sum + batchEntrySize(e.byteLength), 0));
    const generated = peerServiceV1.ConnectRequest.decode(frame);
    expect(generated.frame?.$case).toBe('batch');
    const batch = generated.frame?.$case === 'batch' ? generated.frame.value.envelopes : [];
    expect(batch.map((e) => e.payload.byteLength)).toEqual([0, 1, 200]);
    const decoded = decodeFrame(frame);
    expect(decoded.kind).toBe('batch');
    if (decoded.kind === 'batch') expect(decoded.envelopes.map((e) => envelopeV1.Envelope.decode(e).payload.byteLength)).toEqual([0, 1, 200]);
  });

  it('decodes a hello', () => {
    const hello = { version: 1, clusterId: 'c', nodeId: 'a', peerId: 'b', maxMessageBytes: 99 };
    expect(decodeFrame(encodeHelloFrame(hello))).toEqual({ kind: 'hello', hello });
  });

  it('refuses an empty frame and one with both a hello and a batch', () => {
    expect(() => decodeFrame(new Uint8Array(0))).toThrow(CorruptionError);
    const hello = encodeHelloFrame({ version: 1, clusterId: 'c', nodeId: 'a', peerId: 'b', maxMessageBytes: 0 });
    const both = new Uint8Array([...hello, 0x12, 0x00]);
    expect(() => decodeFrame(both)).toThrow(/more than one/);
  });

  it('throws only CorruptionError on arbitrary bytes, and every truncation of a valid frame', () => {
    const valid = encodeBatchFrame([envelopeBytes({ from: 'a', to: 'b', payload: new Uint8Array([1, 2, 3]) })], batchEntrySize(envelopeBytes({ from: 'a', to: 'b', payload: new Uint8Array([1, 2, 3]) }).byteLength));
    for (let cut = 0; cut < valid.byteLength; cut++) {
      try {
        decodeFrame(valid.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptionError);
        }
      }),
      { seed: 7, numRuns: 2_000 },
    );
  });
});

describe('certificates and identities', () => {
  it('a node certificate names its node (URI SAN) and chains to the CA; a client certificate names a client', async () => {
    const ca = await createCertificateAuthority();
    const node = await createNodeCertificate(ca, { clusterId: 'c1', nodeId: 'n1', hosts: ['db.example', '10.1.2.3'] });
    const certificate = new X509Certificate(node.certPem);
    expect(certificate.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(certificate.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(certificate.subjectAltName).toBe('URI:spiffe://synod/c1/n1, DNS:db.example, IP Address:10.1.2.3');
    expect(identityOfCertificate(certificate)).toEqual({ kind: 'node', clusterId: 'c1', nodeId: 'n1' });
    const client = await createClientCertificate(ca, { clusterId: 'c1', name: 'alice' });
    expect(identityOfCertificate(new X509Certificate(client.certPem))).toEqual({ kind: 'client', clusterId: 'c1', name: 'alice' });
  });

  it('finds no identity in certificates with none, several, or malformed Synod SANs', () => {
    for (const san of [undefined, '', 'DNS:localhost', 'URI:spiffe://synod/c1/n1, URI:spiffe://synod/c1/n2', 'URI:spiffe://synod/c1', 'URI:spiffe://synod/c1/a/b/c', 'URI:spiffe://other/c1/n1', 'URI:"spiffe://synod/c1/n1,x"']) {
      expect(identityOfCertificate({ subjectaltname: san })).toBeUndefined();
    }
  });

  it('says why a certificate is not the node expected', () => {
    const n1 = { subjectaltname: 'URI:spiffe://synod/c1/n1' };
    expect(nodeIdentityMismatch(n1, 'c1', 'n1')).toBeUndefined();
    expect(nodeIdentityMismatch(n1, 'c1', 'n2')).toMatch(/for node 'n1', not 'n2'/);
    expect(nodeIdentityMismatch(n1, 'c2', 'n1')).toMatch(/cluster 'c1', not 'c2'/);
    expect(nodeIdentityMismatch({ subjectaltname: 'URI:spiffe://synod/c1/client/n1' }, 'c1', 'n1')).toMatch(/client's/);
  });

  it('refuses ids that cannot go into a SPIFFE path', async () => {
    const ca = await createCertificateAuthority();
    await expect(createNodeCertificate(ca, { clusterId: 'c1', nodeId: 'n/1' })).rejects.toThrow(/cannot go into a certificate/);
    await expect(createNodeCertificate(ca, { clusterId: '..', nodeId: 'n1' })).rejects.toThrow(/cannot go into a certificate/);
  });
});
