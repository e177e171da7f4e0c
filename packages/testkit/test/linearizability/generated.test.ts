import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyKv, executePlan, generateKvHistory, type HistoryEvent, type KvInput, type KvOutput, type PlannedOp } from '../../src/history/index.js';
import { checkLinearizability, kvModel } from '../../src/linearizability/index.js';

/** Runs a plan against a fresh linearizable store. */
function runPlan(plan: readonly PlannedOp<KvInput>[]): HistoryEvent<KvInput, KvOutput>[] {
  const store = new Map<string, string>();
  return executePlan(plan, (input) => applyKv(store, input));
}

const keyArb = fc.constantFrom('a', 'b', 'c');
const valueArb = fc.constantFrom('1', '2', '3', '4');
const inputArb: fc.Arbitrary<KvInput> = fc.oneof(
  fc.record({ f: fc.constant('get' as const), key: keyArb }),
  fc.record({ f: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ f: fc.constant('delete' as const), key: keyArb }),
  fc.record({ f: fc.constant('append' as const), key: keyArb, value: valueArb }),
  fc.record({ f: fc.constant('cas' as const), key: keyArb, expected: fc.option(valueArb, { nil: null }), value: valueArb }),
);
const planArb: fc.Arbitrary<PlannedOp<KvInput>[]> = fc.array(
  fc.record({
    client: fc.nat(5),
    input: inputArb,
    gap: fc.integer({ min: 0, max: 10 }),
    duration: fc.integer({ min: 1, max: 30 }),
    at: fc.double({ min: 0, max: 0.999, noNaN: true }),
    outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'info', 'fail', 'open'),
    infoApplies: fc.boolean(),
  }),
  { maxLength: 40 },
);

describe('histories produced by a real sequential store', () => {
  it('are always linearizable, whatever the concurrency, info, open and fail ops', () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const result = checkLinearizability(kvModel, runPlan(plan));
        expect(result.verdict).toBe('linearizable');
        // A linearizable partition comes with a complete witness.
        for (const p of result.partitions) expect(p.longestPrefix).toHaveLength(p.operations.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stop being linearizable when a read is made to return a value nobody wrote', () => {
    fc.assert(
      fc.property(planArb, fc.nat(), (plan, pick) => {
        const events = runPlan(plan);
        const reads = events.flatMap((e, i) => (e.type === 'ok' && e.output.f === 'get' ? [i] : []));
        fc.pre(reads.length > 0);
        const index = reads[pick % reads.length] as number;
        const tampered: HistoryEvent<KvInput, KvOutput>[] = events.map((e, i) =>
          i === index && e.type === 'ok' ? { ...e, output: { f: 'get', value: 'never-written' } } : e,
        );
        expect(checkLinearizability(kvModel, tampered).verdict).toBe('not-linearizable');
      }),
      { numRuns: 200 },
    );
  });

  it('checks 10,000 operations from 50 clients over 100 keys in a few seconds', () => {
    const events = generateKvHistory({ seed: 7, ops: 10_000, clients: 50, keys: 100, infoRate: 0.02 });
    const result = checkLinearizability(kvModel, events);
    console.info(
      `10k-op history (50 clients, 100 keys, 2% info): ${result.verdict} in ${result.elapsedMs.toFixed(0)} ms, ` +
        `${result.partitions.reduce((n, p) => n + p.explored, 0)} configurations`,
    );
    expect(result.verdict).toBe('linearizable');
    expect(result.partitions).toHaveLength(100);
    expect(result.elapsedMs).toBeLessThan(20_000);
  });

  it('checks 10,000 operations from 50 clients crowded onto 10 keys', () => {
    const events = generateKvHistory({ seed: 11, ops: 10_000, clients: 50, keys: 10, infoRate: 0.01 });
    const result = checkLinearizability(kvModel, events, { timeoutMs: 60_000 });
    console.info(
      `10k-op history (50 clients, 10 keys, 1% info): ${result.verdict} in ${result.elapsedMs.toFixed(0)} ms, ` +
        `${result.partitions.reduce((n, p) => n + p.explored, 0)} configurations`,
    );
    expect(result.verdict).toBe('linearizable');
  });
});
