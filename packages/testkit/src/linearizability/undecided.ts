import type { CheckResult, PartitionResult, UndecidedReason } from './checker.js';
import { formatBytes } from './memory-budget.js';

function plural(count: number, word: string): string {
  return `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
}

function operationCount(partitions: readonly PartitionResult<unknown, unknown>[]): number {
  return partitions.reduce((n, p) => n + p.operations.length, 0);
}

/**
 * Says why a check ended `unknown` and how far it got, in one line: which
 * limit stopped it (the time limit, the memory budget, the configuration
 * cap) and on how many partitions, how many partitions and operations were
 * decided, how many configurations were explored, the peak memory and the
 * time taken. Undefined when the verdict is not `unknown`.
 *
 * @example
 * ```ts
 * const result = checkLinearizability(kvModel, history, { timeoutMs: 60_000 });
 * console.log(describeUndecided(result) ?? result.verdict);
 * // unknown: stopped by the memory budget (2.0 GiB) on 1 of 100 partitions; 99 partitions decided (9,901 of 10,000 operations); ...
 * ```
 */
export function describeUndecided(result: CheckResult<unknown, unknown>): string | undefined {
  if (result.verdict !== 'unknown') return undefined;
  const total = result.partitions.length;
  const stoppedBy = (reason: UndecidedReason): number => result.partitions.filter((p) => p.undecided === reason).length;
  const on = (count: number): string => (total === 1 ? '' : ` on ${count.toLocaleString('en-US')} of ${plural(total, 'partition')}`);
  const limits: string[] = [];
  const byMemory = stoppedBy('memory-budget');
  if (byMemory > 0) limits.push(`the memory budget (${formatBytes(result.memory.budgetBytes)})${on(byMemory)}`);
  const byTime = stoppedBy('timeout');
  if (byTime > 0) {
    const limit = result.timeoutMs === undefined ? '' : ` (${(result.timeoutMs / 1000).toLocaleString('en-US')} s)`;
    limits.push(`the time limit${limit}${on(byTime)}`);
  }
  const byCap = stoppedBy('too-many-configurations');
  if (byCap > 0) limits.push(`the configuration cap${on(byCap)}`);

  const decided = result.partitions.filter((p) => p.verdict !== 'unknown');
  const undecided = result.partitions.filter((p) => p.verdict === 'unknown');
  const progress =
    total === 1
      ? `longest linearizable prefix ${(undecided[0]?.longestPrefix.length ?? 0).toLocaleString('en-US')} of ${plural(operationCount(result.partitions), 'operation')}`
      : `${decided.length.toLocaleString('en-US')} of ${plural(total, 'partition')} decided (${operationCount(decided).toLocaleString('en-US')} of ${plural(operationCount(result.partitions), 'operation')})`;
  const explored = result.partitions.reduce((n, p) => n + p.explored, 0);
  return (
    `unknown: stopped by ${limits.length > 0 ? limits.join(' and ') : 'a limit'}; ${progress}; ` +
    `${plural(explored, 'configuration')} explored, peak memory ${formatBytes(result.memory.peakBytes)}, ${(result.elapsedMs / 1000).toFixed(1)} s`
  );
}
