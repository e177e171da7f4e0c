import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkOperations,
  generateKvHistory,
  generateRegisterHistory,
  kvModel,
  operationsFromHistory,
  overlappingReadsOfOneValue,
  overlappingWritesThenStaleRead,
  parseJepsenHistory,
  registerModel,
  type CheckOptions,
  type History,
  type Model,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  type Verdict,
} from '@synod/testkit';

/** The histories of the `checker` suite, each built by the bench from a seed (or, for `jepsen-etcd`, read from the fixtures). */
export type CheckerScenario =
  | 'kv-10k-100-keys'
  | 'kv-50k-100-keys'
  | 'register-10k-little-overlap'
  | 'register-50k-little-overlap'
  | 'register-50k-stale-read'
  | 'jepsen-etcd-50'
  | 'writes-then-stale-read'
  | 'reads-of-one-value';

/** One measurement, run in a child process of its own. */
export interface CheckerRunConfig {
  readonly scenario: CheckerScenario;
  readonly seed: number;
  /** For the exponential shapes: the number of overlapping operations. */
  readonly k?: number;
  /**
   * Check this many other histories of the same shape first (other seeds; the
   * same size for generated histories, a smaller k for the exponential
   * shapes), so the measured check runs on warm, optimised code, as a
   * long-running checker does. The first of them is the cold figure.
   */
  readonly warmups: number;
}

export interface CheckerRunReport {
  readonly operations: number;
  readonly verdict: Verdict;
  readonly undecided?: string;
  /**
   * Time in `checkOperations`: the search on operations already paired, as
   * Porcupine's `CheckOperations` takes them.
   */
  readonly checkMs: number;
  readonly cpuMs: number;
  /** Time pairing invokes with completions (`operationsFromHistory`), which `checkLinearizability` adds. */
  readonly pairMs: number;
  /**
   * The first check of the process (the first warm-up: for generated histories
   * one of the same size, on code not yet optimised), for the cold-start
   * figure: `checkOperations` alone, everything a fresh process does in it.
   */
  readonly firstCheckMs: number;
  /** The pairing (`operationsFromHistory`) before that first check, also cold, timed on its own. */
  readonly firstPairMs: number;
  readonly explored: number;
  /** The checker's own accounting: the most bytes of its budget held at once. */
  readonly checkerPeakBytes: number;
  readonly budgetBytes: number;
  /** The kernel's high-water mark of the process's resident set, after the check. */
  readonly peakRssBytes: number;
  /** Resident set just before the measured check (history built, warm-ups done). */
  readonly rssBeforeBytes: number;
}

/** A model and a history for it, with their types tied together. */
interface Job<S, I, O> {
  readonly model: Model<S, I, O>;
  readonly histories: readonly History<I, O>[];
}

const JEPSEN_DIR = fileURLToPath(new URL('../../../../packages/testkit/test/fixtures/porcupine/jepsen/', import.meta.url));

function jepsenHistories(): History<RegisterInput, RegisterOutput>[] {
  return readdirSync(JEPSEN_DIR)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => parseJepsenHistory(readFileSync(join(JEPSEN_DIR, f), 'utf8')));
}

/**
 * The histories of a scenario at `scale` (1 for the measured run, less for
 * warm-ups). KV histories have 50 clients over 100 keys with 2 % of outcomes
 * unknown; register histories have 4 clients idle about twice as long as an
 * operation lasts, so operations rarely overlap; the stale read is planted at
 * 80 % of the history.
 */
function job(config: CheckerRunConfig, seed: number, scale: number): Job<unknown, unknown, unknown> {
  const ops = (n: number): number => Math.max(100, Math.round(n * scale));
  const k = Math.max(4, Math.round((config.k ?? 16) - (scale < 1 ? 6 : 0)));
  const as = <S, I, O>(j: Job<S, I, O>): Job<unknown, unknown, unknown> => j as unknown as Job<unknown, unknown, unknown>;
  switch (config.scenario) {
    case 'kv-10k-100-keys':
      return as({ model: kvModel, histories: [generateKvHistory({ seed, ops: ops(10_000), clients: 50, keys: 100, infoRate: 0.02 })] });
    case 'kv-50k-100-keys':
      return as({ model: kvModel, histories: [generateKvHistory({ seed, ops: ops(50_000), clients: 50, keys: 100, infoRate: 0.02 })] });
    case 'register-10k-little-overlap':
      return as({ model: registerModel, histories: [generateRegisterHistory({ seed, ops: ops(10_000), clients: 4 })] });
    case 'register-50k-little-overlap':
      return as({ model: registerModel, histories: [generateRegisterHistory({ seed, ops: ops(50_000), clients: 4 })] });
    case 'register-50k-stale-read':
      return as({ model: registerModel, histories: [generateRegisterHistory({ seed, ops: ops(50_000), clients: 4, staleReadAt: 0.8 })] });
    case 'jepsen-etcd-50': {
      const all = jepsenHistories();
      return as({ model: registerModel, histories: scale < 1 ? all.slice(0, 10) : all });
    }
    case 'writes-then-stale-read':
      return as({ model: registerModel, histories: [overlappingWritesThenStaleRead(k)] });
    case 'reads-of-one-value':
      return as({ model: registerModel, histories: [overlappingReadsOfOneValue(k)] });
  }
}

function isExponentialShape(scenario: CheckerScenario): boolean {
  return scenario === 'writes-then-stale-read' || scenario === 'reads-of-one-value';
}

const WORST: Record<Verdict, number> = { linearizable: 0, unknown: 1, 'not-linearizable': 2 };

/** Checks every history (already paired) of the job; one verdict (the worst), summed figures. */
function checkAll(
  model: Model<unknown, unknown, unknown>,
  histories: readonly (readonly Operation<unknown, unknown>[])[],
  options: CheckOptions,
): { verdict: Verdict; undecided: string | undefined; explored: number; peakBytes: number; budgetBytes: number } {
  let verdict: Verdict = 'linearizable';
  let undecided: string | undefined;
  let explored = 0;
  let peakBytes = 0;
  let budgetBytes = 0;
  for (const operations of histories) {
    const result = checkOperations(model, operations, options);
    if (WORST[result.verdict] > WORST[verdict]) verdict = result.verdict;
    undecided ??= result.partitions.find((p) => p.undecided !== undefined && p.undecided !== 'stopped-after-failure')?.undecided;
    explored += result.partitions.reduce((n, p) => n + p.explored, 0);
    peakBytes = Math.max(peakBytes, result.memory.peakBytes);
    budgetBytes = result.memory.budgetBytes;
  }
  return { verdict, undecided, explored, peakBytes, budgetBytes };
}

/** Runs one measurement in this process (the worker calls it; see `checkerSuite`). */
export async function measureCheck(config: CheckerRunConfig): Promise<CheckerRunReport> {
  let firstCheckMs = Number.NaN;
  let firstPairMs = Number.NaN;
  for (let i = 0; i < config.warmups; i++) {
    const warm = job(config, config.seed + 1000 + i, isExponentialShape(config.scenario) ? 0.2 : 1);
    const pairing = performance.now();
    const paired = warm.histories.map(operationsFromHistory);
    const started = performance.now();
    checkAll(warm.model, paired, {});
    if (i === 0) {
      firstCheckMs = performance.now() - started;
      firstPairMs = started - pairing;
    }
  }
  const measured = job(config, config.seed, 1);
  const operations = measured.histories.reduce((n, h) => n + h.filter((e) => e.type === 'invoke').length, 0);
  const rssBeforeBytes = process.memoryUsage().rss;
  const pairing = performance.now();
  const paired = measured.histories.map(operationsFromHistory);
  const pairMs = performance.now() - pairing;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const outcome = checkAll(measured.model, paired, {});
  const checkMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (config.warmups === 0) {
    firstCheckMs = checkMs;
    firstPairMs = pairMs;
  }
  return {
    operations,
    verdict: outcome.verdict,
    ...(outcome.undecided === undefined ? {} : { undecided: outcome.undecided }),
    checkMs,
    pairMs,
    cpuMs: (used.user + used.system) / 1000,
    firstCheckMs,
    firstPairMs,
    explored: outcome.explored,
    checkerPeakBytes: outcome.peakBytes,
    budgetBytes: outcome.budgetBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeBytes,
  };
}

/** One side-by-side measurement of the fast path, run in a child process of its own. */
export interface FastPathRunConfig {
  readonly scenario: CheckerScenario;
  readonly seed: number;
  /** Checks with the fast path and without it, alternating which goes first. */
  readonly rounds: number;
}

export interface FastPathRunReport {
  readonly operations: number;
  readonly verdictOn: Verdict;
  readonly verdictOff: Verdict;
  /** Per round, `checkOperations` wall time with the fast path (the default). */
  readonly onMs: readonly number[];
  /** Per round, with the full search alone. */
  readonly offMs: readonly number[];
  readonly onCpuMs: readonly number[];
  readonly offCpuMs: readonly number[];
}

/**
 * The default options, and the full search alone: the deprecated
 * configuration cap keeps its old meaning (no fast path), and with no limit
 * it caps nothing.
 */
const FAST_PATH_ON: CheckOptions = {};
const FAST_PATH_OFF: CheckOptions = { maxConfigurations: Number.POSITIVE_INFINITY };

/**
 * Checks one history with and without the fast path, interleaved in one
 * process, so the two see the same machine load and the same JIT state:
 * two warm-up checks of each, then `rounds` of one check each, the order
 * alternating by round.
 */
export function measureFastPath(config: FastPathRunConfig): Promise<FastPathRunReport> {
  const measured = job({ scenario: config.scenario, seed: config.seed, warmups: 0 }, config.seed, 1);
  const operations = measured.histories.reduce((n, h) => n + h.filter((e) => e.type === 'invoke').length, 0);
  const paired = measured.histories.map(operationsFromHistory);
  const timed = (options: CheckOptions): { ms: number; cpuMs: number; verdict: Verdict } => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const outcome = checkAll(measured.model, paired, options);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ms, cpuMs: (used.user + used.system) / 1000, verdict: outcome.verdict };
  };
  for (let i = 0; i < 2; i++) {
    timed(FAST_PATH_ON);
    timed(FAST_PATH_OFF);
  }
  const onMs: number[] = [];
  const offMs: number[] = [];
  const onCpuMs: number[] = [];
  const offCpuMs: number[] = [];
  let verdictOn: Verdict = 'unknown';
  let verdictOff: Verdict = 'unknown';
  for (let round = 0; round < config.rounds; round++) {
    for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
      const run = timed(on ? FAST_PATH_ON : FAST_PATH_OFF);
      (on ? onMs : offMs).push(run.ms);
      (on ? onCpuMs : offCpuMs).push(run.cpuMs);
      if (on) verdictOn = run.verdict;
      else verdictOff = run.verdict;
    }
  }
  return Promise.resolve({ operations, verdictOn, verdictOff, onMs, offMs, onCpuMs, offCpuMs });
}
