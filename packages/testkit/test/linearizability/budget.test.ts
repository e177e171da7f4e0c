import { describe, expect, it } from 'vitest';
import type { HistoryEvent, KvInput, KvOutput, RegisterInput, RegisterOutput } from '../../src/history/index.js';
import { checkLinearizability, kvModel, registerModel } from '../../src/linearizability/index.js';

/**
 * `n` writes of distinct values, all concurrent, then a read of a value none
 * of them wrote. Proving it non-linearizable means trying every subset of
 * writes with every last value: about n * 2^n configurations.
 */
function pathological(n: number): HistoryEvent<RegisterInput, RegisterOutput>[] {
  const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) events.push({ type: 'invoke', id: i, client: i, time: t++, input: { f: 'write', value: i } });
  events.push({ type: 'invoke', id: n, client: n, time: t++, input: { f: 'read' } });
  for (let i = 0; i < n; i++) events.push({ type: 'ok', id: i, client: i, time: t++, output: { f: 'write' } });
  events.push({ type: 'ok', id: n, client: n, time: t++, output: { f: 'read', value: -1 } });
  return events;
}

describe('time and memory budgets', () => {
  it('returns unknown when a tiny time budget runs out', () => {
    const result = checkLinearizability(registerModel, pathological(30), { timeoutMs: 20 });
    expect(result.verdict).toBe('unknown');
    expect(result.partitions[0]?.undecided).toBe('timeout');
    expect(result.elapsedMs).toBeLessThan(2000);
  });

  it('reads the injected clock for the deadline', () => {
    let calls = 0;
    // Each reading advances fake time by 1 ms; a 5 ms budget ends after a few readings.
    const result = checkLinearizability(registerModel, pathological(30), { timeoutMs: 5, now: () => calls++ });
    expect(result.verdict).toBe('unknown');
    expect(calls).toBeLessThan(50);
  });

  it('returns unknown when the memory budget runs out, and holds no more than the budget', () => {
    const budget = 2 ** 20;
    const result = checkLinearizability(registerModel, pathological(30), { maxMemoryBytes: budget });
    expect(result.verdict).toBe('unknown');
    expect(result.partitions[0]?.undecided).toBe('memory-budget');
    expect(result.memory).toEqual({ budgetBytes: budget, peakBytes: expect.any(Number) });
    expect(result.memory.peakBytes).toBeLessThanOrEqual(budget);
    expect(result.memory.peakBytes).toBeGreaterThan(budget / 2);
  });

  it('still honours the deprecated configuration cap', () => {
    const result = checkLinearizability(registerModel, pathological(30), { maxConfigurations: 10_000 });
    expect(result.verdict).toBe('unknown');
    expect(result.partitions[0]?.undecided).toBe('too-many-configurations');
  });

  it('decides the same pathological shape when it is small enough', () => {
    const result = checkLinearizability(registerModel, pathological(10));
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions[0]?.failure?.opId).toBe(10);
  });

  it('stops other partitions once one fails, unless asked to check them all', () => {
    const read = (id: number, key: string, value: string | null): HistoryEvent<KvInput, KvOutput>[] => [
      { type: 'invoke', id, client: 0, time: 2 * id, input: { f: 'get', key } },
      { type: 'ok', id, client: 0, time: 2 * id + 1, output: { f: 'get', value } },
    ];
    const history = [...read(0, 'bad', 'x'), ...read(1, 'good', null), ...read(2, 'also-bad', 'y')];
    const quick = checkLinearizability(kvModel, history);
    expect(quick.verdict).toBe('not-linearizable');
    // `good` was proven linearizable by the fast path before any search ran;
    // the full search stopped at the first failure, so `also-bad` stays undecided.
    expect(quick.partitions.map((p) => [p.key, p.verdict, p.undecided])).toEqual([
      ['bad', 'not-linearizable', undefined],
      ['good', 'linearizable', undefined],
      ['also-bad', 'unknown', 'stopped-after-failure'],
    ]);
    const all = checkLinearizability(kvModel, history, { checkAllPartitions: true });
    expect(all.partitions.map((p) => p.verdict)).toEqual(['not-linearizable', 'linearizable', 'not-linearizable']);
  });
});
