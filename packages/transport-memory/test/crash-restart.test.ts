import { InvalidArgumentError, type NodeId } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { drain, envelope, recordArrivals, virtualNetwork } from './support/harness.js';

describe('crash and restart', () => {
  it('loses messages in flight to a crashed node, even if it restarts before they would arrive', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 10 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.clock.advance(5);
    h.network.crash('b');
    h.network.restart('b');
    h.network.endpoint('b').setHandler((e) => arrivals.push({ at: h.clock.now(), node: 'b', envelope: e }));
    h.clock.advance(10);
    expect(arrivals).toHaveLength(0);
    expect(h.network.stats().dropsByReason.unreachable).toBe(1);
  });

  it('stops a crashed node from sending and receiving, and reports it unreachable to senders', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    const reports: NodeId[] = [];
    h.network.endpoint('a').onUnreachable((peer) => reports.push(peer));
    h.network.crash('b');
    expect(h.network.status('b')).toBe('crashed');
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    expect(() => h.network.endpoint('b').send('a', envelope('b', 'a'))).not.toThrow();
    drain(h.clock);
    expect(arrivals).toHaveLength(0);
    expect(reports).toEqual(['b']);
    expect(h.network.stats().dropsByReason['sender-down']).toBe(1);
  });

  it('detaches the handler and unreachable listeners on crash', () => {
    const h = virtualNetwork();
    recordArrivals(h, ['a', 'b']);
    const reports: NodeId[] = [];
    const b = h.network.endpoint('b');
    b.onUnreachable((peer) => reports.push(peer));
    h.network.crash('b');
    h.network.restart('b');
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    b.send('ghost', envelope('b', 'ghost'));
    drain(h.clock);
    expect(reports).toEqual([]);
    expect(h.network.stats().dropsByReason['no-handler']).toBe(1);
  });

  it('makes the same endpoint usable again after restart once a handler is re-attached', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    const b = h.network.endpoint('b');
    h.network.crash('b');
    h.network.restart('b');
    expect(h.network.endpoint('b')).toBe(b);
    expect(h.network.status('b')).toBe('up');
    b.setHandler((e) => arrivals.push({ at: h.clock.now(), node: 'b', envelope: e }));
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    b.send('a', envelope('b', 'a'));
    drain(h.clock);
    expect(arrivals.map((a) => a.node).sort()).toEqual(['a', 'b']);
  });

  it('still delivers what a node sent before it crashed (packets already on the wire)', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 10 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('b').send('a', envelope('b', 'a'));
    h.network.crash('b');
    drain(h.clock);
    expect(arrivals.map((a) => a.node)).toEqual(['a']);
  });

  it('drops an unreachable report owed to a node that crashed in the meantime', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 10 } } });
    recordArrivals(h, ['a']);
    const reports: NodeId[] = [];
    h.network.endpoint('a').onUnreachable((peer) => reports.push(peer));
    h.network.endpoint('a').send('ghost', envelope('a', 'ghost'));
    h.network.crash('a');
    h.network.restart('a');
    h.network.endpoint('a').onUnreachable((peer) => reports.push(peer));
    drain(h.clock);
    expect(reports).toEqual([]);
  });

  it('rejects crash and restart of a node that has no endpoint', () => {
    const h = virtualNetwork();
    expect(() => h.network.crash('nobody')).toThrow(InvalidArgumentError);
    expect(() => h.network.restart('nobody')).toThrow(InvalidArgumentError);
  });
});
