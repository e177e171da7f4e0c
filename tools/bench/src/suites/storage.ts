import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, type Entry } from '@synod/core';
import { quantile, type BenchResult, type SuiteReport } from '../results.js';
import { GROWTH_TARGET_KIB_PER_100K, PEAK_RSS_TARGET_MIB, storageMemorySuite } from './storage-memory.js';

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

export interface SnapshotStallOptions {
  readonly snapshotBytes: number;
  readonly runs: number;
  readonly baseDir?: string;
}

interface StallRun {
  readonly maxStallMs: number;
  readonly baselineMaxStallMs: number;
  readonly writeMs: number;
  readonly createCallMs: number;
  readonly appendsPerSec: number;
}

/**
 * Measures the longest gap between turns of the event loop: a 1 ms timer
 * re-armed on every turn, the gap counted from start (so a call that blocks
 * right after `start` is seen) to `stop`. A gap includes the timer's 1 ms.
 */
function stallProbe(): { stop(): number } {
  let last = performance.now();
  let longest = 0;
  let timer: NodeJS.Timeout;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    stop(): number {
      clearTimeout(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
}

/**
 * The longest event-loop stall while FileStorage writes a snapshot of
 * `snapshotBytes` (createSnapshot until its file is durable), with one
 * proposer appending 256-byte entries and awaiting sync() meanwhile, so the
 * figure covers what a node's other work sees. The same probe, run as long
 * with the proposer alone, gives the machine's own stalls (the noise floor:
 * scheduling on a busy machine, GC).
 */
async function snapshotStallOnce(options: SnapshotStallOptions): Promise<StallRun> {
  const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'synod-bench-snapshot-'));
  try {
    const storage = await FileStorage.open(dir);
    const data = new Uint8Array(options.snapshotBytes).fill(7);
    const entryData = new Uint8Array(ENTRY_BYTES).fill(7);
    for (let i = 1; i <= 1000; i++) storage.append([{ index: i, term: 1, type: 'normal', data: entryData }]);
    await storage.sync();
    let appends = 0;
    let writing = true;
    const proposer = (async () => {
      while (writing) {
        storage.append([{ index: storage.lastIndex() + 1, term: 1, type: 'normal', data: entryData }]);
        await storage.sync();
        appends++;
      }
    })();
    // Let the proposer get going before the snapshot starts.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const probe = stallProbe();
    const started = performance.now();
    storage.createSnapshot(1000, data);
    const createCallMs = performance.now() - started;
    await storage.snapshotsWritten();
    const writeMs = performance.now() - started;
    const maxStallMs = probe.stop();
    const appendsDuring = appends;
    const baseline = stallProbe();
    await new Promise((resolve) => setTimeout(resolve, writeMs));
    const baselineMaxStallMs = baseline.stop();
    writing = false;
    await proposer;
    await storage.close();
    return {
      maxStallMs,
      baselineMaxStallMs,
      writeMs,
      createCallMs,
      appendsPerSec: appendsDuring / (writeMs / 1000),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Medians over `runs` of {@link snapshotStallOnce}. */
export async function snapshotStallSuite(options: SnapshotStallOptions): Promise<BenchResult[]> {
  const perRun: StallRun[] = [];
  for (let run = 0; run < options.runs; run++) perRun.push(await snapshotStallOnce(options));
  const median = (pick: (r: StallRun) => number): number => {
    const xs = perRun.map(pick).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };
  return [
    {
      system: 'synod-file-storage',
      scenario: `snapshot-${Math.round(options.snapshotBytes / (1024 * 1024))}MiB-stall`,
      clients: 1,
      opsPerSec: median((r) => r.appendsPerSec),
      p50Ms: median((r) => r.maxStallMs),
      p99Ms: Math.max(...perRun.map((r) => r.maxStallMs)),
      maxStallMs: median((r) => r.maxStallMs),
      worstMaxStallMs: Math.max(...perRun.map((r) => r.maxStallMs)),
      baselineMaxStallMs: median((r) => r.baselineMaxStallMs),
      createCallMs: median((r) => r.createCallMs),
      writeMs: median((r) => r.writeMs),
      runs: options.runs,
    },
  ];
}

/** The storage suite's scenarios, selectable with `pnpm bench storage --scenario NAME`. */
export const storageScenarios = {
  append: 'FileStorage alone: 256-byte appends, each awaiting sync(), from 1, 16 and 256 proposers',
  snapshot: 'longest event-loop stall while FileStorage writes a 100 MiB snapshot, one proposer appending meanwhile',
  memory: 'peak RSS and heap of Raft on FileStorage applying 1M 256-byte puts with compaction (1 node; 3 in one process)',
} as const;

export type StorageScenario = keyof typeof storageScenarios;

const isMemoryRow = (r: BenchResult): boolean => r.scenario.startsWith('memory-');
const isSnapshotRow = (r: BenchResult): boolean => r.scenario.startsWith('snapshot-');

const fixed = (value: unknown, digits: number): string => (typeof value === 'number' ? value.toFixed(digits) : '');
const thousands = (value: unknown): string =>
  typeof value === 'number' ? Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',') : '';
const table = (header: readonly string[], rows: readonly (readonly string[])[]): string[] => [
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---|').join('')}`,
  ...rows.map((cells) => `| ${cells.join(' | ')} |`),
];

/** storage.md: one table for append throughput, one for memory, and what each row means. */
export function writeStorageMarkdown(outDir: string, report: SuiteReport): void {
  const append = report.results.filter((r) => !isMemoryRow(r) && !isSnapshotRow(r));
  const snapshots = report.results.filter(isSnapshotRow);
  const memory = report.results.filter(isMemoryRow);
  const m = report.machine;
  const lines = [`# ${report.suite}`, '', `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}`, ''];
  if (append.length > 0) {
    // Rows kept from an earlier run by `--scenario` carry that run's date.
    const dated = append.some((r) => r['measuredAt'] !== undefined);
    lines.push(
      '## Group commit (`--scenario append`)',
      '',
      'FileStorage alone: each proposer appends one 256-byte entry and awaits `sync()`, in a closed loop.',
      'Medians of the runs.',
      '',
      ...table(
        [
          'proposers',
          'entries/s',
          'p50 ms',
          'p99 ms',
          'fdatasyncs/s',
          'entries per fdatasync',
          'MB/s written',
          'runs',
          ...(dated ? ['measured'] : []),
        ],
        append.map((r) => [
          String(r.clients),
          thousands(r.opsPerSec),
          fixed(r.p50Ms, 2),
          fixed(r.p99Ms, 2),
          thousands(r['fsyncsPerSec']),
          fixed(r['entriesPerFsync'], 1),
          fixed(r['mbPerSec'], 1),
          String(r['runs'] ?? ''),
          ...(dated ? [String(r['measuredAt'] ?? m.date)] : []),
        ]),
      ),
      '',
    );
  }
  if (snapshots.length > 0) {
    lines.push(
      '## Event-loop stalls while a snapshot is written (`--scenario snapshot`)',
      '',
      'FileStorage.createSnapshot of a 100 MiB state, timed until its file is durable, while one proposer keeps',
      'appending 256-byte entries and awaiting `sync()`. The file is written in 1 MiB chunks with the event loop',
      'running between them and an fdatasync off the loop. A stall is the longest gap between turns of the event',
      'loop (a 1 ms timer re-armed every turn, so each gap includes that 1 ms); the noise floor is the same probe',
      'run as long again with the proposer alone. Medians of the runs, and the worst run.',
      '',
      ...table(
        ['snapshot', 'longest stall ms', 'worst run ms', 'noise floor ms', 'createSnapshot call ms', 'write until durable ms', 'appends/s meanwhile', 'runs'],
        snapshots.map((r) => [
          r.scenario.replace(/^snapshot-|-stall$/g, ''),
          fixed(r['maxStallMs'], 1),
          fixed(r['worstMaxStallMs'], 1),
          fixed(r['baselineMaxStallMs'], 1),
          fixed(r['createCallMs'], 2),
          thousands(r['writeMs']),
          thousands(r.opsPerSec),
          String(r['runs'] ?? ''),
        ]),
      ),
      '',
    );
  }
  if (memory.length > 0) {
    lines.push(
      '## Memory with automatic compaction (`--scenario memory`)',
      '',
      'A child process (`node --expose-gc`) runs Raft voters, each on its own FileStorage, over the memory',
      "transport, with the KV state machine over 1,024 keys and RaftNode's default snapshot policy (every 10,000",
      'entries, 1,000 kept). The leader keeps 256 puts of 256 bytes in flight until every node has applied and',
      'compacted past 1,000,000 entries. Figures are for the whole process: with 3 nodes, all three share it and',
      "nothing is divided. Peak RSS is the kernel's high-water mark. Heap figures are live objects after a forced",
      'full collection, sampled right after compactions; the slopes are least-squares fits over the second half of',
      `the run. Target: peak RSS under ${PEAK_RSS_TARGET_MIB} MiB per node, and a heap slope under`,
      `${GROWTH_TARGET_KIB_PER_100K} KiB per 100,000 entries (1 byte per entry). The sample series are in storage.json.`,
      '',
      ...table(
        [
          'nodes',
          'entries',
          'entries/s',
          'p50 ms',
          'p99 ms',
          'peak RSS MiB',
          'RSS start → end MiB',
          'heap at end MiB',
          'heap reserved MiB',
          'heap ½ → end MiB',
          'heap slope KiB/100k',
          'RSS slope MiB/100k',
          'longest log',
          'target met',
        ],
        memory.map((r) => [
          String(r['nodes']),
          thousands(r['entries']),
          thousands(r.opsPerSec),
          fixed(r.p50Ms, 2),
          fixed(r.p99Ms, 2),
          fixed(r['peakRssMiB'], 1),
          `${fixed(r['startRssMiB'], 1)} → ${fixed(r['endRssMiB'], 1)}`,
          fixed(r['endHeapMiB'], 1),
          fixed(r['endHeapTotalMiB'], 1),
          `${fixed(r['heapAtHalfMiB'], 1)} → ${fixed(r['heapAtFullMiB'], 1)}`,
          String(r['heapSlopeKiBPer100k']),
          fixed(r['rssSlopeMiBPer100k'], 1),
          thousands(r['peakLogEntries']),
          r['meetsTarget'] === true ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  }
  writeFileSync(join(outDir, `${report.suite}.md`), lines.join('\n'));
}

/**
 * The `storage` entry of the bench CLI: `append` (FileStorage group commit)
 * and `memory` (a node's memory over a million applied entries).
 */
export function storageBenchSuite(): {
  readonly description: string;
  readonly scenarios: Readonly<Record<StorageScenario, string>>;
  run(quick: boolean, scenarios?: readonly string[]): Promise<BenchResult[]>;
  afterReport(outDir: string, report: SuiteReport): void;
} {
  return {
    description:
      'FileStorage group commit from 1/16/256 proposers; event-loop stalls while a 100 MiB snapshot is written; memory of Raft on FileStorage over 1M entries',
    scenarios: storageScenarios,
    run: async (quick, scenarios) => {
      const selected = (name: StorageScenario): boolean => scenarios === undefined || scenarios.includes(name);
      const results: BenchResult[] = [];
      if (selected('append')) {
        results.push(
          ...(await storageSuite({
            clients: quick ? [1, 256] : [1, 16, 256],
            durationMs: quick ? 1000 : 5000,
            warmupMs: quick ? 300 : 1000,
            runs: quick ? 1 : 3,
          })),
        );
      }
      if (selected('snapshot')) {
        results.push(...(await snapshotStallSuite({ snapshotBytes: 100 * 1024 * 1024, runs: quick ? 1 : 3 })));
      }
      if (selected('memory')) {
        results.push(
          ...(await storageMemorySuite({
            scenarios: quick
              ? [{ nodes: 1, entries: 200_000, sampleEvery: 10_000 }]
              : [
                  { nodes: 1, entries: 1_000_000, sampleEvery: 25_000 },
                  { nodes: 3, entries: 1_000_000, sampleEvery: 25_000 },
                ],
          })),
        );
      }
      return results;
    },
    afterReport: writeStorageMarkdown,
  };
}
