import { InvalidArgumentError, MessageTooLargeError, TransportClosedError, type Envelope } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork, type NetworkEvent } from '../src/index.js';
import { CLUSTER, drain, envelope, payloadBytesCodec, recordArrivals, virtualNetwork } from './support/harness.js';

describe('MemoryNetwork delivery in virtual time', () => {
  it('never delivers inside send, only when the clock fires', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    expect(arrivals).toHaveLength(0);
    expect(h.network.inFlight).toBe(1);
    drain(h.clock);
    expect(arrivals).toHaveLength(1);
    expect(h.network.inFlight).toBe(0);
  });

  it('delivers a message with a 50 ms delay only once 50 ms have passed', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 50 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.clock.advance(49);
    expect(arrivals).toHaveLength(0);
    h.clock.advance(1);
    expect(arrivals.map((a) => a.at)).toEqual([50]);
  });

  it('still goes through the clock with a zero delay', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 0 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    expect(arrivals).toHaveLength(0);
    h.clock.advance(0);
    expect(arrivals).toHaveLength(1);
  });

  it('delivers zero-delay messages sent in one turn together, in order, counting them in flight', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 0 } } });
    const arrivals = recordArrivals(h, ['a', 'b', 'c']);
    for (let i = 0; i < 3; i++) h.network.endpoint('a').send('b', envelope('a', 'b', new Uint8Array([i])));
    h.network.endpoint('a').send('c', envelope('a', 'c', new Uint8Array([3])));
    expect(h.network.inFlight).toBe(4);
    h.clock.advance(0);
    expect(arrivals.map((a) => (a.envelope.payload as Uint8Array)[0])).toEqual([0, 1, 2, 3]);
    expect(h.network.inFlight).toBe(0);
  });

  it('still delivers the rest of a zero-delay batch after a handler throws', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 0 } } });
    const seen: number[] = [];
    h.network.endpoint('b').setHandler((env) => {
      const n = (env.payload as Uint8Array)[0]!;
      seen.push(n);
      if (n === 1) throw new Error('handler failure');
    });
    for (let i = 0; i < 4; i++) h.network.endpoint('a').send('b', envelope('a', 'b', new Uint8Array([i])));
    expect(() => h.clock.advance(0)).toThrow('handler failure');
    expect(h.network.inFlight).toBe(2);
    h.clock.advance(0);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(h.network.inFlight).toBe(0);
  });

  it('keeps a link first-in first-out with a fixed delay', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    for (let i = 0; i < 20; i++) h.network.endpoint('a').send('b', envelope('a', 'b', new Uint8Array([i])));
    drain(h.clock);
    expect(arrivals.map((a) => (a.envelope.payload as Uint8Array)[0])).toEqual([...Array(20).keys()]);
  });

  it('lets a handler send from inside a delivery (ping-pong advances time)', () => {
    const h = virtualNetwork();
    const a = h.network.endpoint('a');
    const b = h.network.endpoint('b');
    const times: number[] = [];
    a.setHandler((e) => {
      times.push(h.clock.now());
      const n = e.payload as number;
      if (n < 5) a.send('b', envelope('a', 'b', n + 1));
    });
    b.setHandler((e) => b.send('a', envelope('b', 'a', e.payload)));
    a.send('b', envelope('a', 'b', 0));
    h.clock.advance(100);
    expect(times).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('delivers the same payload object without a codec (receivers must not mutate it)', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    const payload = { term: 3 };
    h.network.endpoint('a').send('b', envelope('a', 'b', payload));
    drain(h.clock);
    expect(arrivals[0]?.envelope.payload).toBe(payload);
  });

  it('loops back a message a node sends to itself', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a']);
    h.network.endpoint('a').send('a', envelope('a', 'a'));
    drain(h.clock);
    expect(arrivals).toHaveLength(1);
  });
});

describe('MemoryNetwork codec round trip', () => {
  it('delivers a decoded copy, so receiver and sender do not share payload memory', () => {
    const h = virtualNetwork({ codec: payloadBytesCodec });
    const arrivals = recordArrivals(h, ['a', 'b']);
    const payload = new Uint8Array([1, 2, 3]);
    h.network.endpoint('a').send('b', envelope('a', 'b', payload));
    payload[0] = 99; // the sender reuses its buffer right after send
    drain(h.clock);
    const got = arrivals[0]?.envelope.payload as Uint8Array;
    expect(got).not.toBe(payload);
    expect(Array.from(got)).toEqual([1, 2, 3]);
  });

  it('gives each duplicate its own decoded copy', () => {
    const h = virtualNetwork({ codec: payloadBytesCodec, faults: { duplicateRate: 1 } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b', new Uint8Array([5])));
    drain(h.clock);
    expect(arrivals).toHaveLength(2);
    expect(arrivals[0]?.envelope.payload).not.toBe(arrivals[1]?.envelope.payload);
  });

  it('measures size as the encoded length', () => {
    const probe = payloadBytesCodec.encode(envelope('a', 'b', new Uint8Array(10)));
    const h = virtualNetwork({ codec: payloadBytesCodec, maxMessageBytes: probe.byteLength });
    recordArrivals(h, ['a', 'b']);
    const a = h.network.endpoint('a');
    expect(() => a.send('b', envelope('a', 'b', new Uint8Array(10)))).not.toThrow();
    expect(() => a.send('b', envelope('a', 'b', new Uint8Array(11)))).toThrow(MessageTooLargeError);
    expect(h.network.stats().total.bytesSent).toBe(probe.byteLength);
  });
});

describe('MemoryNetwork size limit', () => {
  it('uses an injected sizeOf when there is no codec', () => {
    const h = virtualNetwork({ maxMessageBytes: 100, sizeOf: (e) => e.payload as number });
    const a = h.network.endpoint('a');
    h.network.endpoint('b');
    expect(() => a.send('b', envelope('a', 'b', 100))).not.toThrow();
    let thrown: unknown;
    try {
      a.send('b', envelope('a', 'b', 101));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MessageTooLargeError);
    expect(thrown).toMatchObject({ sizeBytes: 101, limitBytes: 100 });
  });

  it('defaults to a 1 MiB limit measured by the size estimate', () => {
    const h = virtualNetwork();
    const a = h.network.endpoint('a');
    expect(a.maxMessageBytes).toBe(1024 * 1024);
    expect(() => a.send('b', envelope('a', 'b', new Uint8Array(1024 * 1024)))).toThrow(MessageTooLargeError);
  });

  it('rejects a limit that is not a positive integer', () => {
    const h = virtualNetwork();
    for (const maxMessageBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryNetwork({ clock: h.clock, random: h.network.random, maxMessageBytes })).toThrow(
        InvalidArgumentError,
      );
    }
  });
});

describe('MemoryTransport contract details', () => {
  it('drops envelopes of another cluster on arrival', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', { ...envelope('a', 'b'), clusterId: 'elsewhere' });
    drain(h.clock);
    expect(arrivals).toHaveLength(0);
    expect(h.network.stats().dropsByReason['cluster-mismatch']).toBe(1);
  });

  it('accepts any cluster id when the network has none', () => {
    const h = virtualNetwork({ clusterId: undefined });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', { ...envelope('a', 'b'), clusterId: 'whatever' });
    drain(h.clock);
    expect(arrivals).toHaveLength(1);
  });

  it('rejects an envelope whose to or from does not match the call', () => {
    const h = virtualNetwork();
    const a = h.network.endpoint('a');
    expect(() => a.send('c', envelope('a', 'b'))).toThrow(InvalidArgumentError);
    expect(() => a.send('b', envelope('x', 'b'))).toThrow(InvalidArgumentError);
  });

  it('reports an unknown peer unreachable after a link delay, not inside send', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 5 } } });
    const a = h.network.endpoint('a');
    const reports: Array<{ peer: string; at: number; cause: Error | undefined }> = [];
    a.onUnreachable((peer, cause) => reports.push({ peer, at: h.clock.now(), cause }));
    a.send('ghost', envelope('a', 'ghost'));
    expect(reports).toHaveLength(0);
    h.clock.advance(5);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ peer: 'ghost', at: 5 });
    expect(reports[0]?.cause).toBeInstanceOf(Error);
  });

  it('counts a message to a node without a handler as dropped', () => {
    const h = virtualNetwork();
    h.network.endpoint('a').send('b', envelope('a', 'b')); // b unknown at send
    h.network.endpoint('b');
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(h.network.stats().dropsByReason).toMatchObject({ unreachable: 1, 'no-handler': 1 });
  });

  it('closes idempotently, detaches the endpoint and hands out a fresh one afterwards', async () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    const b = h.network.endpoint('b');
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    await b.close();
    await b.close();
    expect(b.closed).toBe(true);
    expect(() => b.send('a', envelope('b', 'a'))).toThrow(TransportClosedError);
    expect(() => b.setHandler(() => undefined)).toThrow(TransportClosedError);
    drain(h.clock);
    expect(arrivals).toHaveLength(0); // in flight to the closed endpoint: lost

    const b2 = h.network.endpoint('b');
    expect(b2).not.toBe(b);
    expect(b2.closed).toBe(false);
    b2.setHandler(() => arrivals.push({ at: h.clock.now(), node: 'b', envelope: envelope('a', 'b') }));
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(arrivals).toHaveLength(1);
  });

  it('lists nodes with their status, crashed ones included and closed ones not', async () => {
    const h = virtualNetwork();
    for (const id of ['a', 'b', 'c']) h.network.endpoint(id);
    h.network.crash('b');
    await h.network.endpoint('c').close();
    expect(h.network.nodes()).toEqual(['a', 'b']);
    expect(['a', 'b', 'c', 'z'].map((id) => h.network.status(id))).toEqual(['up', 'crashed', 'closed', undefined]);
  });

  it('closes every endpoint and cancels pending deliveries when the network closes', async () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    await h.network.close();
    await h.network.close();
    expect(h.clock.pendingTimers).toBe(0);
    expect(arrivals).toHaveLength(0);
    expect(() => h.network.endpoint('c')).toThrow(TransportClosedError);
  });
});

describe('MemoryNetwork statistics and events', () => {
  it('counts sent, delivered, dropped and duplicated per node and per protocol', () => {
    const h = virtualNetwork();
    recordArrivals(h, ['a', 'b', 'c']);
    const a = h.network.endpoint('a');
    a.send('b', envelope('a', 'b', new Uint8Array(8), 'raft'));
    a.send('c', envelope('a', 'c', new Uint8Array(8), 'swim'));
    h.network.setLinkFaults('a', 'c', { duplicateRate: 1 });
    a.send('c', envelope('a', 'c', new Uint8Array(8), 'swim'));
    h.network.cutLink('b', 'a');
    h.network.endpoint('b').send('a', envelope('b', 'a', new Uint8Array(8), 'raft'));
    drain(h.clock);

    const stats = h.network.stats();
    expect(stats.total).toMatchObject({ sent: 4, delivered: 4, dropped: 1, duplicated: 1 });
    expect(stats.total.bytesSent).toBeGreaterThan(4 * 8);
    expect(stats.byNode.get('a')).toMatchObject({ sent: 3, dropped: 0, duplicated: 1, delivered: 0 });
    expect(stats.byNode.get('b')).toMatchObject({ sent: 1, dropped: 1, delivered: 1 });
    expect(stats.byNode.get('c')).toMatchObject({ sent: 0, delivered: 3 });
    expect(stats.byProtocol.get('raft')).toMatchObject({ sent: 2, delivered: 1, dropped: 1 });
    expect(stats.byProtocol.get('swim')).toMatchObject({ sent: 2, delivered: 3, duplicated: 1 });
    expect(stats.dropsByReason.partition).toBe(1);

    h.network.resetStats();
    expect(h.network.stats().total).toEqual({ sent: 0, bytesSent: 0, delivered: 0, dropped: 0, duplicated: 0 });
  });

  it('returns snapshots that later traffic does not change', () => {
    const h = virtualNetwork();
    recordArrivals(h, ['a', 'b']);
    const before = h.network.stats();
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    expect(before.total.sent).toBe(0);
  });

  it('tells observers about sends, deliveries, drops and crashes, until they unsubscribe', () => {
    const h = virtualNetwork();
    recordArrivals(h, ['a', 'b']);
    const events: NetworkEvent['type'][] = [];
    const unsubscribe = h.network.observe((e) => events.push(e.type));
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.network.endpoint('a').send('ghost', envelope('a', 'ghost'));
    drain(h.clock);
    h.network.crash('b');
    h.network.restart('b');
    unsubscribe();
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    expect(events).toEqual(['send', 'send', 'drop', 'deliver', 'unreachable', 'crash', 'restart']);
  });

  it('reports the decoded envelope in deliver events when a codec is used', () => {
    const h = virtualNetwork({ codec: payloadBytesCodec });
    recordArrivals(h, ['a', 'b']);
    const delivered: Envelope[] = [];
    h.network.observe((e) => {
      if (e.type === 'deliver') delivered.push(e.envelope);
    });
    const sent = envelope('a', 'b', new Uint8Array([4]));
    h.network.endpoint('a').send('b', sent);
    drain(h.clock);
    expect(delivered[0]).not.toBe(sent);
    expect(delivered[0]).toMatchObject({ clusterId: CLUSTER, from: 'a', to: 'b' });
  });
});
