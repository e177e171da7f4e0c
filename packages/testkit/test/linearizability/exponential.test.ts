import { describe, expect, it } from 'vitest';
import {
  overlappingReadsOfOneValue,
  overlappingWritesThenStaleRead,
  type HistoryEvent,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/history/index.js';
import { checkLinearizability, describeUndecided, registerModel } from '../../src/linearizability/index.js';

/**
 * The shapes whose search is exponential in k (every subset of k concurrent
 * operations is a configuration). Budgets here are small so that the sweep
 * over k = 16…22 takes seconds; `pnpm bench checker` runs the same sweep
 * with the default budget.
 */
type Shape = (k: number) => HistoryEvent<RegisterInput, RegisterOutput>[];

const KS = [16, 17, 18, 19, 20, 21, 22];
const MiB = 2 ** 20;

function sweep(shape: Shape, maxMemoryBytes: number): { k: number; verdict: string; undecided?: string; peakBytes: number }[] {
  return KS.map((k) => {
    const result = checkLinearizability(registerModel, shape(k), { maxMemoryBytes, timeoutMs: 60_000 });
    const p = result.partitions[0];
    return {
      k,
      verdict: result.verdict,
      ...(p?.undecided === undefined ? {} : { undecided: p.undecided }),
      peakBytes: result.memory.peakBytes,
    };
  });
}

/** Decided up to some k, then `unknown (memory-budget)` for every larger k, and never over the budget. */
function expectThreshold(rows: ReturnType<typeof sweep>, budget: number, decidedUpTo: number): void {
  for (const row of rows) {
    expect(row.peakBytes).toBeLessThanOrEqual(budget);
    if (row.k <= decidedUpTo) expect(row).toMatchObject({ verdict: 'not-linearizable' });
    else expect(row).toMatchObject({ verdict: 'unknown', undecided: 'memory-budget' });
  }
}

describe('exponential shapes at k = 16…22', () => {
  it('k overlapping reads of one value: decided while 2^k configurations fit, unknown (memory budget) beyond', () => {
    // 2^17 configurations take about 4 MiB; 2^18 do not fit in 8.
    expectThreshold(sweep(overlappingReadsOfOneValue, 8 * MiB), 8 * MiB, 17);
  });

  it('k overlapping writes then a stale read: unknown (memory budget) once k·2^(k-1) configurations do not fit', () => {
    expectThreshold(sweep(overlappingWritesThenStaleRead, 4 * MiB), 4 * MiB, 15);
  });

  it('k = 16 overlapping writes then a stale read is decided within the default budget', () => {
    const result = checkLinearizability(registerModel, overlappingWritesThenStaleRead(16));
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions[0]?.explored).toBe(16 * 2 ** 15);
  });

  it('stores a configuration in a few dozen bytes, whatever the length of the history', () => {
    const result = checkLinearizability(registerModel, overlappingReadsOfOneValue(16));
    expect(result.verdict).toBe('not-linearizable');
    const explored = result.partitions[0]?.explored ?? 0;
    expect(explored).toBe(2 ** 16);
    expect(result.memory.peakBytes / explored).toBeLessThan(48);
  });

  it('says which limit stopped it and how far it got', () => {
    const result = checkLinearizability(registerModel, overlappingWritesThenStaleRead(22), { maxMemoryBytes: 2 * MiB });
    expect(describeUndecided(result)).toMatch(
      /^unknown: stopped by the memory budget \(2\.0 MiB\); longest linearizable prefix \d+ of 23 operations; [\d,]+ configurations explored, peak memory [\d.]+ (KiB|MiB), \d+\.\d s$/,
    );
  });
});

describe('the time limit holds', () => {
  // Wall-clock tests of the real clock: the search reads it every 1,024 steps
  // and inside every table doubling, so it stops within milliseconds of the
  // deadline; the bound is the 10 %.
  it.each([
    ['k overlapping writes then a stale read', overlappingWritesThenStaleRead],
    ['k overlapping reads of one value', overlappingReadsOfOneValue],
  ])('%s at k = 22 stops within 10 percent of a 1 s timeout', (_name, shape) => {
    const timeoutMs = 1000;
    const started = performance.now();
    const result = checkLinearizability(registerModel, shape(22), { timeoutMs });
    const elapsed = performance.now() - started;
    expect(result.verdict).toBe('unknown');
    expect(result.partitions[0]?.undecided).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs);
    expect(elapsed).toBeLessThan(timeoutMs * 1.1);
    expect(describeUndecided(result)).toMatch(/^unknown: stopped by the time limit \(1 s\); /);
  });
});
