import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { ADDED, ConfigurationStore, SEEN, STOPPED } from '../../src/linearizability/configuration-store.js';
import { defaultMemoryBudgetBytes, formatBytes, MemoryBudget, parseByteSize } from '../../src/linearizability/index.js';

describe('the default memory budget', () => {
  it('is a share of the machine, never above the V8 heap limit (beyond which Node crashes instead of stopping)', () => {
    const budget = defaultMemoryBudgetBytes();
    expect(budget).toBeGreaterThan(0);
    expect(budget).toBeLessThanOrEqual(totalmem() / 4);
    expect(budget).toBeLessThanOrEqual(getHeapStatistics().heap_size_limit / 2);
  });
});

describe('sizes', () => {
  it.each([
    ['2GiB', 2 * 2 ** 30],
    ['2 gib', 2 * 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['1.5GB', 1.5e9],
    ['64k', 64 * 1024],
    ['100kB', 100_000],
    ['1000000', 1_000_000],
    ['1T', 2 ** 40],
  ])('%s is %i bytes', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(['', 'lots', '0', '-1GiB', '2 GiBs', '1e9', 'GiB'])('%j is not a size', (text) => {
    expect(parseByteSize(text)).toBeUndefined();
  });

  it('prints sizes for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3.5 * 2 ** 20)).toBe('3.5 MiB');
    expect(formatBytes(2 ** 31)).toBe('2.0 GiB');
  });
});

describe('the configuration store stops at its limits instead of passing them', () => {
  /** A store whose clock the test moves by hand. */
  function store(limitBytes: number, deadline = Number.POSITIVE_INFINITY): { store: ConfigurationStore; budget: MemoryBudget; clock: { now: number } } {
    const budget = new MemoryBudget(limitBytes);
    const clock = { now: 0 };
    return { store: new ConfigurationStore({ budget, now: () => clock.now, deadline }, 1), budget, clock };
  }
  const key = new Uint32Array(1);
  const add = (s: ConfigurationStore, i: number): number => {
    key[0] = i;
    return s.add(key, 0, 1, 0, Math.imul(i, 0x9e3779b1) >>> 0);
  };

  it('remembers what it stored, exactly', () => {
    const { store: s } = store(2 ** 20);
    expect(add(s, 1)).toBe(ADDED);
    expect(add(s, 1)).toBe(SEEN);
    // The same hash with another key, or the same words with another state, is a different configuration.
    key[0] = 2;
    expect(s.add(key, 0, 1, 0, Math.imul(1, 0x9e3779b1) >>> 0)).toBe(ADDED);
    key[0] = 1;
    expect(s.add(key, 0, 1, 7, Math.imul(1, 0x9e3779b1) >>> 0)).toBe(ADDED);
    expect(s.size).toBe(3);
  });

  it('never reserves more than the budget, and fills its table before it gives up', () => {
    const limit = 256 * 1024;
    const { store: s, budget } = store(limit);
    let i = 0;
    let outcome = ADDED;
    while (outcome === ADDED && i < 1_000_000) outcome = add(s, ++i);
    expect(outcome).toBe(STOPPED);
    expect(s.stopReason).toBe('memory-budget');
    expect(budget.peakBytes).toBeLessThanOrEqual(limit);
    // A 16-byte key and an 8-byte slot per configuration, with the table up to 90 % full.
    expect(s.size).toBeGreaterThan(limit / 48);
    s.release();
    expect(budget.usedBytes).toBe(0);
  });

  it('checks the clock while it doubles its table, and stops there once the deadline has passed', () => {
    const { store: s, clock } = store(2 ** 30, 1000);
    // Fill a table of 2^17 slots to its doubling point.
    const before = Math.floor(2 ** 17 * 0.7);
    for (let i = 1; i <= before; i++) expect(add(s, i)).toBe(ADDED);
    clock.now = 2000;
    expect(add(s, before + 1)).toBe(STOPPED);
    expect(s.stopReason).toBe('timeout');
  });
});
