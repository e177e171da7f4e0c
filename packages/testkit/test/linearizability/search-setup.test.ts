import { describe, expect, it } from 'vitest';
import { generateKvHistory, generateRegisterHistory, operationsFromHistory, type Operation } from '../../src/history/index.js';
import { Bitset, checkOperations, kvModel, registerModel, type CheckResult, type Model } from '../../src/linearizability/index.js';

/**
 * The full search's setup has a fast path (return times packed into numbers
 * and sorted without a comparator, partitions already in invoke order,
 * arrays cut from one shared buffer) and general ones; every path must give
 * the same search: the same verdict, the same configurations, the same
 * witness. The models are copied with a spread, which drops the built-in
 * models' own fast path (see fast-path.test.ts), so the full search runs on
 * every partition; the checker as users call it must still agree on the verdict.
 */

function summary<I, O>(result: CheckResult<I, O>): unknown {
  return {
    verdict: result.verdict,
    // Partitions come in the order their keys first appear; compare them by key.
    partitions: [...result.partitions].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((p) => ({
      key: p.key,
      verdict: p.verdict,
      explored: p.explored,
      longestPrefix: p.longestPrefix,
      failure: p.failure,
    })),
  };
}

/** The same operations with history positions that are not integers (so not packable). */
const fractional = <I, O>(ops: readonly Operation<I, O>[]): Operation<I, O>[] =>
  ops.map((op) => ({
    ...op,
    invokeIndex: op.invokeIndex + 0.5,
    ...(op.completeIndex === undefined ? {} : { completeIndex: op.completeIndex + 0.5 }),
  }));

/** The same operations in reverse order (the partitions must be re-sorted by invoke). */
const reversed = <I, O>(ops: readonly Operation<I, O>[]): Operation<I, O>[] => [...ops].reverse();

function sameSearchOnEveryPath<S, I, O>(builtIn: Model<S, I, O>, ops: readonly Operation<I, O>[]): CheckResult<I, O> {
  const model: Model<S, I, O> = { ...builtIn };
  const expected = checkOperations(model, ops, { checkAllPartitions: true });
  expect(summary(checkOperations(model, fractional(ops), { checkAllPartitions: true }))).toEqual(summary(expected));
  expect(summary(checkOperations(model, reversed(ops), { checkAllPartitions: true }))).toEqual(summary(expected));
  for (const variant of [ops, fractional(ops), reversed(ops)]) {
    expect(checkOperations(builtIn, variant, { checkAllPartitions: true }).verdict).toBe(expected.verdict);
  }
  return expected;
}

describe('the search setup', () => {
  it('a KV history with unknown outcomes over many keys: the same search on every path', () => {
    const ops = operationsFromHistory(generateKvHistory({ seed: 7, ops: 2_000, clients: 20, keys: 30, infoRate: 0.05 }));
    expect(sameSearchOnEveryPath(kvModel, ops).verdict).toBe('linearizable');
  });

  it('a register history with a stale read: the same counterexample on every path', () => {
    const ops = operationsFromHistory(generateRegisterHistory({ seed: 3, ops: 2_000, clients: 4, staleReadAt: 0.5 }));
    const result = sameSearchOnEveryPath(registerModel, ops);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions[0]?.failure).toBeDefined();
  });

  it('a bitset refuses storage of the wrong size instead of overrunning it', () => {
    expect(() => new Bitset(100, new Uint32Array(3))).toThrow(RangeError);
    const set = new Bitset(100, new Uint32Array(Bitset.wordsFor(100)));
    set.set(99);
    expect(set.has(99)).toBe(true);
  });
});
