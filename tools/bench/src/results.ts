import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** One measured configuration, in the shape DESIGN.md fixes for bench results. */
export interface BenchResult {
  readonly system: string;
  readonly scenario: string;
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly [extra: string]: unknown;
}

export interface SuiteReport {
  readonly suite: string;
  readonly machine: MachineFacts;
  readonly results: readonly BenchResult[];
}

export interface MachineFacts {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** The kernel release (`uname -r`). */
  readonly kernel?: string;
  /** The 1-minute load average when the report was written: other jobs share the cores. */
  readonly loadAverage1m?: number;
  /** fdatasync latency of a 4 KiB append in the directory the suites keep their data in, measured at the start of the run. */
  readonly fdatasync?: FdatasyncLatency;
  readonly date: string;
}

/** What {@link measureFdatasync} found. */
export interface FdatasyncLatency {
  readonly dir: string;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function machineFacts(fdatasync?: FdatasyncLatency): MachineFacts {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    ...(fdatasync === undefined ? {} : { fdatasync }),
    date: new Date().toISOString(),
  };
}

/**
 * The latency of appending 4 KiB to a file and fdatasyncing it, `samples`
 * times, in a fresh directory under `parent` (the directory the suites put
 * their data directories in). The floor of a durable write on this machine.
 */
export function measureFdatasync(parent: string, samples = 50): FdatasyncLatency {
  const dir = mkdtempSync(`${parent.replace(/\/$/, '')}/synod-bench-fdatasync-`);
  const fd = openSync(`${dir}/probe`, 'w');
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, block);
      const start = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return { dir: parent, samples, p50Ms: round(quantile(times, 0.5)), p99Ms: round(quantile(times, 0.99)) };
}

/** The value at quantile q (0..1) of an ascending array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * The least-squares slope of `ys` over `xs` (units of y per unit of x), or 0
 * with fewer than two distinct x values.
 */
export function linearSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += xs[i]! / n;
    meanY += ys[i]! / n;
  }
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    covariance += (xs[i]! - meanX) * (ys[i]! - meanY);
    variance += (xs[i]! - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/**
 * The results of a partial run (some scenarios of a suite) merged into the
 * report written before: rows measured again (same system, scenario and
 * clients) replace the old ones in place, new rows go at the end, and the
 * rows kept from the earlier run get `measuredAt` with that run's date
 * (unless they have one already), so a reader can tell the two runs apart.
 */
export function mergeResults(previous: SuiteReport, fresh: readonly BenchResult[]): BenchResult[] {
  const key = (r: BenchResult): string => `${r.system}\u0000${r.scenario}\u0000${r.clients}`;
  const byKey = new Map(fresh.map((r) => [key(r), r]));
  const merged: BenchResult[] = previous.results.map((old) => {
    const replacement = byKey.get(key(old));
    if (replacement === undefined) return old['measuredAt'] === undefined ? { ...old, measuredAt: previous.machine.date } : old;
    byKey.delete(key(old));
    return replacement;
  });
  return [...merged, ...byKey.values()];
}

const STANDARD_COLUMNS = new Set(['system', 'scenario', 'clients', 'opsPerSec', 'p50Ms', 'p99Ms']);

function formatCell(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return String(value ?? '');
}

/**
 * Writes bench/results/<suite>.json and a markdown table beside it. Fields a
 * suite adds beyond the standard ones become extra columns.
 */
export function writeReport(outDir: string, report: SuiteReport): string {
  mkdirSync(outDir, { recursive: true });
  const jsonPath = join(outDir, `${report.suite}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const extras = [...new Set(report.results.flatMap((r) => Object.keys(r)))].filter((k) => !STANDARD_COLUMNS.has(k));
  const lines = [
    `# ${report.suite}`,
    '',
    describeMachine(report.machine),
    '',
    `| system | scenario | clients | ops/s | p50 ms | p99 ms |${extras.map((e) => ` ${e} |`).join('')}`,
    `|---|---|---|---|---|---|${extras.map(() => '---|').join('')}`,
    ...report.results.map(
      (r) =>
        `| ${r.system} | ${r.scenario} | ${r.clients} | ${Math.round(r.opsPerSec)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |${extras.map((e) => ` ${formatCell(r[e])} |`).join('')}`,
    ),
    '',
  ];
  writeFileSync(join(outDir, `${report.suite}.md`), lines.join('\n'));
  return jsonPath;
}

/** One line about the machine for a markdown report. */
export function describeMachine(machine: MachineFacts): string {
  const parts = [
    `${machine.cpus} × ${machine.cpuModel}`,
    `${machine.memoryGiB} GiB`,
    `Node ${machine.node}`,
    ...(machine.kernel === undefined ? [] : [`Linux ${machine.kernel}`]),
    ...(machine.fdatasync === undefined ? [] : [`fdatasync p50 ${machine.fdatasync.p50Ms} ms / p99 ${machine.fdatasync.p99Ms} ms in ${machine.fdatasync.dir}`]),
    ...(machine.loadAverage1m === undefined ? [] : [`load average ${machine.loadAverage1m} at the end`]),
    machine.date,
  ];
  return parts.join(', ');
}
