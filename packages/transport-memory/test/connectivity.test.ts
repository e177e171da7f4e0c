import type { NodeId } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { drain, envelope, recordArrivals, virtualNetwork, type Harness } from './support/harness.js';

const NODES: NodeId[] = ['a', 'b', 'c', 'd', 'e'];

/** Sends one message over every directed link and returns the links that delivered, as "from>to". */
function probeAll(h: Harness): Set<string> {
  const arrivals = recordArrivals(h, NODES);
  for (const from of NODES) for (const to of NODES) if (from !== to) h.network.endpoint(from).send(to, envelope(from, to));
  drain(h.clock);
  return new Set(arrivals.map((a) => `${a.envelope.from}>${a.node}`));
}

describe('partitions', () => {
  it('blocks both directions between groups and allows traffic within each group', () => {
    const h = virtualNetwork();
    h.network.partition([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    const links = probeAll(h);
    expect([...links].sort()).toEqual(['a>b', 'b>a', 'c>d', 'c>e', 'd>c', 'd>e', 'e>c', 'e>d']);
    expect(h.network.stats().dropsByReason.partition).toBe(12);
  });

  it('puts nodes not named in any group together in one more group', () => {
    const h = virtualNetwork();
    h.network.partition([['a']]);
    const links = probeAll(h);
    expect([...links].some((l) => l.includes('a'))).toBe(false);
    expect(links.has('b>c')).toBe(true);
    expect(links.size).toBe(12); // 4 nodes, all 12 directed links among them
  });

  it('replaces an earlier partition with a new one', () => {
    const h = virtualNetwork();
    h.network.partition([['a', 'b'], ['c']]);
    h.network.partition([['a', 'c'], ['b']]);
    expect(h.network.canReach('a', 'c')).toBe(true);
    expect(h.network.canReach('a', 'b')).toBe(false);
  });

  it('loses a message in flight when a partition starts before it arrives', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 10 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.clock.advance(5);
    h.network.partition([['a'], ['b']]);
    h.clock.advance(10);
    expect(arrivals).toHaveLength(0);
  });

  it('does not report partitioned peers unreachable by default, like a real network losing packets', () => {
    const h = virtualNetwork();
    recordArrivals(h, ['a', 'b']);
    const reports: NodeId[] = [];
    h.network.endpoint('a').onUnreachable((peer) => reports.push(peer));
    h.network.partition([['a'], ['b']]);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(reports).toEqual([]);
  });

  it('reports partitioned peers unreachable when unreachableOnPartition is set', () => {
    const h = virtualNetwork({ unreachableOnPartition: true });
    recordArrivals(h, ['a', 'b']);
    const reports: NodeId[] = [];
    h.network.endpoint('a').onUnreachable((peer) => reports.push(peer));
    h.network.cutLink('a', 'b');
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(reports).toEqual(['b']);
  });
});

describe('one-way cuts', () => {
  it('blocks only the cut direction', () => {
    const h = virtualNetwork();
    h.network.cutLink('a', 'b');
    const links = probeAll(h);
    expect(links.has('a>b')).toBe(false);
    expect(links.has('b>a')).toBe(true);
    expect(links.size).toBe(19);
  });

  it('reopens the direction on restoreLink', () => {
    const h = virtualNetwork();
    h.network.cutLink('a', 'b');
    h.network.restoreLink('a', 'b');
    expect(probeAll(h).size).toBe(20);
  });
});

describe('isolation and heal', () => {
  it('isolate cuts a node off in both directions', () => {
    const h = virtualNetwork();
    h.network.isolate('c');
    const links = probeAll(h);
    expect([...links].some((l) => l.includes('c'))).toBe(false);
    expect(links.size).toBe(12);
  });

  it('heal restores every link after a partition, cuts and isolation', () => {
    const h = virtualNetwork();
    h.network.partition([['a', 'b'], ['c']]);
    h.network.cutLink('d', 'e');
    h.network.isolate('e');
    h.network.heal();
    expect(probeAll(h).size).toBe(20);
  });

  it('heal leaves link faults in place', () => {
    const h = virtualNetwork({ faults: { dropRate: 1 } });
    h.network.partition([['a'], ['b']]);
    h.network.heal();
    expect(probeAll(h).size).toBe(0);
  });
});
