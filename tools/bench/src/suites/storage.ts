import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, type Entry } from '@synod/core';
import { quantile, type BenchResult } from '../results.js';

export interface StorageBenchOptions {
  /** Concurrent proposers, one result row each. */
  readonly clients: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly runs: number;
  /**
   * Parent of the temporary data directories. fdatasync cost depends on the
   * file system, so point this at the disk you care about.
   * @default os.tmpdir()
   */
  readonly baseDir?: string;
}

const ENTRY_BYTES = 256;

interface RunResult {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly fsyncsPerSec: number;
  readonly entriesPerFsync: number;
  readonly mbPerSec: number;
}

/**
 * Each proposer appends one 256-byte entry, awaits `sync()` and repeats
 * (closed loop), for `durationMs`. Returns the latencies of the appends
 * acknowledged in that window.
 */
async function drive(storage: FileStorage, clients: number, durationMs: number): Promise<number[]> {
  const data = new Uint8Array(ENTRY_BYTES).fill(7);
  const latencies: number[] = [];
  const endAt = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < endAt) {
        const started = performance.now();
        const entry: Entry = { index: storage.lastIndex() + 1, term: 1, type: 'normal', data };
        storage.append([entry]);
        await storage.sync();
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function runOnce(options: StorageBenchOptions, clients: number): Promise<RunResult> {
  const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'synod-bench-storage-'));
  try {
    const storage = await FileStorage.open(dir);
    await drive(storage, clients, options.warmupMs);
    const before = storage.stats();
    const started = performance.now();
    const latencies = await drive(storage, clients, options.durationMs);
    const elapsedS = (performance.now() - started) / 1000;
    const after = storage.stats();
    await storage.close();
    latencies.sort((a, b) => a - b);
    const fsyncs = after.fsyncs - before.fsyncs;
    return {
      opsPerSec: latencies.length / elapsedS,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      fsyncsPerSec: fsyncs / elapsedS,
      entriesPerFsync: fsyncs === 0 ? 0 : latencies.length / fsyncs,
      mbPerSec: (after.bytesWritten - before.bytesWritten) / elapsedS / 1e6,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * FileStorage append throughput with group commit: entries of 256 bytes per
 * second made durable, fdatasyncs per second and entries per fdatasync, for
 * 1 and many concurrent proposers. Medians over `runs` runs after a warm-up.
 */
export async function storageSuite(options: StorageBenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const clients of options.clients) {
    const perRun: RunResult[] = [];
    for (let run = 0; run < options.runs; run++) perRun.push(await runOnce(options, clients));
    const median = (pick: (r: RunResult) => number): number => {
      const xs = perRun.map(pick).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)]!;
    };
    results.push({
      system: 'synod-file-storage',
      scenario: 'append-256B-then-sync',
      clients,
      opsPerSec: median((r) => r.opsPerSec),
      p50Ms: median((r) => r.p50Ms),
      p99Ms: median((r) => r.p99Ms),
      fsyncsPerSec: median((r) => r.fsyncsPerSec),
      entriesPerFsync: median((r) => r.entriesPerFsync),
      mbPerSec: median((r) => r.mbPerSec),
      runs: options.runs,
    });
  }
  return results;
}
