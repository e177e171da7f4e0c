import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInChild } from '../child.js';
import { quantile, type BenchResult, type SuiteReport } from '../results.js';
import type { CheckerRunConfig, CheckerRunReport, CheckerScenario, FastPathRunConfig, FastPathRunReport } from './checker-workload.js';

const CHECKER_WORKER = new URL('./checker-worker.js', import.meta.url);
const FAST_PATH_WORKER = new URL('./checker-fast-path-worker.js', import.meta.url);
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
  /** Rounds of the `fast-path` scenario: checks with the fast path and without it, interleaved. */
  readonly fastPathRounds: number;
  /** `histories`, `exponential`, `fast-path`; all when undefined. */
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

/** A `fast-path` row: medians with the fast path (p50Ms) and without it, and their ratio, from one process. */
function fastPathRow(h: HistoryScenario, run: FastPathRunReport): BenchResult {
  const median = (values: readonly number[]): number => quantile(sorted(values), 0.5);
  const onMs = median(run.onMs);
  const offMs = median(run.offMs);
  const onCpuMs = median(run.onCpuMs);
  const offCpuMs = median(run.offCpuMs);
  return {
    system: 'synod',
    scenario: `${h.scenario}-fast-path`,
    clients: h.clients,
    opsPerSec: onMs === 0 ? 0 : run.operations / (onMs / 1000),
    p50Ms: round(onMs),
    p99Ms: round(Math.max(...run.onMs)),
    operations: run.operations,
    rounds: run.onMs.length,
    verdict: run.verdictOn === run.verdictOff ? run.verdictOn : `${run.verdictOn} (off: ${run.verdictOff})`,
    fastPathOffMs: round(offMs),
    fastPathOnCpuMs: round(onCpuMs),
    fastPathOffCpuMs: round(offCpuMs),
    fastPathRatio: offMs === 0 ? 0 : Math.round((onMs / offMs) * 1000) / 1000,
    fastPathCpuRatio: offCpuMs === 0 ? 0 : Math.round((onCpuMs / offCpuMs) * 1000) / 1000,
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
  if (wants('fast-path')) {
    for (const h of HISTORIES) {
      const config: FastPathRunConfig = { scenario: h.scenario, seed: 1, rounds: options.fastPathRounds };
      results.push(fastPathRow(h, await runInChild<FastPathRunConfig, FastPathRunReport>(FAST_PATH_WORKER, config)));
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
  const fastPath = report.results.filter((r) => r['fastPathRatio'] !== undefined);
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
    ...(fastPath.length === 0
      ? []
      : [
          'Fast path on vs off (`--scenario fast-path`): one process per history (seed 1), two warm-up checks of each, then rounds of one check with the fast path (the default) and one with the full search alone (`maxConfigurations: Infinity`), alternating which goes first; medians over the rounds. CPU is the process\'s (user + system, all threads). A ratio above 1 means the fast path costs more than it saves on that history.',
          '',
          '| history | ops | verdict | rounds | on ms | off ms | on ÷ off | on CPU ms | off CPU ms | CPU on ÷ off |',
          '|---|---|---|---|---|---|---|---|---|---|',
          ...fastPath.map(
            (r) =>
              `| ${r.scenario} | ${cell(r['operations'])} | ${cell(r['verdict'])} | ${cell(r['rounds'])} | ${r.p50Ms} | ${cell(r['fastPathOffMs'])} | ${cell(r['fastPathRatio'])} | ${cell(r['fastPathOnCpuMs'])} | ${cell(r['fastPathOffCpuMs'])} | ${cell(r['fastPathCpuRatio'])} |`,
          ),
          '',
        ]),
  ];
  writeFileSync(join(outDir, 'checker.md'), lines.join('\n'));
}
