import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyKv,
  executePlan,
  generateKvHistory,
  generateRegisterHistory,
  operationsFromHistory,
  type HistoryEvent,
  type KvInput,
  type KvOutput,
  type Operation,
  type PlannedOp,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/history/index.js';
import type { StoreLimits } from '../../src/linearizability/configuration-store.js';
import { fastPathCheck, REGISTER_SEMANTICS, type FastPathOutcome } from '../../src/linearizability/fast-path.js';
import {
  checkOperations,
  kvModel,
  MemoryBudget,
  porcupineKvModel,
  registerModel,
  UNKNOWN_OUTPUT,
  type Model,
} from '../../src/linearizability/index.js';

/**
 * The fast path may only ever prove a partition linearizable, and only with
 * a witness that really is one; everything else goes to the full search.
 * These tests hold it to that: on histories built to trick a greedy order,
 * on random histories with planted faults (against the full search alone,
 * run through a copy of the model, which has no fast path), and by replaying
 * every witness it gives.
 */

const limits = (): StoreLimits => ({ budget: new MemoryBudget(2 ** 30), now: () => 0, deadline: Number.POSITIVE_INFINITY });

function fast<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): FastPathOutcome<I, O> {
  const outcome = fastPathCheck(model, ops, limits());
  if (outcome === undefined) throw new Error('the fast path did not apply');
  return outcome;
}

/** The full search alone: a spread copy of a built-in model carries no fast path. */
function fullSearch<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): Map<string, string> {
  const result = checkOperations({ ...model }, ops, { checkAllPartitions: true });
  return new Map(result.partitions.map((p) => [p.key, p.verdict]));
}

/**
 * Replays a witness: every operation of the partition exactly once, each
 * after every operation that completed before it was invoked, and each
 * accepted by the model in the state the ones before it left.
 */
function isLinearization<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], witness: readonly number[]): boolean {
  const byId = new Map(ops.map((op) => [op.id, op]));
  if (witness.length !== ops.length || new Set(witness).size !== ops.length) return false;
  let state = model.init();
  const done = new Set<number>();
  for (const id of witness) {
    const op = byId.get(id);
    if (op === undefined) return false;
    for (const other of ops) {
      const returned = other.status === 'ok' && other.completeIndex !== undefined && other.completeIndex < op.invokeIndex;
      if (returned && !done.has(other.id)) return false;
    }
    const step = model.step(state, op.input, op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT);
    if (!step.ok) return false;
    state = step.newState;
    done.add(id);
  }
  return true;
}

/** Each proven partition's witness replays, and the full search agrees with every proof. */
function expectSound<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): { proven: number; partitions: number } {
  const outcome = fastPathCheck(model, ops, limits());
  if (outcome === undefined) return { proven: 0, partitions: 0 };
  const full = fullSearch(model, ops);
  let proven = 0;
  for (const p of outcome.partitions) {
    if (p.witness === undefined) continue;
    proven++;
    expect(isLinearization(model, p.operations, p.witness)).toBe(true);
    expect(full.get(p.key)).toBe('linearizable');
  }
  expect(checkOperations(model, ops, { checkAllPartitions: true }).verdict).toBe(
    checkOperations({ ...model }, ops, { checkAllPartitions: true }).verdict,
  );
  return { proven, partitions: outcome.partitions.length };
}

type RegisterEvent = HistoryEvent<RegisterInput, RegisterOutput>;

/** A small history from a script: `+id input` invokes, `-id output` completes (`-id info` for an unknown outcome). */
function registerHistory(script: readonly (readonly [string, number, RegisterInput | RegisterOutput | 'info'])[]): RegisterEvent[] {
  return script.map(([type, id, payload], time): RegisterEvent => {
    if (type === '+') return { type: 'invoke', id, client: id, time, input: payload as RegisterInput };
    if (payload === 'info') return { type: 'info', id, client: id, time };
    return { type: 'ok', id, client: id, time, output: payload as RegisterOutput };
  });
}

describe('the fast path on histories built to trick it', () => {
  it('does not prove a stale read hidden among operations that never overlap', () => {
    const ops = operationsFromHistory(
      registerHistory([
        ['+', 0, { f: 'write', value: 1 }],
        ['-', 0, { f: 'write' }],
        ['+', 1, { f: 'read' }],
        ['-', 1, { f: 'read', value: 1 }],
        ['+', 2, { f: 'write', value: 2 }],
        ['-', 2, { f: 'write' }],
        ['+', 3, { f: 'read' }],
        ['-', 3, { f: 'read', value: 1 }],
        ['+', 4, { f: 'read' }],
        ['-', 4, { f: 'read', value: 2 }],
      ]),
    );
    expect(fast(registerModel, ops).partitions[0]?.witness).toBeUndefined();
    const result = checkOperations(registerModel, ops);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.partitions[0]?.failure?.opId).toBe(3);
  });

  it('finds the other order of two overlapping writes when invoke order fails', () => {
    // write 1 is invoked first and tried first, but the read after both says 2 came first.
    const ops = operationsFromHistory(
      registerHistory([
        ['+', 0, { f: 'write', value: 1 }],
        ['+', 1, { f: 'write', value: 2 }],
        ['-', 0, { f: 'write' }],
        ['-', 1, { f: 'write' }],
        ['+', 2, { f: 'read' }],
        ['-', 2, { f: 'read', value: 1 }],
      ]),
    );
    expect(fast(registerModel, ops).partitions[0]?.witness).toEqual([1, 0, 2]);
    expect(checkOperations(registerModel, ops).verdict).toBe('linearizable');
  });

  it('puts a read that saw the old value before a write invoked earlier', () => {
    const ops = operationsFromHistory(
      registerHistory([
        ['+', 0, { f: 'write', value: 1 }],
        ['-', 0, { f: 'write' }],
        ['+', 1, { f: 'write', value: 2 }],
        ['+', 2, { f: 'read' }],
        ['-', 2, { f: 'read', value: 1 }],
        ['-', 1, { f: 'write' }],
        ['+', 3, { f: 'read' }],
        ['-', 3, { f: 'read', value: 2 }],
      ]),
    );
    expect(fast(registerModel, ops).partitions[0]?.witness).toEqual([0, 2, 1, 3]);
  });

  it('does not prove two overlapping writes read back in both orders', () => {
    const ops = operationsFromHistory(
      registerHistory([
        ['+', 0, { f: 'write', value: 1 }],
        ['+', 1, { f: 'write', value: 2 }],
        ['-', 0, { f: 'write' }],
        ['-', 1, { f: 'write' }],
        ['+', 2, { f: 'read' }],
        ['-', 2, { f: 'read', value: 1 }],
        ['+', 3, { f: 'read' }],
        ['-', 3, { f: 'read', value: 2 }],
      ]),
    );
    expect(fast(registerModel, ops).partitions[0]?.witness).toBeUndefined();
    expect(checkOperations(registerModel, ops).verdict).toBe('not-linearizable');
  });

  it('lets an unknown-outcome write take effect late, and a cas depend on it', () => {
    const ops = operationsFromHistory(
      registerHistory([
        ['+', 0, { f: 'write', value: 1 }],
        ['-', 0, 'info'],
        ['+', 1, { f: 'read' }],
        ['-', 1, { f: 'read', value: null }],
        ['+', 2, { f: 'cas', expected: 1, value: 3 }],
        ['-', 2, { f: 'cas', swapped: true }],
        ['+', 3, { f: 'read' }],
        ['-', 3, { f: 'read', value: 3 }],
      ]),
    );
    expect(fast(registerModel, ops).partitions[0]?.witness).toEqual([1, 0, 2, 3]);
  });

  it('compares values as the model does: 1 is not "1", and NaN is not NaN', () => {
    for (const [written, read] of [
      [1, '1'],
      [Number.NaN, Number.NaN],
    ] as const) {
      const ops = operationsFromHistory(
        registerHistory([
          ['+', 0, { f: 'write', value: written }],
          ['-', 0, { f: 'write' }],
          ['+', 1, { f: 'read' }],
          ['-', 1, { f: 'read', value: read }],
        ]),
      );
      expect(fast(registerModel, ops).partitions[0]?.witness).toBeUndefined();
      expect(checkOperations(registerModel, ops).verdict).toBe('not-linearizable');
    }
  });

  it('reads an absent key as the model says: "" for Porcupine histories, and a delete reports what existed', () => {
    const events = (value: string | null, existed: boolean): HistoryEvent<KvInput, KvOutput>[] => [
      { type: 'invoke', id: 0, client: 0, time: 0, input: { f: 'get', key: 'a' } },
      { type: 'ok', id: 0, client: 0, time: 1, output: { f: 'get', value } },
      { type: 'invoke', id: 1, client: 0, time: 2, input: { f: 'delete', key: 'a' } },
      { type: 'ok', id: 1, client: 0, time: 3, output: { f: 'delete', existed } },
    ];
    expect(fast(porcupineKvModel, operationsFromHistory(events('', false))).partitions[0]?.witness).toEqual([0, 1]);
    expect(fast(kvModel, operationsFromHistory(events('', false))).partitions[0]?.witness).toBeUndefined();
    expect(fast(kvModel, operationsFromHistory(events(null, true))).partitions[0]?.witness).toBeUndefined();
  });

  it('hands a search too long for it to the full search, which decides it', () => {
    // k concurrent writes, then a read of a value none wrote: 2^k orders without the memo cache.
    const k = 14;
    const script: [string, number, RegisterInput | RegisterOutput][] = [];
    for (let i = 0; i < k; i++) script.push(['+', i, { f: 'write', value: i }]);
    for (let i = 0; i < k; i++) script.push(['-', i, { f: 'write' }]);
    script.push(['+', k, { f: 'read' }], ['-', k, { f: 'read', value: -1 }]);
    const ops = operationsFromHistory(registerHistory(script));
    const outcome = fast(registerModel, ops);
    expect(outcome.partitions[0]?.witness).toBeUndefined();
    expect(outcome.partitions[0]?.visited).toBeLessThan(1000);
    expect(checkOperations(registerModel, ops).verdict).toBe('not-linearizable');
  });

  it('is not used for a copied or changed model, or for operations it cannot place', () => {
    const ops = operationsFromHistory(generateRegisterHistory({ seed: 1, ops: 50, clients: 3 }));
    expect(fastPathCheck({ ...registerModel }, ops, limits())).toBeUndefined();
    // The marker alone is not enough: the step must still be the one it describes.
    const changed: typeof registerModel = { ...registerModel, step: (state) => ({ ok: true, newState: state }) };
    Object.defineProperty(changed, REGISTER_SEMANTICS, { value: (registerModel as { [REGISTER_SEMANTICS]?: unknown })[REGISTER_SEMANTICS] });
    expect(fastPathCheck(changed, ops, limits())).toBeUndefined();
    const marked: typeof registerModel = { ...registerModel };
    Object.defineProperty(marked, REGISTER_SEMANTICS, { value: (registerModel as { [REGISTER_SEMANTICS]?: unknown })[REGISTER_SEMANTICS] });
    expect(fastPathCheck(marked, ops, limits())).toBeDefined();
    const fractional = ops.map((op) => ({ ...op, invokeIndex: op.invokeIndex + 0.5 }));
    expect(fastPathCheck(registerModel, fractional, limits())).toBeUndefined();
    expect(fastPathCheck(registerModel, [...ops].reverse(), limits())).toBeUndefined();
    const appends = operationsFromHistory(generateKvHistory({ seed: 1, ops: 20, clients: 2, keys: 2 })).map((op) =>
      op.input.f === 'put' ? { ...op, input: { ...op.input, f: 'append' as const }, output: { f: 'append' as const } } : op,
    );
    expect(fastPathCheck(kvModel, appends, limits())).toBeUndefined();
    expect(fastPathCheck(registerModel, ops, { ...limits(), budget: new MemoryBudget(100) })).toBeUndefined();
  });
});

const keyArb = fc.constantFrom('a', 'b', 'c');
const valueArb = fc.constantFrom('1', '2', '3');
const kvInputArb: fc.Arbitrary<KvInput> = fc.oneof(
  fc.record({ f: fc.constant('get' as const), key: keyArb }),
  fc.record({ f: fc.constant('get' as const), key: keyArb }),
  fc.record({ f: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ f: fc.constant('delete' as const), key: keyArb }),
  fc.record({ f: fc.constant('cas' as const), key: keyArb, expected: fc.option(valueArb, { nil: null }), value: valueArb }),
);
const planArb: fc.Arbitrary<PlannedOp<KvInput>[]> = fc.array(
  fc.record({
    client: fc.nat(4),
    input: kvInputArb,
    gap: fc.integer({ min: 0, max: 10 }),
    duration: fc.integer({ min: 1, max: 30 }),
    at: fc.double({ min: 0, max: 0.999, noNaN: true }),
    outcome: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'info', 'fail', 'open'),
    infoApplies: fc.boolean(),
  }),
  { maxLength: 30 },
);

/** Changes the outcome a completion reports, as a faulty store might. */
function tamper(events: HistoryEvent<KvInput, KvOutput>[], pick: number, value: string | null): HistoryEvent<KvInput, KvOutput>[] {
  const oks = events.flatMap((e, i) => (e.type === 'ok' ? [i] : []));
  if (oks.length === 0) return events;
  const index = oks[pick % oks.length] as number;
  return events.map((e, i) => {
    if (i !== index || e.type !== 'ok') return e;
    switch (e.output.f) {
      case 'get':
        return { ...e, output: { f: 'get', value } };
      case 'cas':
        return { ...e, output: { f: 'cas', swapped: !e.output.swapped } };
      case 'delete':
        return { ...e, output: { f: 'delete', existed: value === null } };
      default:
        return e;
    }
  });
}

describe('the fast path against the full search', () => {
  it('proves only partitions the full search finds linearizable, each with a witness that replays', () => {
    let proven = 0;
    let partitions = 0;
    fc.assert(
      fc.property(planArb, fc.nat(), fc.option(valueArb, { nil: null }), fc.boolean(), (plan, pick, value, faulty) => {
        const store = new Map<string, string>();
        const events = executePlan(plan, (input) => applyKv(store, input));
        const ops = operationsFromHistory(faulty ? tamper(events, pick, value) : events);
        for (const model of [kvModel, porcupineKvModel]) {
          const counts = expectSound(model, ops);
          proven += counts.proven;
          partitions += counts.partitions;
        }
      }),
      { numRuns: 400 },
    );
    // It must also be useful: most partitions of these small histories are proven.
    expect(proven).toBeGreaterThan(partitions / 2);
  });

  it('agrees on generated KV and register histories, with and without a planted stale read', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const kv = operationsFromHistory(generateKvHistory({ seed, ops: 1_000, clients: 20, keys: 10, infoRate: 0.05 }));
      expect(expectSound(kvModel, kv).proven).toBeGreaterThan(0);
      const register = operationsFromHistory(generateRegisterHistory({ seed, ops: 1_000, clients: 4 }));
      expect(expectSound(registerModel, register).proven).toBe(1);
      const stale = operationsFromHistory(generateRegisterHistory({ seed, ops: 1_000, clients: 4, staleReadAt: 0.5 }));
      expect(expectSound(registerModel, stale).proven).toBe(0);
    }
  });
});
