import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
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
  readonly date: string;
}

export function machineFacts(): MachineFacts {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** The value at quantile q (0..1) of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
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
    `${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}, ${report.machine.date}`,
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
