import { SeededRandom } from '@synod/core';
import type { KvInput, KvOutput } from './kv-ops.js';
import type { RegisterInput, RegisterOutput, RegisterValue } from './register-ops.js';
import type { HistoryEvent } from './types.js';

/**
 * Generated client histories, for tests and benchmarks of the
 * linearizability checker. Histories from {@link executePlan} come from a real
 * sequential object, so they are linearizable by construction; the others
 * are built to be hard or to fail in a known place.
 *
 * @packageDocumentation
 */

/** One planned operation of one client, for {@link executePlan}. */
export interface PlannedOp<I> {
  readonly client: number;
  readonly input: I;
  /** Idle time before the invoke. */
  readonly gap: number;
  /** Time from invoke to completion, > 0. */
  readonly duration: number;
  /** Where in (invoke, completion) it takes effect, in [0, 1). */
  readonly at: number;
  /**
   * `ok`: applied and reported. `info`: applied (if `infoApplies`) but the
   * client never learned the result. `fail`: never applied. `open`: like
   * `info`, with no completion recorded at all.
   */
  readonly outcome: 'ok' | 'info' | 'fail' | 'open';
  /** For `info`/`open`: whether it actually took effect. */
  readonly infoApplies?: boolean;
}

/**
 * Runs `plan` against a sequential object: each client does its operations
 * one after another (a client whose operation ended `info`/`open` keeps going,
 * as a retrying client would), and each operation takes effect at one instant
 * between its invoke and its completion. Returns the history in real-time
 * order, which is linearizable by construction.
 *
 * @param apply - the sequential object: applies an input and returns the output.
 *
 * @example
 * ```ts
 * const store = new Map<string, string>();
 * const history = executePlan(plan, (input) => applyKv(store, input));
 * ```
 */
export function executePlan<I, O>(plan: readonly PlannedOp<I>[], apply: (input: I) => O): HistoryEvent<I, O>[] {
  interface Timed {
    readonly time: number;
    /** 0 invoke, 1 effect, 2 completion: at equal times, in this order. */
    readonly phase: number;
    readonly id: number;
  }
  const timeline: Timed[] = [];
  const clientTime = new Map<number, number>();
  plan.forEach((op, id) => {
    const start = (clientTime.get(op.client) ?? 0) + op.gap;
    const end = start + op.duration;
    clientTime.set(op.client, end);
    timeline.push({ time: start, phase: 0, id }, { time: start + op.at * op.duration, phase: 1, id }, { time: end, phase: 2, id });
  });
  timeline.sort((a, b) => a.time - b.time || a.phase - b.phase || a.id - b.id);

  const outputs = new Map<number, O>();
  const events: HistoryEvent<I, O>[] = [];
  for (const t of timeline) {
    const op = plan[t.id] as PlannedOp<I>;
    if (t.phase === 0) {
      events.push({ type: 'invoke', id: t.id, client: op.client, time: t.time, input: op.input });
    } else if (t.phase === 1) {
      const applies = op.outcome === 'ok' || ((op.outcome === 'info' || op.outcome === 'open') && op.infoApplies === true);
      if (applies) outputs.set(t.id, apply(op.input));
    } else if (op.outcome === 'ok') {
      events.push({ type: 'ok', id: t.id, client: op.client, time: t.time, output: outputs.get(t.id) as O });
    } else if (op.outcome === 'info' || op.outcome === 'fail') {
      events.push({ type: op.outcome, id: t.id, client: op.client, time: t.time });
    }
  }
  return events;
}

/**
 * Applies a KV operation to a map, as a linearizable store would: the
 * sequential object behind {@link generateKvHistory}.
 */
export function applyKv(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key) ?? null;
  switch (input.f) {
    case 'get':
      return { f: 'get', value: current };
    case 'put':
      store.set(input.key, input.value);
      return { f: 'put' };
    case 'append':
      store.set(input.key, (current ?? '') + input.value);
      return { f: 'append' };
    case 'delete':
      store.delete(input.key);
      return { f: 'delete', existed: current !== null };
    case 'cas':
      if (current !== input.expected) return { f: 'cas', swapped: false };
      store.set(input.key, input.value);
      return { f: 'cas', swapped: true };
  }
}

/** Options for {@link kvPlan} and {@link generateKvHistory}. */
export interface KvHistoryOptions {
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  readonly keys: number;
  /** Share of operations whose outcome is unknown (`info`). @default 0 */
  readonly infoRate?: number;
}

/**
 * A random concurrent KV workload: 45 % gets, 30 % puts, 10 % deletes, 15 %
 * compare-and-swaps over `keys` keys, each client idle 0–5 time units
 * between operations that last 1–21 units.
 */
export function kvPlan(options: KvHistoryOptions): PlannedOp<KvInput>[] {
  const random = new SeededRandom(options.seed);
  const pick = (n: number): number => random.int(n);
  const plan: PlannedOp<KvInput>[] = [];
  for (let i = 0; i < options.ops; i++) {
    const key = `k${pick(options.keys)}`;
    const value = `v${i}`;
    const roll = random.next();
    const input: KvInput =
      roll < 0.45
        ? { f: 'get', key }
        : roll < 0.75
          ? { f: 'put', key, value }
          : roll < 0.85
            ? { f: 'delete', key }
            : { f: 'cas', key, expected: random.next() < 0.3 ? null : `v${Math.max(0, i - 1 - pick(20))}`, value };
    const infoRoll = random.next();
    plan.push({
      client: pick(options.clients),
      input,
      gap: random.next() * 5,
      duration: 1 + random.next() * 20,
      at: random.next(),
      outcome: infoRoll < (options.infoRate ?? 0) ? 'info' : 'ok',
      infoApplies: random.next() < 0.5,
    });
  }
  return plan;
}

/**
 * A linearizable KV history from a seeded random workload ({@link kvPlan}).
 *
 * @example
 * ```ts
 * const history = generateKvHistory({ seed: 1, ops: 10_000, clients: 50, keys: 100 });
 * checkLinearizability(kvModel, history).verdict; // 'linearizable'
 * ```
 */
export function generateKvHistory(options: KvHistoryOptions): HistoryEvent<KvInput, KvOutput>[] {
  const store = new Map<string, string>();
  return executePlan(kvPlan(options), (input) => applyKv(store, input));
}

/** Options for {@link generateRegisterHistory}. */
export interface RegisterHistoryOptions {
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  /**
   * Mean idle time of a client between operations, in units of the longest
   * operation. A few clients with long gaps give little overlap.
   * @default 2
   */
  readonly gap?: number;
  /**
   * Make the first read at or after this fraction of the history return a
   * value that was overwritten before the read began (a stale read), which
   * makes the history not linearizable at that point.
   */
  readonly staleReadAt?: number;
}

/**
 * A cas-register history (Jepsen's shape: read, write of a fresh value, cas
 * from the current or a recent value) from a seeded random workload on a
 * real register; linearizable unless `staleReadAt` plants a stale read.
 *
 * @example
 * ```ts
 * const history = generateRegisterHistory({ seed: 1, ops: 10_000, clients: 4, gap: 4 });
 * checkLinearizability(registerModel, history).verdict; // 'linearizable'
 * ```
 */
export function generateRegisterHistory(options: RegisterHistoryOptions): HistoryEvent<RegisterInput, RegisterOutput>[] {
  const random = new SeededRandom(options.seed);
  const gap = options.gap ?? 2;
  const plan: PlannedOp<RegisterInput>[] = [];
  for (let i = 0; i < options.ops; i++) {
    const roll = random.next();
    const input: RegisterInput =
      roll < 0.5 ? { f: 'read' } : roll < 0.85 ? { f: 'write', value: i } : { f: 'cas', expected: Math.max(0, i - 1 - random.int(4)), value: i };
    plan.push({
      client: random.int(options.clients),
      input,
      gap: random.next() * 2 * gap,
      duration: 0.1 + random.next() * 0.9,
      at: random.next(),
      outcome: 'ok',
    });
  }
  let register: RegisterValue = null;
  const events = executePlan(plan, (input): RegisterOutput => {
    switch (input.f) {
      case 'read':
        return { f: 'read', value: register };
      case 'write':
        register = input.value;
        return { f: 'write' };
      case 'cas': {
        const swapped = register === input.expected;
        if (swapped) register = input.value;
        return { f: 'cas', swapped };
      }
    }
  });
  return options.staleReadAt === undefined ? events : withStaleRead(events, options.staleReadAt);
}

/**
 * Rewrites the first read completing at or after `fraction` of the history
 * to return the value of the first acknowledged write, once a write invoked
 * after that one was acknowledged has overwritten it before the read began.
 */
function withStaleRead(
  events: HistoryEvent<RegisterInput, RegisterOutput>[],
  fraction: number,
): HistoryEvent<RegisterInput, RegisterOutput>[] {
  const inputs = new Map<number, RegisterInput>();
  const invokedAt = new Map<number, number>();
  let first: { readonly value: RegisterValue; readonly at: number } | undefined;
  /** Where a write invoked after `first` completed was acknowledged. */
  let overwrittenAt = Number.POSITIVE_INFINITY;
  const from = Math.floor(events.length * fraction);
  let planted = false;
  return events.map((event, index) => {
    if (event.type === 'invoke') {
      inputs.set(event.id, event.input);
      invokedAt.set(event.id, index);
      return event;
    }
    const input = inputs.get(event.id);
    if (event.type !== 'ok' || input === undefined) return event;
    if (input.f === 'write') {
      if (first === undefined) first = { value: input.value, at: index };
      else if (overwrittenAt === Number.POSITIVE_INFINITY && (invokedAt.get(event.id) ?? -1) > first.at) overwrittenAt = index;
    }
    if (planted || index < from || input.f !== 'read' || first === undefined) return event;
    if (overwrittenAt >= (invokedAt.get(event.id) ?? -1)) return event;
    planted = true;
    return { ...event, output: { f: 'read', value: first.value } };
  });
}

/**
 * `k` writes of distinct values, all concurrent, then (after all of them
 * completed) a read of the initial value, which is stale. Not linearizable,
 * and proving it explores every subset of the writes with every last value:
 * k·2^(k-1) configurations.
 */
export function overlappingWritesThenStaleRead(k: number): HistoryEvent<RegisterInput, RegisterOutput>[] {
  const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [];
  let t = 0;
  for (let i = 0; i < k; i++) events.push({ type: 'invoke', id: i, client: i, time: t++, input: { f: 'write', value: i + 1 } });
  for (let i = 0; i < k; i++) events.push({ type: 'ok', id: i, client: i, time: t++, output: { f: 'write' } });
  events.push({ type: 'invoke', id: k, client: k, time: t++, input: { f: 'read' } });
  events.push({ type: 'ok', id: k, client: k, time: t++, output: { f: 'read', value: null } });
  return events;
}

/**
 * A write of 1, then `k` concurrent reads that all return 1, then a read of a
 * value never written. Not linearizable; the reads leave the state alone, so
 * proving it explores every subset of them: 2^k configurations.
 */
export function overlappingReadsOfOneValue(k: number): HistoryEvent<RegisterInput, RegisterOutput>[] {
  const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [];
  let t = 0;
  events.push({ type: 'invoke', id: 0, client: 0, time: t++, input: { f: 'write', value: 1 } });
  events.push({ type: 'ok', id: 0, client: 0, time: t++, output: { f: 'write' } });
  for (let i = 1; i <= k; i++) events.push({ type: 'invoke', id: i, client: i, time: t++, input: { f: 'read' } });
  for (let i = 1; i <= k; i++) events.push({ type: 'ok', id: i, client: i, time: t++, output: { f: 'read', value: 1 } });
  events.push({ type: 'invoke', id: k + 1, client: 0, time: t++, input: { f: 'read' } });
  events.push({ type: 'ok', id: k + 1, client: 0, time: t++, output: { f: 'read', value: 2 } });
  return events;
}
