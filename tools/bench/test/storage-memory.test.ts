import { describe, expect, it } from 'vitest';
import { linearSlope, mergeResults, type SuiteReport } from '../src/results.js';
import { runMemoryWorkload, type MemorySample } from '../src/suites/memory-workload.js';
import { steadyState } from '../src/suites/storage-memory.js';

function sample(applied: number, heapAfterGcBytes: number): MemorySample {
  return {
    applied,
    elapsedMs: 0,
    rssBytes: 100 * 2 ** 20,
    heapUsedBytes: heapAfterGcBytes,
    heapAfterGcBytes,
    heapTotalBytes: 0,
    externalBytes: 0,
    logEntries: [1000],
  };
}

describe('memory figures', () => {
  it('fits a least-squares slope, and gives 0 when there is nothing to fit', () => {
    expect(linearSlope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2);
    expect(linearSlope([0, 1, 2, 3], [5, 4, 6, 5])).toBeCloseTo(0.2);
    expect(linearSlope([1], [1])).toBe(0);
    expect(linearSlope([2, 2], [1, 9])).toBe(0);
  });

  it('reads steady-state growth from the second half of the samples only', () => {
    // Start-up growth in the first half must not count; a flat second half is no growth.
    const flat = [sample(100_000, 1e6), sample(300_000, 8e6), sample(500_000, 8e6), sample(750_000, 8e6), sample(1_000_000, 8e6)];
    expect(steadyState(flat, 1_000_000)).toMatchObject({ heapSlopeKiBPer100k: 0, heapGrowthSecondHalfKiB: 0 });
    // A leak of 40 bytes per entry: 3,906 KiB per 100,000 entries.
    const leaking = [500_000, 750_000, 1_000_000].map((n) => sample(n, 8e6 + 40 * n));
    expect(steadyState(leaking, 1_000_000).heapSlopeKiBPer100k).toBe(3906);
    expect(steadyState(leaking, 1_000_000).heapGrowthSecondHalfKiB).toBe(19531);
  });
});

describe('partial runs', () => {
  it('replace the rows they measured again and keep the others, dated', () => {
    const previous: SuiteReport = {
      suite: 'storage',
      machine: { cpus: 2, cpuModel: 'x', memoryGiB: 1, node: 'v20', platform: 'linux-x64', date: '2026-01-01T00:00:00.000Z' },
      results: [
        { system: 's', scenario: 'append', clients: 1, opsPerSec: 10, p50Ms: 1, p99Ms: 2 },
        { system: 's', scenario: 'memory', clients: 256, opsPerSec: 5, p50Ms: 1, p99Ms: 2, peakRssMiB: 300 },
      ],
    };
    const merged = mergeResults(previous, [
      { system: 's', scenario: 'memory', clients: 256, opsPerSec: 6, p50Ms: 1, p99Ms: 2, peakRssMiB: 120 },
      { system: 's', scenario: 'memory-3', clients: 256, opsPerSec: 7, p50Ms: 1, p99Ms: 2 },
    ]);
    expect(merged.map((r) => [r.scenario, r.opsPerSec, r['measuredAt']])).toEqual([
      ['append', 10, '2026-01-01T00:00:00.000Z'],
      ['memory', 6, undefined],
      ['memory-3', 7, undefined],
    ]);
  });
});

describe('the memory workload', () => {
  it('applies past the target and keeps every log bounded by the snapshot policy', async () => {
    const report = await runMemoryWorkload({
      nodes: 1,
      entries: 3000,
      commandBytes: 256,
      keys: 64,
      inFlight: 32,
      sampleEvery: 1000,
      snapshotEntries: 500,
      tickIntervalMs: 5,
    });
    expect(report.applied).toBeGreaterThanOrEqual(3000);
    expect(report.entryBytes).toBeGreaterThan(256);
    expect(report.samples.map((s) => s.applied >= 1000)).toEqual([true, true, true]);
    expect(report.samples[2]!.applied).toBeGreaterThanOrEqual(3000);
    expect(report.snapshots).toBeGreaterThanOrEqual(6);
    // Compaction keeps RaftNode's 1,000 retained entries; between snapshots the
    // log grows by at most the policy's 500 plus what one Ready applies.
    expect(report.peakLogEntries).toBeLessThanOrEqual(1000 + 500 + 32 + 1);
    expect(report.peakRssBytes).toBeGreaterThan(0);
    expect(report.p50Ms).toBeGreaterThan(0);
  }, 30_000);
});
