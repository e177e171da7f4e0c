import { InvalidArgumentError, SeededRandom, type NodeId } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { sampleDelay, type LinkFaults } from '../src/index.js';
import { drain, envelope, recordArrivals, virtualNetwork, type Arrival, type Harness } from './support/harness.js';

/** Sends `count` numbered messages a → b at one instant each, one ms apart, and drains. */
function sendNumbered(h: Harness, count: number, spacingMs = 0): Arrival[] {
  const arrivals = recordArrivals(h, ['a', 'b']);
  const a = h.network.endpoint('a');
  for (let i = 0; i < count; i++) {
    a.send('b', envelope('a', 'b', i));
    if (spacingMs > 0) h.clock.advance(spacingMs);
  }
  drain(h.clock);
  return arrivals;
}

function seqs(arrivals: readonly Arrival[]): number[] {
  return arrivals.map((a) => a.envelope.payload as number);
}

describe('drop rate', () => {
  it('drops close to the configured fraction over many messages', () => {
    const h = virtualNetwork({ seed: 11, faults: { dropRate: 0.3 } });
    const n = 10_000;
    const arrivals = sendNumbered(h, n);
    const stats = h.network.stats();
    // Binomial(10000, 0.3) has a standard deviation of about 46; 0.02 is four of them.
    expect(Math.abs(stats.total.dropped / n - 0.3)).toBeLessThan(0.02);
    expect(stats.total.dropped + stats.total.delivered).toBe(n);
    expect(stats.dropsByReason.fault).toBe(stats.total.dropped);
    expect(arrivals).toHaveLength(stats.total.delivered);
  });

  it('drops nothing at 0 and everything at 1', () => {
    expect(sendNumbered(virtualNetwork({ faults: { dropRate: 0 } }), 500)).toHaveLength(500);
    expect(sendNumbered(virtualNetwork({ faults: { dropRate: 1 } }), 500)).toHaveLength(0);
  });
});

describe('delay distributions', () => {
  it('keeps uniform delays within [min, max] and spreads them', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'uniform', minMs: 10, maxMs: 30 } } });
    const arrivals = sendNumbered(h, 2_000);
    const times = arrivals.map((a) => a.at);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...times)).toBeLessThanOrEqual(30);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(15);
    const mean = times.reduce((s, t) => s + t, 0) / times.length;
    expect(Math.abs(mean - 20)).toBeLessThan(1);
  });

  it('gives exponential delays a floor, a long tail and a hard cap', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'exponential', minMs: 5, meanMs: 10, maxMs: 40 } } });
    const arrivals = sendNumbered(h, 5_000);
    const times = arrivals.map((a) => a.at);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...times)).toBeLessThanOrEqual(40);
    const median = [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)] ?? 0;
    // Median of 5 + Exp(mean 10) is 5 + 10 ln 2 ≈ 11.9.
    expect(median).toBeGreaterThan(10);
    expect(median).toBeLessThan(14);
    // P(tail > 35) = e^-3.5 ≈ 3 %: some messages hit the cap.
    expect(times.filter((t) => t === 40).length).toBeGreaterThan(50);
  });

  it('samples only from the given Random', () => {
    const a = new SeededRandom(3);
    const b = new SeededRandom(3);
    const dist = { kind: 'uniform', minMs: 0, maxMs: 100 } as const;
    const xs = Array.from({ length: 5 }, () => sampleDelay(dist, a));
    const ys = Array.from({ length: 5 }, () => sampleDelay(dist, b));
    expect(xs).toEqual(ys);
  });
});

describe('duplication', () => {
  it('delivers extra copies at about the configured rate', () => {
    const h = virtualNetwork({ seed: 5, faults: { duplicateRate: 0.2 } });
    const n = 5_000;
    const arrivals = sendNumbered(h, n);
    const dupes = arrivals.length - n;
    expect(Math.abs(dupes / n - 0.2)).toBeLessThan(0.025);
    expect(h.network.stats().total.duplicated).toBe(dupes);
    const counts = new Map<number, number>();
    for (const s of seqs(arrivals)) counts.set(s, (counts.get(s) ?? 0) + 1);
    expect(counts.size).toBe(n);
    expect(Math.max(...counts.values())).toBe(2);
  });
});

describe('reordering', () => {
  it('lets later messages overtake held-back ones, while all still arrive', () => {
    const h = virtualNetwork({ seed: 9, faults: { reorder: { rate: 0.2, maxExtraDelayMs: 20 } } });
    const arrivals = sendNumbered(h, 200, 1);
    const order = seqs(arrivals);
    expect([...order].sort((x, y) => x - y)).toEqual([...Array(200).keys()]);
    let inversions = 0;
    for (let i = 1; i < order.length; i++) if ((order[i] ?? 0) < (order[i - 1] ?? 0)) inversions++;
    expect(inversions).toBeGreaterThan(10);
  });

  it('keeps order without reordering faults', () => {
    const h = virtualNetwork({ seed: 9 });
    expect(seqs(sendNumbered(h, 200, 1))).toEqual([...Array(200).keys()]);
  });
});

describe('per-link overrides', () => {
  it('applies an override to one direction only and inherits the other fields', () => {
    const h = virtualNetwork({ faults: { delay: { kind: 'fixed', ms: 7 } } });
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.setLinkFaults('a', 'b', { dropRate: 1 });
    expect(h.network.faultsFor('a', 'b')).toMatchObject({ dropRate: 1, delay: { kind: 'fixed', ms: 7 } });
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.network.endpoint('b').send('a', envelope('b', 'a'));
    drain(h.clock);
    expect(arrivals.map((a) => [a.node, a.at])).toEqual([['a', 7]]);

    h.network.setLinkFaults('a', 'b', undefined);
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(arrivals.map((a) => a.node)).toEqual(['a', 'b']);
  });

  it('changes network-wide faults at run time', () => {
    const h = virtualNetwork();
    const arrivals = recordArrivals(h, ['a', 'b']);
    h.network.setFaults({ dropRate: 1 });
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    h.network.setFaults({});
    h.network.endpoint('a').send('b', envelope('a', 'b'));
    drain(h.clock);
    expect(arrivals).toHaveLength(1);
  });
});

describe('fault validation', () => {
  const bad: Array<[string, LinkFaults]> = [
    ['drop rate above 1', { dropRate: 1.5 }],
    ['negative duplicate rate', { duplicateRate: -0.1 }],
    ['negative fixed delay', { delay: { kind: 'fixed', ms: -1 } }],
    ['uniform max below min', { delay: { kind: 'uniform', minMs: 10, maxMs: 5 } }],
    ['exponential cap below floor', { delay: { kind: 'exponential', minMs: 10, meanMs: 1, maxMs: 5 } }],
    ['reorder rate NaN', { reorder: { rate: Number.NaN, maxExtraDelayMs: 5 } }],
  ];
  it.each(bad)('rejects %s', (_label, faults) => {
    const h = virtualNetwork();
    expect(() => h.network.setFaults(faults)).toThrow(InvalidArgumentError);
    expect(() => h.network.setLinkFaults('a' as NodeId, 'b', faults)).toThrow(InvalidArgumentError);
    expect(() => virtualNetwork({ faults })).toThrow(InvalidArgumentError);
  });
});
