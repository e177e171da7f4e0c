import { runInChild } from '../child.js';
import { linearSlope, type BenchResult } from '../results.js';
import type { MemorySample, MemoryWorkloadConfig, MemoryWorkloadReport } from './memory-workload.js';

/** One memory run: how many nodes share the process and how far they go. */
export interface MemoryScenario {
  readonly nodes: number;
  readonly entries: number;
  readonly sampleEvery: number;
}

export interface StorageMemoryOptions {
  readonly scenarios: readonly MemoryScenario[];
  /** Parent of the temporary data directories. @default os.tmpdir() */
  readonly baseDir?: string;
}

const MIB = 2 ** 20;
const KIB = 2 ** 10;
/** The budget for one node's peak resident set. */
export const PEAK_RSS_TARGET_MIB = 256;
/**
 * "No growth" in numbers: live heap rising by less than one byte per applied
 * entry over the second half of the run. A leak of any per-entry record (a
 * map entry, an index slot) costs tens of bytes per entry, so it shows far
 * above this; below it is noise from JIT code and the position of the
 * in-flight proposals.
 */
export const GROWTH_TARGET_KIB_PER_100K = 100;

const MEMORY_WORKER = new URL('./memory-worker.js', import.meta.url);

const WORKLOAD = { commandBytes: 256, keys: 1024, inFlight: 256 } as const;

const mib = (bytes: number): number => Math.round((bytes / MIB) * 10) / 10;
const kib = (bytes: number): number => Math.round(bytes / KIB);

/**
 * Steady-state figures from the compaction-aligned samples of the second
 * half of the run: the least-squares slope of live heap (and of RSS) per
 * 100,000 entries, and the live heap at the first sample past the halfway
 * point and at the last one.
 */
export function steadyState(samples: readonly MemorySample[], entries: number): {
  readonly heapSlopeKiBPer100k: number;
  readonly rssSlopeMiBPer100k: number;
  readonly heapAtHalfMiB: number;
  readonly heapAtFullMiB: number;
  readonly heapGrowthSecondHalfKiB: number;
} {
  const half = samples.filter((s) => s.applied >= entries / 2);
  const applied = half.map((s) => s.applied);
  const first = half[0];
  const last = half[half.length - 1];
  return {
    heapSlopeKiBPer100k: kib(linearSlope(applied, half.map((s) => s.heapAfterGcBytes)) * 100_000),
    rssSlopeMiBPer100k: mib(linearSlope(applied, half.map((s) => s.rssBytes)) * 100_000),
    heapAtHalfMiB: first === undefined ? 0 : mib(first.heapAfterGcBytes),
    heapAtFullMiB: last === undefined ? 0 : mib(last.heapAfterGcBytes),
    heapGrowthSecondHalfKiB: first === undefined || last === undefined ? 0 : kib(last.heapAfterGcBytes - first.heapAfterGcBytes),
  };
}

function toResult(report: MemoryWorkloadReport): BenchResult {
  const { config } = report;
  const steady = steadyState(report.samples, config.entries);
  const peakRssMiB = mib(report.peakRssBytes);
  return {
    system: 'synod-raft-file-storage',
    scenario: config.nodes === 1 ? 'memory-256B-kv-1-node' : `memory-256B-kv-${config.nodes}-nodes-1-process`,
    clients: config.inFlight,
    opsPerSec: report.applied / (report.elapsedMs / 1000),
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    nodes: config.nodes,
    entries: report.applied,
    entryBytes: report.entryBytes,
    commandBytes: config.commandBytes,
    keys: config.keys,
    snapshots: report.snapshots,
    peakRssMiB,
    startRssMiB: mib(report.start.rssBytes),
    endRssMiB: mib(report.end.rssBytes),
    endHeapMiB: mib(report.end.heapAfterGcBytes),
    endHeapTotalMiB: mib(report.end.heapTotalBytes),
    endExternalMiB: mib(report.end.externalBytes),
    ...(report.rssAnonBytes !== undefined ? { endRssAnonMiB: mib(report.rssAnonBytes) } : {}),
    ...(report.rssFileBytes !== undefined ? { endRssFileMiB: mib(report.rssFileBytes) } : {}),
    ...steady,
    peakLogEntries: report.peakLogEntries,
    segmentsAtEnd: Math.max(0, ...report.segments),
    forcedGc: report.forcedGc,
    meetsTarget:
      peakRssMiB < PEAK_RSS_TARGET_MIB && report.forcedGc && steady.heapSlopeKiBPer100k < GROWTH_TARGET_KIB_PER_100K,
    samples: [report.start, ...report.samples, report.end].map((s) => ({
      applied: s.applied,
      elapsedMs: Math.round(s.elapsedMs),
      rssMiB: mib(s.rssBytes),
      heapUsedMiB: mib(s.heapUsedBytes),
      heapAfterGcMiB: mib(s.heapAfterGcBytes),
      heapAfterGcBytes: s.heapAfterGcBytes,
      heapTotalMiB: mib(s.heapTotalBytes),
      externalMiB: mib(s.externalBytes),
      logEntries: s.logEntries,
    })),
  };
}

/**
 * The memory part of the storage suite: for each scenario, a child process
 * (node --expose-gc) runs Raft voters on FileStorage with the KV state
 * machine over 1,024 keys and automatic snapshots (RaftNode's defaults:
 * every 10,000 entries, 1,000 kept), keeps 256 puts of 256 bytes in flight
 * on the leader until every node has applied and compacted past `entries`,
 * and samples its memory after every compaction past a multiple of
 * `sampleEvery`. One row per scenario, with the samples in the row.
 */
export async function storageMemorySuite(options: StorageMemoryOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const scenario of options.scenarios) {
    const config: MemoryWorkloadConfig = {
      ...WORKLOAD,
      ...scenario,
      ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}),
    };
    const report = await runInChild<MemoryWorkloadConfig, MemoryWorkloadReport>(MEMORY_WORKER, config, {
      execArgv: ['--expose-gc'],
    });
    results.push(toResult(report));
  }
  return results;
}
