import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInChild } from '../child.js';
import { quantile, type BenchResult, type SuiteReport } from '../results.js';
import type { CheckerRunConfig, CheckerRunReport, CheckerScenario } from './checker-workload.js';

const CHECKER_WORKER = new URL('./checker-worker.js', import.meta.url);
const MIB = 2 ** 20;

/**
 * The issue's figures (issue 19), measured on this kind of machine,
 * single-threaded, in an earlier run: Porcupine (Go) and Synod's checker
 * before this suite existed. They are not measured side by side with ours,
 * so a ratio against them is across runs.
 */
interface Reference {
  readonly porcupineMs?: number;
  readonly synodBeforeMs?: number;
}

interface HistoryScenario extends Reference {
  readonly scenario: CheckerScenario;
  readonly clients: number;
}

const HISTORIES: readonly HistoryScenario[] = [
  { scenario: 'kv-10k-100-keys', clients: 50, porcupineMs: 21, synodBeforeMs: 86 },
  { scenario: 'register-10k-little-overlap', clients: 4, porcupineMs: 258, synodBeforeMs: 555 },
  { scenario: 'register-50k-little-overlap', clients: 4, porcupineMs: 4400, synodBeforeMs: 9500 },
  { scenario: 'register-50k-stale-read', clients: 4, porcupineMs: 2800, synodBeforeMs: 5500 },
  { scenario: 'kv-50k-100-keys', clients: 50 },
  // The 50 Jepsen etcd fixtures, checked one after another: small, hard histories.
  { scenario: 'jepsen-etcd-50', clients: 0 },
];

const SHAPES: readonly CheckerScenario[] = ['writes-then-stale-read', 'reads-of-one-value'];

export interface CheckerBenchOptions {
  /** Seeds per generated history (one child process each). */
  readonly seeds: number;
  /** Warm-up checks of a smaller history of the same shape before the measured one. */
  readonly warmups: number;
  /** The k of the exponential shapes. */
  readonly ks: readonly number[];
  /** `histories`, `exponential`; both when undefined. */
  readonly scenarios?: readonly string[];
}

const mib = (bytes: number): number => Math.round((bytes / MIB) * 10) / 10;
const round = (ms: number): number => Math.round(ms * 10) / 10;

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function historyRow(h: HistoryScenario, runs: readonly CheckerRunReport[]): BenchResult {
  const times = sorted(runs.map((r) => r.checkMs));
  const medianMs = quantile(times, 0.5);
  const verdicts = [...new Set(runs.map((r) => r.verdict))];
  const operations = runs[0]?.operations ?? 0;
  return {
    system: 'synod',
    scenario: h.scenario,
    clients: h.clients,
    opsPerSec: medianMs === 0 ? 0 : operations / (medianMs / 1000),
    p50Ms: round(medianMs),
    p99Ms: round(times[times.length - 1] ?? 0),
    operations,
    seeds: runs.length,
    verdict: verdicts.join('/'),
    minMs: round(times[0] ?? 0),
    maxMs: round(times[times.length - 1] ?? 0),
    cpuMs: round(quantile(sorted(runs.map((r) => r.cpuMs)), 0.5)),
    pairMs: round(quantile(sorted(runs.map((r) => r.pairMs)), 0.5)),
    firstCheckMs: round(quantile(sorted(runs.map((r) => r.firstCheckMs)), 0.5)),
    firstCheckMinMs: round(Math.min(...runs.map((r) => r.firstCheckMs))),
    firstPairMs: round(quantile(sorted(runs.map((r) => r.firstPairMs)), 0.5)),
    explored: quantile(sorted(runs.map((r) => r.explored)), 0.5),
    checkerPeakMiB: mib(Math.max(...runs.map((r) => r.checkerPeakBytes))),
    peakRssMiB: mib(quantile(sorted(runs.map((r) => r.peakRssBytes)), 0.5)),
    rssGrowthMiB: mib(quantile(sorted(runs.map((r) => r.peakRssBytes - r.rssBeforeBytes)), 0.5)),
    ...(h.porcupineMs === undefined
      ? {}
      : { porcupineIssueMs: h.porcupineMs, speedupVsPorcupineAcrossRuns: round(h.porcupineMs / medianMs) }),
    ...(h.synodBeforeMs === undefined ? {} : { synodBeforeIssueMs: h.synodBeforeMs }),
  };
}

function shapeRow(shape: CheckerScenario, k: number, run: CheckerRunReport): BenchResult {
  return {
    system: 'synod',
    scenario: `${shape}-k${k}`,
    clients: k,
    opsPerSec: 0,
    p50Ms: round(run.checkMs),
    p99Ms: round(run.checkMs),
    operations: run.operations,
    seeds: 1,
    verdict: run.undecided === undefined ? run.verdict : `${run.verdict} (${run.undecided})`,
    cpuMs: round(run.cpuMs),
    explored: run.explored,
    bytesPerConfiguration: run.explored === 0 ? 0 : Math.round(run.checkerPeakBytes / run.explored),
    checkerPeakMiB: mib(run.checkerPeakBytes),
    budgetMiB: mib(run.budgetBytes),
    peakRssMiB: mib(run.peakRssBytes),
  };
}

/**
 * The linearizability checker on generated histories, each history checked
 * in a child process of its own (after warm-up checks of a smaller history
 * of the same shape) with the default options, so the memory figures are
 * the process's: the kernel's peak resident set and the checker's own
 * accounting of its budget.
 */
export async function checkerSuite(options: CheckerBenchOptions): Promise<BenchResult[]> {
  const wants = (name: string): boolean => options.scenarios === undefined || options.scenarios.includes(name);
  const results: BenchResult[] = [];
  if (wants('histories')) {
    for (const h of HISTORIES) {
      const runs: CheckerRunReport[] = [];
      const seeds = h.scenario === 'jepsen-etcd-50' ? 1 : options.seeds;
      for (let seed = 1; seed <= seeds; seed++) {
        const config: CheckerRunConfig = { scenario: h.scenario, seed, warmups: options.warmups };
        runs.push(await runInChild<CheckerRunConfig, CheckerRunReport>(CHECKER_WORKER, config));
      }
      results.push(historyRow(h, runs));
    }
  }
  if (wants('exponential')) {
    for (const shape of SHAPES) {
      for (const k of options.ks) {
        const config: CheckerRunConfig = { scenario: shape, seed: 1, k, warmups: options.warmups };
        results.push(shapeRow(shape, k, await runInChild<CheckerRunConfig, CheckerRunReport>(CHECKER_WORKER, config)));
      }
    }
  }
  return results;
}

/** `checker.md`: one table for the histories, one for the exponential shapes. */
export function writeCheckerTables(outDir: string, report: SuiteReport): void {
  const { machine } = report;
  const histories = report.results.filter((r) => r['minMs'] !== undefined);
  const shapes = report.results.filter((r) => r['bytesPerConfiguration'] !== undefined);
  const cell = (v: unknown): string => (v === undefined ? '–' : String(v));
  const lines = [
    '# checker',
    '',
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.date}`,
    '',
    'Check time: `checkOperations` on paired operations (as Porcupine\'s `CheckOperations` takes them), median over seeds (min–max), warm: after checks of three other histories of the same size, one child process per seed. "Cold ms" is the first of those checks in its process, on code the JIT has not optimised yet (median over the seeds\' processes, min in brackets): `checkOperations` alone, everything a fresh process does in it; "cold pairing ms" is the `operationsFromHistory` just before it, timed on its own, which `checkLinearizability` adds. Porcupine and "before" are the issue\'s figures, from an earlier run on this kind of machine.',
    '',
    '| history | ops | verdict | check ms (min–max) | CPU ms | pairing ms | cold ms (min) | cold pairing ms | peak RSS MiB | checker peak MiB | Porcupine ms | before ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...histories.map(
      (r) =>
        `| ${r.scenario} | ${cell(r['operations'])} | ${cell(r['verdict'])} | ${r.p50Ms} (${cell(r['minMs'])}–${cell(r['maxMs'])}) | ${cell(r['cpuMs'])} | ${cell(r['pairMs'])} | ${cell(r['firstCheckMs'])} (${cell(r['firstCheckMinMs'])}) | ${cell(r['firstPairMs'])} | ${cell(r['peakRssMiB'])} | ${cell(r['checkerPeakMiB'])} | ${cell(r['porcupineIssueMs'])} | ${cell(r['synodBeforeIssueMs'])} |`,
    ),
    '',
    'Exponential shapes with the default memory budget:',
    '',
    '| shape | verdict | check ms | configurations | bytes/configuration | checker peak MiB | budget MiB | peak RSS MiB |',
    '|---|---|---|---|---|---|---|---|',
    ...shapes.map(
      (r) =>
        `| ${r.scenario} | ${cell(r['verdict'])} | ${r.p50Ms} | ${cell(r['explored'])} | ${cell(r['bytesPerConfiguration'])} | ${cell(r['checkerPeakMiB'])} | ${cell(r['budgetMiB'])} | ${cell(r['peakRssMiB'])} |`,
    ),
    '',
  ];
  writeFileSync(join(outDir, 'checker.md'), lines.join('\n'));
}
